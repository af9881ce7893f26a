//go:build !(js && wasm)

package credentials

import "context"

// Outside a browser (server-side prerendering, tests) there is no
// authenticator; every ceremony reports ErrUnsupported.

// Supported reports false outside the browser.
func Supported() bool { return false }

// ConditionalMediationAvailable reports false outside the browser.
func ConditionalMediationAvailable(context.Context) bool { return false }

// Create fails outside the browser.
func Create(context.Context, []byte) ([]byte, error) { return nil, ErrUnsupported }

// Get fails outside the browser.
func Get(context.Context, []byte, bool) ([]byte, error) { return nil, ErrUnsupported }
