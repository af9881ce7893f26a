package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// Tokens is what an app receives from the token endpoint, before the
// provider adds the signed ID token.
type Tokens struct {
	Grant *Grant
	User  *User
	// Scopes of this access token: the grant's, or fewer on a refresh that
	// asked for fewer.
	Scopes          []string
	AccessToken     string
	AccessExpiresAt time.Time
	// RefreshToken is "" unless the grant has offline_access.
	RefreshToken string
	// Nonce is the sign-in's nonce, for the ID token of a code exchange.
	Nonce string
}

// RedeemCode exchanges an authorization code for tokens. The code is
// consumed before anything else is checked, so it works once at most;
// presented again, it revokes what its first redemption issued (RFC 6749
// §4.1.2). verify checks the PKCE code_verifier against the code's
// challenge (the provider's library does that arithmetic).
//
// Errors: invalid_grant.
func (s *Service) RedeemCode(ctx context.Context, app *App, code, redirectURI, verifier string, verify func(challenge string) error) (*Tokens, error) {
	if code == "" || len(code) > 128 {
		return nil, errGrantInvalid(errors.New("no code"))
	}
	key := hashString(code)
	b, err := s.challenges.Take(ctx, codePrefix+key)
	if errors.Is(err, ErrNotFound) {
		return nil, s.codeReplayed(ctx, key)
	}
	if err != nil {
		return nil, fmt.Errorf("take code: %w", err)
	}
	var st codeState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode code: %w", err)
	}
	switch {
	case !s.opts.Now().Before(st.Expires):
		return nil, errGrantInvalid(errors.New("code expired"))
	case st.AppID != app.ID:
		return nil, errGrantInvalid(fmt.Errorf("code of app %q redeemed by %q", st.AppID, app.ID))
	case st.RedirectURI != redirectURI:
		return nil, errGrantInvalid(errors.New("redirect_uri differs from the authorization request's"))
	case st.CodeChallenge == "" && verifier != "":
		return nil, errPKCEUnexpected()
	case st.CodeChallenge != "" && verifier == "":
		return nil, errPKCEMissing()
	case st.CodeChallenge == "" && app.Public:
		// Authorize refuses this already; a public app's code is only
		// ever bound to its verifier.
		return nil, errPKCEMissing()
	}
	if st.CodeChallenge != "" {
		if err := verify(st.CodeChallenge); err != nil {
			return nil, errPKCE(err)
		}
	}
	// The user as the sign-in found them a moment ago; a user deleted
	// since has no row for the grant to reference.
	u := st.Claims.user(st.UserID)
	now := s.opts.Now().UTC()
	g := &Grant{
		ID: randomID(grantIDLen), UserID: u.ID, AppID: app.ID, Scopes: st.Scopes,
		AuthTime: st.AuthTime, AMR: st.AMR, PasskeyUID: st.PasskeyUID, CreatedAt: now,
		// A grant without a refresh token ends with its access tokens.
		RefreshExpiresAt: now.Add(s.opts.AccessTokenTTL),
	}
	if slices.Contains(st.Scopes, shared.ScopeOfflineAccess) {
		g.RefreshGen, g.RefreshExpiresAt = 1, now.Add(s.opts.RefreshTokenTTL)
	}
	err = s.grants.CreateGrant(ctx, g)
	if errors.Is(err, ErrNotFound) {
		return nil, errGrantInvalid(errors.New("the user was deleted"))
	}
	if err != nil {
		return nil, fmt.Errorf("create grant: %w", err)
	}
	// Remembered for as long as the access tokens live: a replay within
	// that time revokes them, and the refresh token with them.
	if err := s.putChallenge(ctx, usedPrefix+key, []byte(g.ID), s.opts.AccessTokenTTL); err != nil {
		s.log.WarnContext(ctx, "could not remember a used code; its replay will only fail", "err", err)
	}
	s.log.InfoContext(ctx, "code redeemed", "user", u.UID, "app", app.ID, "grant", g.ID)
	t := s.tokens(g, u, g.Scopes)
	t.Nonce = st.Nonce
	return t, nil
}

// codeReplayed answers a code that is not (or no longer) there: if it was
// redeemed before, that redemption's grant is revoked.
func (s *Service) codeReplayed(ctx context.Context, key string) error {
	id, err := s.challenges.Peek(ctx, usedPrefix+key)
	if errors.Is(err, ErrNotFound) {
		return errGrantInvalid(errors.New("unknown or expired code"))
	}
	if err != nil {
		return fmt.Errorf("look up a used code: %w", err)
	}
	if err := s.grants.RevokeGrant(ctx, string(id), s.opts.Now().UTC()); err != nil {
		return fmt.Errorf("revoke the grant of a replayed code: %w", err)
	}
	s.log.WarnContext(ctx, "authorization code replayed: its grant is revoked", "grant", string(id))
	return errCodeReplayed()
}

func (s *Service) tokens(g *Grant, u *User, scopes []string) *Tokens {
	exp := s.opts.Now().Add(s.opts.AccessTokenTTL).Truncate(time.Second)
	t := &Tokens{Grant: g, User: u, Scopes: scopes, AccessToken: s.accessToken(g, scopes, exp), AccessExpiresAt: exp}
	if g.RefreshGen > 0 {
		t.RefreshToken = s.refreshToken(g)
	}
	return t
}

