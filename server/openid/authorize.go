package openid

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// checkAuthorizeTarget answers an authorization request whose app is
// unknown, or whose redirect URI that app did not register, with a page of
// ours (400). Anything else goes on to the library.
func (p *Provider) checkAuthorizeTarget(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		p.page(w, r, http.StatusBadRequest, auth.AuthorizeMalformed().Message)
		return false
	}
	app, ok := p.auth.App(r.Form.Get("client_id"))
	if !ok {
		p.page(w, r, http.StatusBadRequest, auth.AppUnknown().Message)
		return false
	}
	if !app.MatchRedirect(r.Form.Get("redirect_uri")) {
		p.page(w, r, http.StatusBadRequest, auth.RedirectUnregistered(app.Name).Message)
		return false
	}
	return true
}

// VerifyAuthRequest finds the app and checks the redirect URI the way
// Latchkey matches them; the other checks come in Authorize, whose errors
// the library sends back to that URI.
func (p *Provider) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	ar := r.Data
	app, ok := p.auth.App(ar.ClientID)
	if !ok || !app.MatchRedirect(ar.RedirectURI) {
		// checkAuthorizeTarget answered these already; a form with the
		// parameter twice could differ, so refuse without redirecting.
		return nil, op.NewStatusError(oidc.ErrInvalidRequestRedirectURI().WithDescription("%s", auth.AppUnknown().Message), http.StatusBadRequest)
	}
	return &op.ClientRequest[oidc.AuthRequest]{Request: r, Client: &client{app: app, redirect: ar.RedirectURI}}, nil
}

func (p *Provider) checkAuthRequest(app *auth.App, ar *oidc.AuthRequest) error {
	switch {
	case ar.RequestParam != "":
		return oidc.ErrRequestNotSupported().WithDescription("%s", auth.RequestObjectUnsupported().Message)
	case ar.ResponseMode != "" && ar.ResponseMode != oidc.ResponseModeQuery:
		return oidc.ErrInvalidRequest().WithDescription("%s", auth.ResponseModeUnsupported().Message)
	case ar.CodeChallenge == "" && app.Public:
		return oidc.ErrInvalidRequest().WithDescription("%s", auth.PKCERequired().Message)
	case ar.CodeChallenge != "" && ar.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		// RFC 7636 makes a missing method mean plain; plain protects
		// nothing against someone who can read the request.
		return oidc.ErrInvalidRequest().WithDescription("%s", auth.PKCEMethodRefused().Message)
	case !slices.Contains(ar.Scopes, shared.ScopeOpenID):
		return oidc.ErrInvalidScope().WithDescription("%s", auth.OpenIDScopeMissing().Message)
	}
	// Scopes the app may not have, or that Latchkey does not know, are
	// left out (RFC 6749 §3.3); the token response says what was granted.
	ar.Scopes = slices.DeleteFunc(ar.Scopes, func(s string) bool { return !app.Allows(s) })
	return nil
}

// Authorize decides an authorization request: straight back to the app with
// a code when the person is logged in (recently enough) and has consented,
// else to the login or consent page, which come back through resume.
func (p *Provider) Authorize(ctx context.Context, cr *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	ar := cr.Data
	app := cr.Client.(*client).app
	if err := p.checkAuthRequest(app, ar); err != nil {
		return nil, err
	}
	req := &auth.AuthRequest{
		AppID: app.ID, RedirectURI: ar.RedirectURI, Scopes: ar.Scopes,
		State: ar.State, Nonce: ar.Nonce, CodeChallenge: ar.CodeChallenge, LoginHint: ar.LoginHint,
		PromptNone:    slices.Contains(ar.Prompt, oidc.PromptNone),
		PromptLogin:   slices.Contains(ar.Prompt, oidc.PromptLogin),
		PromptConsent: slices.Contains(ar.Prompt, oidc.PromptConsent),
		CreatedAt:     p.auth.Now(),
	}
	if ar.MaxAge != nil {
		d := time.Duration(*ar.MaxAge) * time.Second
		req.MaxAge = &d
	}
	if req.PromptNone && (req.PromptLogin || req.PromptConsent) {
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", auth.PromptNoneAlone().Message)
	}
	sess, user, err := p.session(ctx, cr.Header)
	if err != nil {
		return nil, oauthError(err)
	}
	red := op.NewRedirect("")
	step, err := p.auth.NextStep(ctx, req, app, sess)
	if err != nil {
		return nil, oauthError(err)
	}
	if step == auth.StepIssue {
		return p.issue(ctx, red, req, "", sess, user)
	}
	// The login or consent page comes first: the request waits, bound to
	// this browser by a cookie, so a link to its pages works nowhere else.
	bind := p.cookie(cr.Header, p.binding)
	if bind == "" || len(bind) > 64 {
		bind = auth.NewBinding()
	}
	req.Bind(bind)
	id, err := p.auth.SaveAuthRequest(ctx, req)
	if err != nil {
		return nil, oauthError(err)
	}
	p.setCookie(red.Header, p.binding, bind, p.auth.AuthorizeTTL())
	red.URL = pageFor(step, id)
	return red, nil
}

