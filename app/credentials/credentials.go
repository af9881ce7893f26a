// Package credentials is the wasm's one bridge to navigator.credentials:
// WebAuthn options go in as the JSON the server sent and the browser's
// response comes back as JSON for the server, so nothing here understands
// WebAuthn beyond moving bytes between JSON and ArrayBuffers.
package credentials

import (
	"context"
	"errors"
)

// Errors a ceremony can end with that the UI explains to the person.
var (
	// ErrCancelled: the person dismissed the prompt, it timed out, or no
	// authenticator offered a matching credential (browsers don't say which).
	ErrCancelled = errors.New("the passkey prompt was cancelled or timed out")
	// ErrUnsupported: this browser has no WebAuthn.
	ErrUnsupported = errors.New("this browser does not support passkeys")
	// ErrExcluded: the authenticator already holds a passkey for this account.
	ErrExcluded = errors.New("this device already has a passkey for this account")
	// ErrSecurity: the page's origin does not fit the relying party.
	ErrSecurity = errors.New("the browser refused the request for this site")
)

// Browser is the bridge as a value, for code that takes its passkey prompt
// as an interface (app/flow, whose tests use a fake).
type Browser struct{}

// Supported reports whether this browser has WebAuthn.
func (*Browser) Supported() bool { return Supported() }

// ConditionalMediationAvailable reports whether passkeys can be offered
// in a field (autofill).
func (*Browser) ConditionalMediationAvailable(ctx context.Context) bool {
	return ConditionalMediationAvailable(ctx)
}

// Create runs the prompt that makes a passkey.
func (*Browser) Create(ctx context.Context, options []byte) ([]byte, error) {
	return Create(ctx, options)
}

// Get runs the prompt that uses a passkey.
func (*Browser) Get(ctx context.Context, options []byte, conditional bool) ([]byte, error) {
	return Get(ctx, options, conditional)
}
