package flow

import (
	"errors"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/shared"
)

// Problem is an error whose text is already the sentence to show, for
// the cases where a flow knows better than the generic message what went
// wrong.
type Problem struct {
	Msg string
	Err error
}

func (p *Problem) Error() string { return p.Msg }
func (p *Problem) Unwrap() error { return p.Err }

// Message turns any error into a sentence for a person.
func Message(err error) string {
	var p *Problem
	if errors.As(err, &p) {
		return p.Msg
	}
	if e, ok := apiError(err); ok {
		return e.Message
	}
	switch {
	case errors.Is(err, client.ErrNetwork):
		return "Latchkey could not be reached. Check your connection and try again."
	case errors.Is(err, credentials.ErrCancelled):
		return "The passkey prompt was cancelled or timed out. You can try again."
	case errors.Is(err, credentials.ErrUnsupported):
		return "This browser does not support passkeys. Try an up-to-date browser, or log in with an email link."
	case errors.Is(err, credentials.ErrExcluded):
		return "This device already has a passkey for this account."
	case errors.Is(err, credentials.ErrSecurity):
		return "The browser refused to use a passkey on this address."
	}
	return "Something went wrong. Please try again."
}

// loginProblem words what ends a login on the login page, where an email
// link is the way out.
func loginProblem(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, credentials.ErrCancelled):
		return &Problem{Msg: "The passkey prompt was cancelled or no passkey was chosen. You can try again, or use an email login link.", Err: err}
	case client.Code(err) == shared.CodeCredentialRejected:
		return &Problem{Msg: "That passkey could not be verified. Please try again.", Err: err}
	}
	return err
}

func apiError(err error) (*shared.APIError, bool) {
	if err == nil {
		return nil, false
	}
	return client.APIError(err)
}
