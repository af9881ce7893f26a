package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// An application's sign-in (an OpenID Connect authorization request) may
// need the person to log in and to consent before it can end with a code.
// Meanwhile it waits in the challenge store, so that it survives the pages
// in between and any instance can continue it.

// AuthRequest is an application's sign-in, as the provider read it.
type AuthRequest struct {
	AppID         string   `json:"app"`
	RedirectURI   string   `json:"redirect_uri"`
	Scopes        []string `json:"scopes"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	CodeChallenge string   `json:"code_challenge,omitempty"`
	LoginHint     string   `json:"login_hint,omitempty"`
	// PromptNone: show no page; answer login_required or consent_required
	// instead. PromptLogin: a new login, whatever session exists.
	// PromptConsent: ask even if the person consented before.
	PromptNone    bool `json:"prompt_none,omitempty"`
	PromptLogin   bool `json:"prompt_login,omitempty"`
	PromptConsent bool `json:"prompt_consent,omitempty"`
	// MaxAge, when set, is the oldest login the app accepts.
	MaxAge    *time.Duration `json:"max_age,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	// Binding is the SHA-256 of a random value in a cookie of the browser
	// that began the sign-in: only that browser can finish it.
	Binding string `json:"binding,omitempty"`
	// The person's answer on the consent page.
	ConsentedBy int64 `json:"consented_by,omitempty"`
	Denied      bool  `json:"denied,omitempty"`
}

// Step is what an application's sign-in needs next.
type Step int

const (
	StepLogin   Step = iota // a (new) login on /login
	StepConsent             // the person's answer on /consent
	StepDenied              // the person said no: access_denied
	StepIssue               // nothing: issue the code
)

const authzPrefix = "authorize:"

// App returns the configured app with that id.
func (s *Service) App(id string) (*App, bool) {
	for i := range s.opts.Apps {
		if s.opts.Apps[i].ID == id {
			return &s.opts.Apps[i], true
		}
	}
	return nil, false
}

// Apps is the configured apps.
func (s *Service) Apps() []App { return s.opts.Apps }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.opts.Now() }

// AuthorizeTTL is how long a sign-in may take.
func (s *Service) AuthorizeTTL() time.Duration { return s.opts.AuthorizeTTL }

// NewBinding returns a value for the cookie that binds sign-ins to the
// browser that began them.
func NewBinding() string { return randomID(24) }

// Bind ties r to the browser whose binding cookie holds cookie; only its
// hash is stored.
func (r *AuthRequest) Bind(cookie string) { r.Binding = hashString(cookie) }

// BoundTo reports whether cookie is the value r was bound to.
func (r *AuthRequest) BoundTo(cookie string) bool {
	return r.Binding != "" && subtle.ConstantTimeCompare([]byte(hashString(cookie)), []byte(r.Binding)) == 1
}

// SaveAuthRequest keeps a sign-in for the pages it needs and returns its
// id; the sign-in lasts AuthorizeTTL from its start.
func (s *Service) SaveAuthRequest(ctx context.Context, r *AuthRequest) (string, error) {
	id := randomID(24)
	return id, s.putAuthRequest(ctx, id, r)
}

func (s *Service) putAuthRequest(ctx context.Context, id string, r *AuthRequest) error {
	ttl := r.CreatedAt.Add(s.opts.AuthorizeTTL).Sub(s.opts.Now())
	if ttl <= 0 {
		return errAuthorizationExpired()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode sign-in: %w", err)
	}
	return s.putChallenge(ctx, authzPrefix+id, b, ttl)
}

// AuthRequest returns a waiting sign-in.
//
// Errors: not_found (unknown or expired).
func (s *Service) AuthRequest(ctx context.Context, id string) (*AuthRequest, *App, error) {
	if id == "" || len(id) > 64 {
		return nil, nil, errAuthorizationExpired()
	}
	b, err := s.challenges.Peek(ctx, authzPrefix+id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errAuthorizationExpired()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read sign-in: %w", err)
	}
	var r AuthRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("decode sign-in: %w", err)
	}
	app, ok := s.App(r.AppID)
	if !ok || !s.opts.Now().Before(r.CreatedAt.Add(s.opts.AuthorizeTTL)) {
		// The app was removed from the configuration meanwhile.
		return nil, nil, errAuthorizationExpired()
	}
	return &r, app, nil
}

// DropAuthRequest forgets a sign-in that has ended.
func (s *Service) DropAuthRequest(ctx context.Context, id string) error {
	_, err := s.challenges.Take(ctx, authzPrefix+id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("drop sign-in: %w", err)
	}
	return nil
}

