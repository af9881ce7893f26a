package auth

import (
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/shared"
)

// Error is a failure the client may see: a stable code from package shared
// and a message safe to show a person. Anything else that reaches the edge is
// internal: logged in full, shown as a plain sentence.
type Error struct {
	Code    string
	Message string
	// Field names the request field at fault, if any.
	Field string
	// Err is developer detail (a library error, say); logged, never returned.
	Err error
	// Status is the HTTP status where the code's usual one (the edge's
	// table) does not fit: a rejected passkey is a bad request at sign-up
	// but a failed authentication (401) at login. Zero means the table's.
	Status int
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, or
// shared.CodeInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return shared.CodeInternal
}

// ErrNotFound is what stores return for a missing record. Callers translate
// it into a code that fits what was looked for.
var ErrNotFound = errors.New("not found")

// ErrFull is what a store with a hard cap returns when it holds as much as
// it may; the domain answers busy (503) rather than growing without bound.
var ErrFull = errors.New("store full")
