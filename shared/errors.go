package shared

import "fmt"

// Error codes are stable, machine-readable strings; the server maps each to
// an HTTP status in one table and clients branch on them, never on messages.
const (
	CodeInvalidInput       = "invalid_input"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeBodyTooLarge       = "body_too_large"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeUsernameTaken      = "username_taken"
	CodeEmailTaken         = "email_taken"
	CodeCeremonyInvalid    = "ceremony_invalid"
	CodeCredentialRejected = "credential_rejected"
	CodeUserNotFound       = "user_not_found"
	CodeNotRemembered      = "not_remembered"
	CodeUnauthenticated    = "unauthenticated"
	CodeReauthRequired     = "reauth_required"
	CodeLastPasskey        = "last_passkey"
	CodeLimitReached       = "limit_reached"
	CodeTokenInvalid       = "token_invalid"
	CodeRateLimited        = "rate_limited"
	CodeForbidden          = "forbidden"
	CodeUnavailable        = "unavailable"
	CodeBusy               = "busy"
	CodeInternal           = "internal"
)

// Codes is every code above. A new code goes in both lists; the server's
// tests then insist it has an HTTP status.
var Codes = []string{
	CodeInvalidInput, CodeUnsupportedMedia, CodeBodyTooLarge, CodeNotFound,
	CodeMethodNotAllowed, CodeUsernameTaken, CodeEmailTaken, CodeCeremonyInvalid,
	CodeCredentialRejected, CodeUserNotFound, CodeNotRemembered, CodeUnauthenticated,
	CodeReauthRequired, CodeLastPasskey, CodeLimitReached, CodeTokenInvalid,
	CodeRateLimited, CodeForbidden, CodeUnavailable, CodeBusy, CodeInternal,
}

// ErrorBody is the body of every API error:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError is an error as it travels over the wire. Field names the request
// field at fault, when there is one, so a form can show the message beside it.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Status is the HTTP status the error arrived with; it is not sent.
	Status int `json:"-"`
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}