// AuthorizationInfo tells the login and consent pages about a sign-in.
//
// Errors: not_found.
func (s *Service) AuthorizationInfo(ctx context.Context, id string) (*shared.AuthorizationInfo, error) {
	r, app, err := s.AuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return &shared.AuthorizationInfo{
		App:        app.Name,
		Scopes:     r.Scopes,
		LoginHint:  r.LoginHint,
		FreshLogin: r.PromptLogin || r.MaxAge != nil,
	}, nil
}

// ResumeURL is where a page sends the browser to continue sign-in id.
func ResumeURL(id string) string {
	return shared.AuthorizeResume + "?id=" + url.QueryEscape(id)
}

// NextStep decides what a sign-in needs, given the browser's session (nil
// without one). With prompt=none it never asks for a page: it fails with
// login_required or consent_required instead.
//
// Errors: login_required, consent_required.
func (s *Service) NextStep(ctx context.Context, r *AuthRequest, app *App, sess *Session) (Step, error) {
	if s.needsLogin(r, sess) {
		if r.PromptNone {
			return 0, errLoginRequired()
		}
		return StepLogin, nil
	}
	if r.Denied {
		return StepDenied, nil
	}
	if app.SkipConsent || r.ConsentedBy == sess.UserID {
		return StepIssue, nil
	}
	if !r.PromptConsent {
		ok, err := s.consented(ctx, sess.UserID, app.ID, r.Scopes)
		if err != nil {
			return 0, err
		}
		if ok {
			return StepIssue, nil
		}
	}
	if r.PromptNone {
		return 0, errConsentRequired()
	}
	return StepConsent, nil
}

// needsLogin: no session, or one older than the app accepts. A login
// asked for with prompt=login must come after the request did: a session
// from the same instant is the one the request found. A login after the
// request meets max_age as well, however long the browser then takes to
// come back: otherwise max_age=0 (which the library also makes of
// prompt=login) could never be met.
func (s *Service) needsLogin(r *AuthRequest, sess *Session) bool {
	switch {
	case sess == nil:
		return true
	case sess.AuthenticatedAt.After(r.CreatedAt):
		return false
	case r.PromptLogin:
		return true
	case r.MaxAge != nil && s.opts.Now().Sub(sess.AuthenticatedAt) > *r.MaxAge:
		return true
	}
	return false
}

func (s *Service) consented(ctx context.Context, userID int64, appID string, scopes []string) (bool, error) {
	c, err := s.grants.Consent(ctx, userID, appID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read consent: %w", err)
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			return false, nil
		}
	}
	return true, nil
}

// Consent records the person's answer on the consent page: Allow is
// remembered for the app and scopes; either answer then continues the
// sign-in, whose next step issues the code or access_denied.
//
// Errors: not_found (the sign-in expired).
func (s *Service) Consent(ctx context.Context, sess *Session, id string, allow bool) (string, error) {
	r, app, err := s.AuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	if allow {
		c := &Consent{UserID: sess.UserID, AppID: app.ID, Scopes: r.Scopes, GrantedAt: s.opts.Now().UTC()}
		if old, err := s.grants.Consent(ctx, sess.UserID, app.ID); err == nil {
			// Scopes allowed before stay allowed.
			for _, sc := range old.Scopes {
				if !slices.Contains(c.Scopes, sc) {
					c.Scopes = append(c.Scopes, sc)
				}
			}
			c.Scopes = ordered(c.Scopes)
		}
		if err := s.grants.SaveConsent(ctx, c); err != nil {
			return "", fmt.Errorf("save consent: %w", err)
		}
		r.ConsentedBy, r.Denied = sess.UserID, false
	} else {
		r.Denied = true
	}
	if err := s.putAuthRequest(ctx, id, r); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "consent answered", "user", sess.UserUID, "app", app.ID, "allow", allow)
	return ResumeURL(id), nil
}

