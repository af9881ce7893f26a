package ui

import (
	"errors"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/credentials"
)

// messageOf turns any error into a sentence for a person.
func messageOf(err error) string {
	if e, ok := client.APIError(err); ok {
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
