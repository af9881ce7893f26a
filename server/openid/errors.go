package openid

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// oauthError turns a domain error into the OAuth error an app receives,
// with the domain's message as its description. A store that is down is
// temporarily_unavailable (503), never a server_error; anything without a
// code is a server_error (500), logged by the library.
func oauthError(err error) error {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		var oe *oidc.Error
		if errors.As(err, &oe) {
			return err
		}
		return internal(err)
	}
	var e *oidc.Error
	status := http.StatusBadRequest
	switch ae.Code {
	case auth.OAuthInvalidGrant:
		e = oidc.ErrInvalidGrant()
	case auth.OAuthInvalidScope:
		e = oidc.ErrInvalidScope()
	case auth.OAuthInvalidClient:
		e, status = oidc.ErrInvalidClient(), http.StatusUnauthorized
	case auth.OAuthInvalidToken:
		e, status = &oidc.Error{ErrorType: "invalid_token"}, http.StatusUnauthorized
	case auth.OAuthLoginRequired:
		e = oidc.ErrLoginRequired()
	case auth.OAuthConsentRequired:
		e = &oidc.Error{ErrorType: "consent_required"}
	case auth.OAuthAccessDenied:
		e = oidc.ErrAccessDenied()
	case shared.CodeRateLimited:
		// OAuth has no code for it; 429 with Retry-After says it plainly.
		e, status = &oidc.Error{ErrorType: "temporarily_unavailable"}, http.StatusTooManyRequests
	case shared.CodeUnavailable, shared.CodeBusy:
		e, status = &oidc.Error{ErrorType: "temporarily_unavailable"}, http.StatusServiceUnavailable
	case shared.CodeNotFound:
		e = oidc.ErrInvalidRequest()
	default:
		return internal(err)
	}
	e = e.WithDescription("%s", ae.Message).WithParent(err)
	if status == http.StatusBadRequest {
		// Authorize sends plain errors back to the app; the token and
		// userinfo endpoints write them with the library's status.
		return e
	}
	return op.NewStatusError(e, status)
}

// internal is a server_error whose description is the plain sentence every
// internal error gets; the library would otherwise send err's text, which
// is developer detail. The library logs err itself, answers 500 at the
// token and userinfo endpoints, and sends server_error back to the app from
// authorize (RFC 6749 §4.1.2.1).
func internal(err error) error {
	return oidc.ErrServerError().WithDescription("%s", auth.InternalMessage).WithParent(err)
}

// statusOf is the status of a page answering err.
func statusOf(err error) int {
	switch auth.ErrorCode(err) {
	case shared.CodeRateLimited:
		return http.StatusTooManyRequests
	case shared.CodeUnavailable, shared.CodeBusy:
		return http.StatusServiceUnavailable
	case shared.CodeInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func errPageMessage(err error) string {
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return auth.InternalMessage
}

// errorPage is the page a person sees when an app's request cannot go back
// to the app. It needs nothing the Content-Security-Policy forbids: no
// script, and the app's own stylesheet.
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in problem · Latchkey</title>
<link rel="stylesheet" href="/web/app.css">
</head>
<body>
<main class="page">
<h1>This sign-in cannot continue</h1>
<p role="alert" id="oidc-error">{{.}}</p>
<p><a href="/">Go to Latchkey</a></p>
</main>
</body>
</html>
`))

func (p *Provider) page(w http.ResponseWriter, r *http.Request, status int, message string) {
	if status >= 500 {
		p.log.ErrorContext(r.Context(), "sign-in page error", "status", status)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, message)
}
