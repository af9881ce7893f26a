package auth

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// The vocabulary of errors a client may see: every code with its message,
// field and, where the code's usual status does not fit, status, in this
// one file. The rest of the server builds its errors from these
// constructors and writes no message of its own, so one failure always
// reads the same, whichever layer (domain, store, edge) finds it. cause is
// developer detail: logged, never sent.

// InternalMessage is all a client sees of an error that is not an *Error:
// the detail goes to the log.
const InternalMessage = "Something went wrong on our side. Please try again."

// newError is the one place an *Error is put together.
func newError(code, field string, cause error, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Field: field, Message: msg, Err: cause}
}

// fieldError is an invalid_input error about one request field.
func fieldError(field, format string, args ...any) *Error {
	return newError(shared.CodeInvalidInput, field, nil, format, args...)
}

// Request bodies, read at the edge.

// UnsupportedMediaType: the body is not declared as JSON.
func UnsupportedMediaType() *Error {
	return newError(shared.CodeUnsupportedMedia, "", nil, "Send the request body as JSON (Content-Type: application/json).")
}

// BodyNotObject: the body is JSON, but not an object.
func BodyNotObject() *Error {
	return newError(shared.CodeInvalidInput, "", nil, "The request body must be a JSON object.")
}

// BodyNotSingle: something follows the body's object.
func BodyNotSingle() *Error {
	return newError(shared.CodeInvalidInput, "", nil, "The request body must hold a single JSON object.")
}

// BodyTooLarge: the body is over its limit of maxBytes.
func BodyTooLarge(maxBytes int64) *Error {
	return newError(shared.CodeBodyTooLarge, "", nil, "The request body is larger than %d KiB.", maxBytes>>10)
}

// BodyEmpty: no body where one is needed.
func BodyEmpty() *Error {
	return newError(shared.CodeInvalidInput, "", nil, "The request body is empty; send a JSON object.")
}

// BodyCutShort: the body ends inside its JSON.
func BodyCutShort() *Error {
	return newError(shared.CodeInvalidInput, "", nil, "The request body is cut short.")
}

// BodyNotJSON: a syntax error at byte offset.
func BodyNotJSON(offset int64) *Error {
	return newError(shared.CodeInvalidInput, "", nil, "The request body is not valid JSON (at byte %d).", offset)
}

// BodyNotUTF8: invalid UTF-8 at byte offset.
func BodyNotUTF8(offset int64) *Error {
	return newError(shared.CodeInvalidInput, "", nil, "The request body is not valid UTF-8 (at byte %d).", offset)
}

// DuplicateField: the body names a field twice.
func DuplicateField(name string) *Error {
	return newError(shared.CodeInvalidInput, name, nil, "Field %q appears more than once.", name)
}

// FieldWrongType: a field holds the wrong JSON kind ("a string", "a number").
func FieldWrongType(field, kind string) *Error {
	return newError(shared.CodeInvalidInput, field, nil, "%s must be a %s.", field, kind)
}

// UnknownField: the body names a field the request does not have.
func UnknownField(name string) *Error {
	return newError(shared.CodeInvalidInput, name, nil, "Unknown field %q.", name)
}

// BodyUnreadable: reading the body failed.
func BodyUnreadable(cause error) *Error {
	return newError(shared.CodeInvalidInput, "", cause, "The request body could not be read.")
}

// Routing, at the edge.

// CrossOrigin: a state-changing request from another origin.
func CrossOrigin() *Error {
	return newError(shared.CodeForbidden, "", nil, "Cross-origin request refused.")
}

// NoEndpoint: no API route has this method and path.
func NoEndpoint(method, path string) *Error {
	return newError(shared.CodeNotFound, "", nil, "No API endpoint %s %s.", method, path)
}

// PagesOnlyGET: a page asked for with another method.
func PagesOnlyGET() *Error {
	return newError(shared.CodeMethodNotAllowed, "", nil, "Pages only answer GET.")
}

// What people type.

func errUsernameLength() *Error {
	return fieldError("username", "A username has %d to %d characters.", usernameMin, usernameMax)
}

