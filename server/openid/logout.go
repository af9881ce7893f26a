package openid

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// EndSession is RP-initiated logout. With a valid id_token_hint the app
// evidently asked: the Latchkey session of that user ends at once and the
// browser goes to the app's registered post-logout URI. Without one, the
// person is asked first (/logout). A URI the app did not register is never
// followed: Latchkey's own logged-out page stands in.
func (p *Provider) EndSession(ctx context.Context, r *op.Request[oidc.EndSessionRequest]) (*op.Redirect, error) {
	req := r.Data
	var app *auth.App
	sub, hinted := "", false
	if req.IdTokenHint != "" {
		claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, req.IdTokenHint,
			op.NewIDTokenHintVerifier(p.issuer, keySet{p}, op.WithSupportedIDTokenHintSigningAlgorithms(auth.AlgES256, auth.AlgRS256)))
		// An expired hint still says who asked: a logout often comes
		// long after the ID token.
		if err == nil || errors.As(err, &op.IDTokenHintExpiredError{}) {
			if a, ok := p.auth.App(claims.AuthorizedParty); ok && slices.Contains(claims.Audience, a.ID) {
				app, sub, hinted = a, claims.Subject, true
			}
		}
		if hinted && req.ClientID != "" && req.ClientID != app.ID {
			app, sub, hinted = nil, "", false
		}
	}
	if app == nil && req.ClientID != "" {
		app, _ = p.auth.App(req.ClientID)
	}
	next := shared.PageLogout
	if app != nil && req.PostLogoutRedirectURI != "" && app.MatchPostLogout(req.PostLogoutRedirectURI) {
		next = withState(req.PostLogoutRedirectURI, req.State)
	}
	red := op.NewRedirect(next)

	token := p.cookie(r.Header, p.opts.SessionCookie)
	sess, _, err := p.session(ctx, r.Header)
	if err != nil {
		return nil, oauthError(err)
	}
	switch {
	case sess == nil:
		// Nothing to log out of.
	case hinted && sess.UserUID == sub:
		if err := p.auth.EndSessionByToken(ctx, token); err != nil {
			return nil, oauthError(err)
		}
		p.setCookie(red.Header, p.opts.SessionCookie, "", 0)
		p.log.InfoContext(ctx, "logged out by an app", "user", sess.UserUID, "app", app.ID)
	case hinted:
		// The app's user is not the one logged in here: this browser's
		// session is someone else's business.
	default:
		id, err := p.auth.SaveLogoutRequest(ctx, app, next)
		if err != nil {
			return nil, oauthError(err)
		}
		red.URL = shared.PageLogout + "?" + shared.QueryLogout + "=" + url.QueryEscape(id)
	}
	return red, nil
}

func withState(uri, state string) string {
	if state == "" {
		return uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}

// logoutDone ends an app's logout request once the person has logged out
// on /logout: to the app's registered URI, or Latchkey's logged-out page.
func (p *Provider) logoutDone(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("request")
	sess, _, err := p.session(ctx, r.Header)
	if err != nil {
		p.page(w, r, statusOf(err), errPageMessage(err))
		return
	}
	if sess != nil {
		// Not logged out (yet): the question stands.
		http.Redirect(w, r, shared.PageLogout+"?"+shared.QueryLogout+"="+url.QueryEscape(id), http.StatusFound)
		return
	}
	next, err := p.auth.TakeLogoutRequest(ctx, id)
	if err != nil {
		next = shared.PageLogout
	}
	http.Redirect(w, r, next, http.StatusFound)
}