func pageFor(step auth.Step, id string) string {
	page := shared.PageLogin
	if step == auth.StepConsent {
		page = shared.PageConsent
	}
	return page + "?" + shared.QueryAuthorize + "=" + url.QueryEscape(id)
}

// issue ends a sign-in with a code sent to the app.
func (p *Provider) issue(ctx context.Context, red *op.Redirect, req *auth.AuthRequest, id string, sess *auth.Session, u *auth.User) (*op.Redirect, error) {
	code, err := p.auth.IssueCode(ctx, req, sess, u)
	if err != nil {
		return nil, oauthError(err)
	}
	if id != "" {
		if err := p.auth.DropAuthRequest(ctx, id); err != nil {
			p.log.WarnContext(ctx, "could not drop a finished sign-in", "err", err)
		}
	}
	// iss tells the app which provider answered (RFC 9207), against
	// mix-up attacks when it uses several.
	resp := struct {
		Code  string `schema:"code"`
		State string `schema:"state,omitempty"`
		Iss   string `schema:"iss"`
	}{code, req.State, p.issuer}
	red.URL, err = op.AuthResponseURL(req.RedirectURI, oidc.ResponseTypeCode, oidc.ResponseModeQuery, &resp, oidc.NewEncoder())
	if err != nil {
		return nil, err
	}
	return red, nil
}

// resume continues a sign-in after the login or consent page.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		p.page(w, r, http.StatusMethodNotAllowed, auth.PagesOnlyGET().Message)
		return
	}
	id := r.URL.Query().Get("id")
	req, app, err := p.auth.AuthRequest(ctx, id)
	if err != nil {
		p.page(w, r, statusOf(err), errPageMessage(err))
		return
	}
	if !req.BoundTo(p.cookie(r.Header, p.binding)) {
		p.page(w, r, http.StatusBadRequest, auth.AuthorizeOtherBrowser().Message)
		return
	}
	sess, user, err := p.session(ctx, r.Header)
	if err != nil {
		p.page(w, r, statusOf(err), errPageMessage(err))
		return
	}
	red := op.NewRedirect("")
	step, err := p.auth.NextStep(ctx, req, app, sess)
	switch {
	case err != nil:
		red, err = p.errorRedirect(ctx, req, err)
	case step == auth.StepIssue:
		red, err = p.issue(ctx, red, req, id, sess, user)
	case step == auth.StepDenied:
		_ = p.auth.DropAuthRequest(ctx, id)
		red, err = p.errorRedirect(ctx, req, auth.AccessDenied())
	default:
		red.URL = pageFor(step, id)
	}
	if err != nil {
		p.page(w, r, statusOf(err), errPageMessage(err))
		return
	}
	for k, v := range red.Header {
		w.Header()[k] = v
	}
	http.Redirect(w, r, red.URL, http.StatusFound)
}

// errorRedirect sends a domain error back to the app of a stored sign-in.
func (p *Provider) errorRedirect(ctx context.Context, req *auth.AuthRequest, err error) (*op.Redirect, error) {
	ar := &oidc.AuthRequest{RedirectURI: req.RedirectURI, State: req.State, ResponseType: oidc.ResponseTypeCode}
	return op.TryErrorRedirect(ctx, ar, oauthError(err), oidc.NewEncoder(), nil)
}