func errUsernameChars() *Error {
	return fieldError("username", "A username may only hold letters, digits, '.', '_' and '-'.")
}

func errEmailMissing() *Error { return fieldError("email", "Enter your email address.") }

func errEmailMalformed() *Error {
	return fieldError("email", "Enter an email address like name@example.com.")
}

func errEmailTooLong() *Error { return fieldError("email", "That email address is too long.") }

func errEmailInvisible() *Error {
	return fieldError("email", "An email address may not contain invisible or control characters.")
}

func errTextInvalid(field, label string) *Error {
	return fieldError(field, "%s is not valid text.", label)
}

func errTextTooLong(field, label string, max int) *Error {
	return fieldError(field, "%s may have at most %d characters.", label, max)
}

func errTextForbidden(field, label, problem string) *Error {
	return fieldError(field, "%s may not contain %s.", label, problem)
}

func errUsernameOrEmailMissing() *Error {
	return fieldError("username_or_email", "Enter your username or email address.")
}

func errCredentialMissing() *Error { return fieldError("credential", "The credential is missing.") }

func errPasskeyNameTwice() *Error {
	return fieldError("name", "Send the passkey's name as passkey_name only; name is its old spelling.")
}

func errPasskeyNameMissing() *Error { return fieldError("name", "Give the passkey a name.") }

// Accounts.

// UsernameTaken: another account has the username, in any case.
func UsernameTaken(cause error) *Error {
	return newError(shared.CodeUsernameTaken, "username", cause, "That username is taken. Please choose another.")
}

// EmailTaken: another account has the address (by EmailKey).
func EmailTaken(cause error) *Error {
	return newError(shared.CodeEmailTaken, "email", cause, "An account with that email address already exists. Log in instead?")
}

func errUserNotFound() *Error {
	return newError(shared.CodeUserNotFound, "username_or_email", nil, "No matching user found")
}

func errNotRemembered() *Error {
	return newError(shared.CodeNotRemembered, "", nil, "No user is remembered on this device.")
}

func errDisownRefused() *Error {
	return newError(shared.CodeForbidden, "", nil, "Only the login link that confirmed this address can delete the account this way, and only for a few minutes after it was used.")
}

// Ceremonies and passkeys.

func errCeremonyInvalid(cause error) *Error {
	return newError(shared.CodeCeremonyInvalid, "", cause, "This sign-in attempt has expired or was already used. Please start again.")
}

func errBusy(cause error) *Error {
	return newError(shared.CodeBusy, "", cause, "Too many sign-ins are in progress; try again in a moment.")
}

// credentialRejected is a passkey that failed verification when it is being
// registered: the request was bad (400).
func credentialRejected(cause error) *Error {
	return newError(shared.CodeCredentialRejected, "", cause, "The passkey could not be verified. Please try again.")
}

// failedLogin makes a credential rejected while logging in (by the
// verification or by the store) a failed authentication: the same code and
// message, answered 401 where sign-up and add-passkey answer 400. Other
// errors pass through.
func failedLogin(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != shared.CodeCredentialRejected {
		return err
	}
	out := *e
	out.Status = http.StatusUnauthorized
	return &out
}

// PasskeyRegistered: the credential id is already stored.
func PasskeyRegistered(cause error) *Error {
	return newError(shared.CodeCredentialRejected, "", cause, "This passkey is already registered.")
}

// SignCountRefused: the stored sign count is not below the presented one.
func SignCountRefused(cause error) *Error {
	return newError(shared.CodeCredentialRejected, "", cause, "This passkey's signature counter went backwards; it may have been cloned.")
}

// LastPasskey: deleting the account's only passkey.
func LastPasskey() *Error {
	return newError(shared.CodeLastPasskey, "", nil, "You can't delete your only passkey.")
}

func errTooManyPasskeys() *Error {
	return newError(shared.CodeLimitReached, "", nil, "An account can hold at most %d passkeys. Delete one you no longer use first.", MaxPasskeys)
}

func errPasskeyNotFound() *Error {
	return newError(shared.CodeNotFound, "", nil, "No such passkey on your account.")
}

// Sessions and re-authentication.

func errUnauthenticated() *Error {
	return newError(shared.CodeUnauthenticated, "", nil, "Please log in.")
}