// Refresh rotates a refresh token: the one presented stops working and a
// new one comes back with a new access token. A token that was rotated
// away before is a replay (one copy is in someone else's hands): the whole
// grant is revoked, access tokens included. scopes may narrow the new
// access token, never widen it.
//
// Errors: invalid_grant, invalid_scope.
func (s *Service) Refresh(ctx context.Context, app *App, token string, scopes []string) (*Tokens, error) {
	c, err := s.readToken(token, kindRefresh)
	if err != nil {
		return nil, errGrantInvalid(err)
	}
	g, err := s.grants.Grant(ctx, c.grantID)
	if errors.Is(err, ErrNotFound) {
		return nil, errGrantInvalid(errors.New("no such grant"))
	}
	if err != nil {
		return nil, fmt.Errorf("read grant: %w", err)
	}
	now := s.opts.Now().UTC()
	switch {
	case g.AppID != app.ID:
		return nil, errGrantInvalid(fmt.Errorf("refresh token of app %q used by %q", g.AppID, app.ID))
	case !g.RevokedAt.IsZero():
		return nil, errGrantInvalid(errors.New("grant revoked"))
	case !now.Before(g.RefreshExpiresAt):
		return nil, errGrantInvalid(errors.New("refresh token expired"))
	case c.n < int64(g.RefreshGen):
		return nil, s.refreshReplayed(ctx, g)
	case c.n != int64(g.RefreshGen):
		return nil, errGrantInvalid(errors.New("refresh token from the future"))
	}
	for _, sc := range scopes {
		if !slices.Contains(g.Scopes, sc) {
			return nil, errScopeWidened()
		}
	}
	if len(scopes) == 0 {
		scopes = g.Scopes
	}
	expires := now.Add(s.opts.RefreshTokenTTL)
	err = s.grants.RotateRefresh(ctx, g.ID, g.RefreshGen, expires)
	if errors.Is(err, ErrNotFound) {
		// Another request rotated the same token first: the same token
		// was used twice.
		return nil, s.refreshReplayed(ctx, g)
	}
	if err != nil {
		return nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	g.RefreshGen++
	g.RefreshExpiresAt = expires
	u, err := s.users.UserByID(ctx, g.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errGrantInvalid(errors.New("the user was deleted"))
	}
	if err != nil {
		return nil, fmt.Errorf("grant user: %w", err)
	}
	return s.tokens(g, u, ordered(scopes)), nil
}

func (s *Service) refreshReplayed(ctx context.Context, g *Grant) error {
	if err := s.grants.RevokeGrant(ctx, g.ID, s.opts.Now().UTC()); err != nil {
		return fmt.Errorf("revoke the grant of a replayed refresh token: %w", err)
	}
	s.log.WarnContext(ctx, "refresh token replayed: its grant is revoked", "grant", g.ID, "app", g.AppID)
	return errRefreshReplayed()
}

// UserInfo reads an access token: the user it speaks for and the scopes it
// carries, while it has not expired and its grant stands.
//
// Errors: invalid_token.
func (s *Service) UserInfo(ctx context.Context, token string) (*User, []string, error) {
	c, err := s.readToken(token, kindAccess)
	if err != nil {
		return nil, nil, errBearerInvalid()
	}
	if !s.opts.Now().Before(time.Unix(c.n, 0)) {
		return nil, nil, errBearerInvalid()
	}
	g, err := s.grants.Grant(ctx, c.grantID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBearerInvalid()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read grant: %w", err)
	}
	if !g.RevokedAt.IsZero() {
		return nil, nil, errBearerInvalid()
	}
	u, err := s.users.UserByID(ctx, g.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBearerInvalid()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token user: %w", err)
	}
	return u, c.scopes, nil
}

// ConsentedApps lists the apps the person allowed, for /account. An app
// no longer configured is left out: it can sign nobody in.
func (s *Service) ConsentedApps(ctx context.Context, u *User) ([]shared.App, error) {
	if s.grants == nil {
		return []shared.App{}, nil // no apps configured, no grant store
	}
	cs, err := s.grants.Consents(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	out := []shared.App{}
	for _, c := range cs {
		if app, ok := s.App(c.AppID); ok {
			out = append(out, shared.App{ID: app.ID, Name: app.Name, Scopes: ordered(c.Scopes), GrantedAt: c.GrantedAt})
		}
	}
	return out, nil
}

// RemoveAccess forgets the person's consent to an app and revokes every
// grant the app holds for them: its refresh tokens stop working, and so
// do its access tokens. The app's next sign-in asks again.
//
// Errors: not_found (no such app).
func (s *Service) RemoveAccess(ctx context.Context, u *User, appID string) error {
	if _, ok := s.App(appID); !ok {
		return errAppNotFound()
	}
	if err := s.grants.DeleteConsent(ctx, u.ID, appID); err != nil {
		return fmt.Errorf("delete consent: %w", err)
	}
	n, err := s.grants.RevokeGrants(ctx, u.ID, appID, s.opts.Now().UTC())
	if err != nil {
		return fmt.Errorf("revoke grants: %w", err)
	}
	s.log.InfoContext(ctx, "app access removed", "user", u.UID, "app", appID, "grants_revoked", n)
	return nil
}

// SweepGrants deletes, every so often, grants that ended long enough ago
// that no token of theirs can matter.
func (s *Service) SweepGrants(ctx context.Context, every time.Duration) {
	if s.grants == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.grants.DeleteGrantsBefore(ctx, s.opts.Now().Add(-s.opts.AccessTokenTTL))
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "could not delete ended grants", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "ended grants deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
