package flow

import (
	"errors"
	"slices"

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
	if p, ok := errors.AsType[*Problem](err); ok {
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

// signinProblem words what ends an application's sign-in on Latchkey's
// pages: an unknown id is one that expired (or was used), and the only
// way on is to start again from the application.
func signinProblem(err error) error {
	if client.Code(err) == shared.CodeNotFound {
		return &Problem{Msg: "This sign-in has expired. Go back to the application and start again.", Err: err}
	}
	return err
}

// ScopeLines says what an application receives with scopes, one line per
// scope in the order of shared.Scopes; openid, which only says who the
// person is, has no line, and neither has a scope Latchkey does not grant.
// The consent page and /account use the same words.
func ScopeLines(scopes []string) []string {
	var lines []string
	for _, s := range shared.Scopes {
		line := ""
		switch s {
		case shared.ScopeProfile:
			line = "Your username and display name"
		case shared.ScopeEmail:
			line = "Your email address"
		case shared.ScopeOfflineAccess:
			line = "Stay signed in: access while you are away"
		}
		if line != "" && slices.Contains(scopes, s) {
			lines = append(lines, line)
		}
	}
	return lines
}