func errSessionNotFound() *Error { return newError(shared.CodeNotFound, "", nil, "No such session.") }

func errReauthRequired() *Error {
	return newError(shared.CodeReauthRequired, "", nil, "For your security, confirm it's you with a passkey first.")
}

func errReauthEmailLogin() *Error {
	return newError(shared.CodeReauthRequired, "", nil, "You logged in with an email link. For your security, confirm it's you with a passkey you already had.")
}

func errReauthProvisional(until time.Time) *Error {
	return newError(shared.CodeReauthRequired, "", nil,
		"The passkey you logged in with was added through an email login and can't do this until %s. Confirm it's you with another of your passkeys.",
		until.UTC().Format("2 Jan 2006, 15:04 MST"))
}

// Email links.

func errLinkInvalid() *Error {
	return newError(shared.CodeTokenInvalid, "", nil, "This login link is invalid, already used or expired. Please ask for a new one.")
}

// Stores.

// StoreUnavailable: a store (the database, Redis) cannot be reached or did
// not answer in time. Store adapters wrap their connection failures in it,
// so the edge answers 503 with Retry-After, never 500: the request may well
// succeed a moment later, when the pools have reconnected.
func StoreUnavailable(cause error) *Error {
	return newError(shared.CodeUnavailable, "", cause, "Latchkey can't reach its database; try again in a moment.")
}

// RetryUnavailable is the Retry-After the edges send with every 503
// (unavailable, busy). A pool that reconnects by itself usually serves
// again within seconds, and clients that wait this long do not add a storm
// of retries to an outage.
const RetryUnavailable = RetryAfter(2 * time.Second)

// Rate limits.

func errLinksUnavailable(cause error) *Error {
	return newError(shared.CodeUnavailable, "", cause, "Login links cannot be sent right now. Please try again in a few minutes.")
}

func errRateLimited(wait string, cause error) *Error {
	return newError(shared.CodeRateLimited, "", cause, "Too many attempts. Please wait %s and try again.", wait)
}

// Applications' sign-ins (OpenID Connect). The codes of errors an app
// receives are OAuth 2.0's and OpenID Connect's (RFC 6749 §4.1.2.1 and
// §5.2, RFC 6750 §3.1, OIDC Core §3.1.2.6); the provider hands them on as
// they are. The pages' errors use this API's codes.
const (
	OAuthInvalidGrant     = "invalid_grant"
	OAuthInvalidScope     = "invalid_scope"
	OAuthInvalidToken     = "invalid_token"
	OAuthLoginRequired    = "login_required"
	OAuthConsentRequired  = "consent_required"
	OAuthAccessDenied     = "access_denied"
	OAuthInvalidRequest   = "invalid_request"
	OAuthInvalidClient    = "invalid_client"
	OAuthUnauthorizedApp  = "unauthorized_client"
	OAuthTemporarilyUnav  = "temporarily_unavailable"
	OAuthUnsupportedParam = "request_not_supported"
)

func errAuthorizationExpired() *Error {
	return newError(shared.CodeNotFound, "", nil, "This sign-in has expired. Go back to the application and start again.")
}

func errAppNotFound() *Error {
	return newError(shared.CodeNotFound, "", nil, "No such application.")
}

func errGrantInvalid(cause error) *Error {
	return newError(OAuthInvalidGrant, "", cause, "The code or refresh token is invalid, expired, already used, or belongs to another client.")
}

func errCodeReplayed() *Error {
	return newError(OAuthInvalidGrant, "", nil, "The code was already used; the tokens issued for it are revoked.")
}

func errRefreshReplayed() *Error {
	return newError(OAuthInvalidGrant, "", nil, "The refresh token was already used; every token of its grant is revoked.")
}

func errPKCE(cause error) *Error {
	return newError(OAuthInvalidGrant, "", cause, "The code_verifier does not match the code_challenge.")
}

func errPKCEMissing() *Error {
	return newError(OAuthInvalidGrant, "", nil, "The code_verifier is missing: this code was issued with a code_challenge.")
}