// ordered returns scopes in the order of shared.Scopes.
func ordered(scopes []string) []string {
	var out []string
	for _, sc := range shared.Scopes {
		if slices.Contains(scopes, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// AMR are the RFC 8176 authentication method references of a session: a
// passkey is proof of possession ("pop"), and with user verification a
// second factor too ("mfa"); an email link is a one-time secret ("otp").
func AMR(sess *Session) []string {
	switch {
	case sess.Method == MethodEmail:
		return []string{"otp"}
	case sess.UserVerified:
		return []string{"pop", "mfa"}
	}
	return []string{"pop"}
}

const (
	codePrefix = "oidc-code:"
	usedPrefix = "oidc-code-used:"
)

// codeState is what an authorization code stands for.
type codeState struct {
	AuthRequest
	UserID     int64     `json:"user_id"`
	AuthTime   time.Time `json:"auth_time"`
	AMR        []string  `json:"amr"`
	PasskeyUID string    `json:"passkey,omitempty"`
	// Claims is the user as the sign-in found them: the code's tokens
	// describe them without reading the user again.
	Claims  userClaims `json:"claims"`
	Expires time.Time  `json:"expires"`
}

// userClaims is what an app may learn of a user.
type userClaims struct {
	UID             string    `json:"uid"`
	Username        string    `json:"username"`
	DisplayName     string    `json:"display_name,omitempty"`
	Email           string    `json:"email,omitempty"`
	EmailVerifiedAt time.Time `json:"email_verified_at,omitzero"`
}

func (c userClaims) user(id int64) *User {
	return &User{ID: id, UID: c.UID, Username: c.Username, DisplayName: c.DisplayName, Email: c.Email, EmailVerifiedAt: c.EmailVerifiedAt}
}

// IssueCode ends a sign-in with a single-use authorization code for the
// app, good for CodeTTL. u is the session's user.
func (s *Service) IssueCode(ctx context.Context, r *AuthRequest, sess *Session, u *User) (string, error) {
	code := randomID(32)
	st := codeState{AuthRequest: *r, UserID: sess.UserID, AuthTime: sess.AuthenticatedAt, AMR: AMR(sess), PasskeyUID: sess.PasskeyUID,
		Claims:  userClaims{UID: u.UID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, EmailVerifiedAt: u.EmailVerifiedAt},
		Expires: s.opts.Now().Add(s.opts.CodeTTL)}
	st.Binding = ""
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode code: %w", err)
	}
	if err := s.putChallenge(ctx, codePrefix+hashString(code), b, s.opts.CodeTTL); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "authorization code issued", "user", sess.UserUID, "app", r.AppID, "scopes", r.Scopes)
	return code, nil
}

// An app's logout request without proof that the app sent it waits for the
// person to confirm it on /logout.

const logoutPrefix = "logout:"

type logoutRequest struct {
	AppID string `json:"app,omitempty"`
	// Next is where the browser goes once logged out: a post-logout URI
	// the app registered, or the logged-out page.
	Next string `json:"next"`
}

// SaveLogoutRequest keeps an app's logout request (app may be nil) until
// the person answers, and returns its id.
func (s *Service) SaveLogoutRequest(ctx context.Context, app *App, next string) (string, error) {
	lr := logoutRequest{Next: next}
	if app != nil {
		lr.AppID = app.ID
	}
	b, err := json.Marshal(lr)
	if err != nil {
		return "", fmt.Errorf("encode logout request: %w", err)
	}
	id := randomID(24)
	return id, s.putChallenge(ctx, logoutPrefix+id, b, s.opts.AuthorizeTTL)
}

func (s *Service) logoutRequest(ctx context.Context, id string, take bool) (*logoutRequest, error) {
	if id == "" || len(id) > 64 {
		return nil, errLogoutExpired()
	}
	get := s.challenges.Peek
	if take {
		get = s.challenges.Take
	}
	b, err := get(ctx, logoutPrefix+id)
	if errors.Is(err, ErrNotFound) {
		return nil, errLogoutExpired()
	}
	if err != nil {
		return nil, fmt.Errorf("read logout request: %w", err)
	}
	var lr logoutRequest
	if err := json.Unmarshal(b, &lr); err != nil {
		return nil, fmt.Errorf("decode logout request: %w", err)
	}
	return &lr, nil
}

// LogoutInfo tells /logout which app asked.
//
// Errors: not_found.
func (s *Service) LogoutInfo(ctx context.Context, id string) (*shared.LogoutInfo, error) {
	lr, err := s.logoutRequest(ctx, id, false)
	if err != nil {
		return nil, err
	}
	info := &shared.LogoutInfo{}
	if app, ok := s.App(lr.AppID); ok {
		info.App = app.Name
	}
	return info, nil
}

// TakeLogoutRequest ends a logout request and says where the browser goes.
//
// Errors: not_found.
func (s *Service) TakeLogoutRequest(ctx context.Context, id string) (string, error) {
	lr, err := s.logoutRequest(ctx, id, true)
	if err != nil {
		return "", err
	}
	return lr.Next, nil
}

// IDTokenTTL is the life of an ID token.
func (s *Service) IDTokenTTL() time.Duration { return s.opts.IDTokenTTL }