func errPKCEUnexpected() *Error {
	return newError(OAuthInvalidGrant, "", nil, "A code_verifier was sent for a code issued without a code_challenge.")
}

func errScopeWidened() *Error {
	return newError(OAuthInvalidScope, "", nil, "A refresh may only ask for scopes the grant already has.")
}

func errBearerInvalid() *Error {
	return newError(OAuthInvalidToken, "", nil, "The access token is invalid, expired or revoked.")
}

func errLoginRequired() *Error {
	return newError(OAuthLoginRequired, "", nil, "The person is not logged in to Latchkey, or not recently enough.")
}

func errConsentRequired() *Error {
	return newError(OAuthConsentRequired, "", nil, "The person has not allowed this application yet.")
}

// AccessDenied is what an app hears when the person chose Deny.
func AccessDenied() *Error {
	return newError(OAuthAccessDenied, "", nil, "The person declined to sign in to this application.")
}

func errLogoutExpired() *Error {
	return newError(shared.CodeNotFound, "", nil, "This logout request has expired.")
}

// The provider's refusals of malformed or unwelcome requests.

// AuthorizeMalformed: the authorization request's parameters do not parse.
func AuthorizeMalformed() *Error {
	return newError(OAuthInvalidRequest, "", nil, "The application's sign-in request is malformed.")
}

// AppUnknown: no app has the client_id.
func AppUnknown() *Error {
	return newError(OAuthInvalidRequest, "", nil, "The application asking you to sign in is not known to Latchkey. Tell the application's administrator.")
}

// RedirectUnregistered: the redirect_uri is not one the app registered.
func RedirectUnregistered(app string) *Error {
	return newError(OAuthInvalidRequest, "", nil, "%s asked Latchkey to send you to an address it has not registered, so Latchkey will not. Tell the application's administrator.", app)
}

// AuthorizeOtherBrowser: the sign-in's binding cookie is not this browser's.
func AuthorizeOtherBrowser() *Error {
	return newError(OAuthInvalidRequest, "", nil, "This sign-in was started in another browser. Go back to the application and start again here.")
}

// RequestObjectUnsupported: a request (JWT) parameter.
func RequestObjectUnsupported() *Error {
	return newError(OAuthUnsupportedParam, "", nil, "Request objects are not supported.")
}

// ResponseModeUnsupported: a response_mode other than query.
func ResponseModeUnsupported() *Error {
	return newError(OAuthInvalidRequest, "", nil, "Only response_mode=query is supported.")
}

// PKCERequired: a public app's request without a code_challenge.
func PKCERequired() *Error {
	return newError(OAuthInvalidRequest, "", nil, "A public client must use PKCE: send a code_challenge with code_challenge_method=S256.")
}

// PKCEMethodRefused: a code_challenge_method other than S256.
func PKCEMethodRefused() *Error {
	return newError(OAuthInvalidRequest, "", nil, "code_challenge_method must be S256.")
}

// OpenIDScopeMissing: scope lacks openid.
func OpenIDScopeMissing() *Error {
	return newError(OAuthInvalidScope, "", nil, "The scope must include openid.")
}

// PromptNoneAlone: prompt=none together with another prompt value.
func PromptNoneAlone() *Error {
	return newError(OAuthInvalidRequest, "", nil, "prompt=none cannot be combined with other prompt values.")
}

// ClientAuthFailed: an unknown client or a wrong secret (one message, so it
// does not say which).
func ClientAuthFailed() *Error {
	return newError(OAuthInvalidClient, "", nil, "Client authentication failed.")
}

// ClientAssertionUnsupported: private_key_jwt or client_secret_jwt.
func ClientAssertionUnsupported() *Error {
	return newError(OAuthInvalidClient, "", nil, "Client assertions are not supported; use client_secret_basic or client_secret_post.")
}

// PublicClientSecret: a public client sent a secret it cannot have.
func PublicClientSecret() *Error {
	return newError(OAuthInvalidClient, "", nil, "This client is public: it has no secret to send.")
}

// HintInvalid: an id_token_hint not signed by a published key.
func HintInvalid() *Error {
	return newError(OAuthInvalidRequest, "", nil, "The id_token_hint was not issued by Latchkey.")
}
