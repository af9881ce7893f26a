package openid_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// prompt=none shows no page: login_required without a session,
// consent_required without consent, a code with both.
func TestPromptNone(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "lena")
		none := func(app, redirect string) url.Values {
			r := newRequest(app, redirect, "openid")
			r.extra = url.Values{"prompt": {"none"}}
			loc := location(t, p.get(t, r.url(in)))
			if !strings.HasPrefix(loc.String(), redirect) || loc.Query().Get("state") != r.state {
				t.Fatalf("prompt=none went to %s", loc)
			}
			return loc.Query()
		}
		if q := none("web", webRedirect); q.Get("error") != "consent_required" {
			t.Errorf("without consent: %v", q)
		}
		if q := none("first", firstRedir); q.Get("code") == "" {
			t.Errorf("logged in, first party: %v", q)
		}
		if err := p.api.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		if q := none("first", firstRedir); q.Get("error") != "login_required" {
			t.Errorf("logged out: %v", q)
		}
	})
}

// prompt=login asks for the passkey again even with a session, and so does
// max_age once the login is older; the new login satisfies both.
func TestFreshLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "mike")
		r := newRequest("first", firstRedir, "openid")
		r.extra = url.Values{"prompt": {"login"}}
		loc := location(t, p.get(t, r.url(in)))
		if loc.Path != shared.PageLogin {
			t.Fatalf("prompt=login with a session went to %s", loc)
		}
		id := loc.Query().Get(shared.QueryAuthorize)
		if !p.authInfo(t, in, id).FreshLogin {
			t.Error("the login page is not told to ask for the passkey")
		}
		// The old session does not count, however often it resumes.
		if again := location(t, p.get(t, in.URL+shared.AuthorizeResume+"?id="+id)); again.Path != shared.PageLogin {
			t.Fatalf("resume with the old session went to %s", again)
		}
		in.Clock.Advance(time.Second)
		p.login(t)
		loginAt := in.Clock.Now()
		// The browser comes back a moment after the login, as a real one
		// does. (The library turns prompt=login into max_age=0 too.)
		in.Clock.Advance(time.Second)
		back := location(t, p.get(t, in.URL+shared.AuthorizeResume+"?id="+id))
		if back.Host != "first.example" {
			t.Fatalf("after the new login: %s", back)
		}
		tr := redeem(t, in, "first", firstSecret, r, back.Query().Get("code"))
		tok, err := verifier(t, in, "first").Verify(context.Background(), tr.IDToken)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			AuthTime int64 `json:"auth_time"`
		}
		_ = tok.Claims(&c)
		if c.AuthTime != loginAt.Unix() {
			t.Errorf("auth_time %d, want the new login's %d", c.AuthTime, loginAt.Unix())
		}

		// max_age: a login 10 minutes old is too old for 300 seconds.
		in.Clock.Advance(10 * time.Minute)
		r = newRequest("first", firstRedir, "openid")
		r.extra = url.Values{"max_age": {"300"}}
		if loc := location(t, p.get(t, r.url(in))); loc.Path != shared.PageLogin {
			t.Errorf("max_age exceeded went to %s", loc)
		}
		r.extra = url.Values{"max_age": {"3600"}}
		if loc := location(t, p.get(t, r.url(in))); loc.Host != "first.example" {
			t.Errorf("max_age met went to %s", loc)
		}
		// max_age=0: the login made for this sign-in meets it, however
		// long the browser takes to come back.
		r = newRequest("first", firstRedir, "openid")
		r.extra = url.Values{"max_age": {"0"}}
		loc = location(t, p.get(t, r.url(in)))
		if loc.Path != shared.PageLogin {
			t.Fatalf("max_age=0 went to %s", loc)
		}
		in.Clock.Advance(time.Second)
		p.login(t)
		in.Clock.Advance(time.Second)
		if back := location(t, p.get(t, in.URL+shared.AuthorizeResume+"?id="+loc.Query().Get(shared.QueryAuthorize))); back.Host != "first.example" {
			t.Errorf("max_age=0, after the new login: %s", back)
		}
	})
}

// Deny sends access_denied back to the app, and remembers nothing.
func TestDeny(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "nina")
		r := newRequest("web", webRedirect, "openid")
		loc := location(t, p.get(t, r.url(in)))
		next := p.consent(t, in, loc.Query().Get(shared.QueryAuthorize), false)
		back := location(t, p.get(t, in.URL+next))
		if back.Host != "rp.example" || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != r.state {
			t.Fatalf("deny went to %s", back)
		}
		if loc := location(t, p.get(t, newRequest("web", webRedirect, "openid").url(in))); loc.Path != shared.PageConsent {
			t.Errorf("after deny, the next sign-in went to %s", loc)
		}
	})
}

// RP-initiated logout.
func TestLogout(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "oscar")
		r := newRequest("web", webRedirect, "openid")
		tr := redeem(t, in, "web", webSecret, r, p.signIn(t, in, r).Get("code"))
		logout := func(q url.Values) *url.URL {
			return location(t, p.get(t, in.URL+shared.OIDCLogout+"?"+q.Encode()))
		}
		// An unregistered URI is never followed, hint or not.
		loc := logout(url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}})
		if loc.String() != in.URL+shared.PageLogout {
			t.Fatalf("unregistered post-logout URI: went to %s", loc)
		}
		if _, err := p.api.Me(context.Background()); err == nil {
			t.Fatal("a logout with a valid hint left the session")
		}
		// Without a hint: asked first, then to the registered URI.
		p.login(t)
		loc = logout(url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {webBye}, "state": {"s1"}})
		if loc.Path != shared.PageLogout || loc.Query().Get(shared.QueryLogout) == "" {
			t.Fatalf("logout without a hint went to %s, want the question", loc)
		}
		id := loc.Query().Get(shared.QueryLogout)
		if _, err := p.api.Me(context.Background()); err != nil {
			t.Fatal("asking ended the session already")
		}
		if done := location(t, p.get(t, in.URL+shared.LogoutDone+"?request="+id)); done.Path != shared.PageLogout {
			t.Fatalf("logout done before logging out went to %s", done)
		}
		if err := p.api.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		done := location(t, p.get(t, in.URL+shared.LogoutDone+"?request="+id))
		if done.String() != webBye+"?state=s1" {
			t.Fatalf("after confirming: %s", done)
		}
		// With a hint and a registered URI: at once.
		p.login(t)
		r = newRequest("web", webRedirect, "openid")
		tr = redeem(t, in, "web", webSecret, r, p.signIn(t, in, r).Get("code"))
		loc = logout(url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {webBye}, "state": {"s2"}})
		if loc.String() != webBye+"?state=s2" {
			t.Fatalf("logout with a hint went to %s", loc)
		}
		if _, err := p.api.Me(context.Background()); err == nil {
			t.Error("the session survived")
		}
		// A forged hint is no hint.
		p.login(t)
		loc = logout(url.Values{"id_token_hint": {tr.IDToken[:len(tr.IDToken)-4] + "AAAA"}, "post_logout_redirect_uri": {webBye}})
		if loc.Path != shared.PageLogout || loc.Query().Get(shared.QueryLogout) == "" {
			t.Errorf("forged hint: went to %s", loc)
		}
	})
}

// Ending everything (logout everywhere) ends the apps' access too; Remove
// access ends one app's.
func TestEndingAccess(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "pat")
		r := newRequest("web", webRedirect, "openid offline_access")
		web := redeem(t, in, "web", webSecret, r, p.signIn(t, in, r).Get("code"))
		r = newRequest("first", firstRedir, "openid offline_access")
		first := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))

		apps := p.apps(t, in)
		if len(apps) != 1 || apps[0].ID != "web" || apps[0].Name != "Web App" {
			t.Fatalf("apps %+v", apps)
		}
		req, _ := http.NewRequest("DELETE", in.URL+shared.RouteAppRemove.With("web").Path, nil)
		resp, err := p.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("remove access: %d", resp.StatusCode)
		}
		if st, _ := userinfo(t, in, web.AccessToken); st != 401 {
			t.Errorf("a removed app's access token: %d", st)
		}
		if tr := refresh(t, in, "web", webSecret, web.RefreshToken); tr.Error != "invalid_grant" {
			t.Errorf("a removed app's refresh token: %+v", tr)
		}
		if st, _ := userinfo(t, in, first.AccessToken); st != 200 {
			t.Fatalf("another app lost access: %d", st)
		}
		if len(p.apps(t, in)) != 0 {
			t.Error("the removed app is still listed")
		}

		if err := in.Auth.EndAllSessions(context.Background(), p.userID(t, s)); err != nil {
			t.Fatal(err)
		}
		if st, _ := userinfo(t, in, first.AccessToken); st != 401 {
			t.Errorf("access token after ending everything: %d", st)
		}
		if tr := refresh(t, in, "first", firstSecret, first.RefreshToken); tr.Error != "invalid_grant" {
			t.Errorf("refresh token after ending everything: %+v", tr)
		}
	})
}

// Keys rotate: a new token carries the new kid, and a token the old key
// signed verifies for as long as it lives; then the old key leaves JWKS.
func TestKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		clock := newClock()
		// A minute before the end of a 1-day rotation period.
		next := clock.Now().Truncate(24 * time.Hour).Add(24*time.Hour - time.Minute)
		clock.Advance(next.Sub(clock.Now()))
		in := newInstance(t, s, clock, func(o *auth.Options) { o.KeyRotation = 24 * time.Hour })
		p := newPerson(t, in, "rita")
		r := newRequest("first", firstRedir, "openid")
		old := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))
		clock.Advance(2 * time.Minute)
		r = newRequest("first", firstRedir, "openid")
		cur := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))
		oldKID, curKID := kid(t, old.IDToken), kid(t, cur.IDToken)
		if oldKID == curKID {
			t.Fatal("no rotation across the period's end")
		}
		v := verifier(t, in, "first")
		for _, tok := range []string{old.IDToken, cur.IDToken} {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("after rotation: %v", err)
			}
		}
		if keys := jwks(t, in); !keys[oldKID] || !keys[curKID] {
			t.Errorf("JWKS %v, want both %s and %s", keys, oldKID, curKID)
		}
		// An hour (the ID tokens' life) after the period ended, nothing
		// the old key signed is alive, and it is gone.
		clock.Advance(time.Hour)
		if keys := jwks(t, in); keys[oldKID] || !keys[curKID] {
			t.Errorf("JWKS %v an hour later, want only %s", keys, curKID)
		}
	})
}

// A client may ask for RS256 ID tokens.
func TestRS256Client(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "sam")
		r := newRequest("legacy", legacyRedir, "openid profile email")
		tr := redeem(t, in, "legacy", legacySecret, r, p.signIn(t, in, r).Get("code"))
		if alg := header(t, tr.IDToken)["alg"]; alg != "RS256" {
			t.Errorf("alg %v", alg)
		}
		if tr.Scope != "openid profile" {
			t.Errorf("scopes beyond the app's list were granted: %q", tr.Scope)
		}
		if _, err := verifier(t, in, "legacy").Verify(context.Background(), tr.IDToken); err != nil {
			t.Error(err)
		}
	})
}

// A sign-in begun on one instance finishes on another: the request, the
// consent, the code and the keys are shared.
func TestTwoInstances(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		clock := newClock()
		a := newInstance(t, s, clock)
		// b serves the same PUBLIC_URL (the issuer) from its own address,
		// as instances behind one load balancer do.
		b := startInstance(t, s, clock, httptest.NewUnstartedServer(nil), a.URL)
		p := newPerson(t, a, "tom")
		r := newRequest("web", webRedirect, "openid offline_access")
		loc := location(t, p.get(t, r.url(a)))
		id := loc.Query().Get(shared.QueryAuthorize)
		next := p.consent(t, &instance{URL: b.Addr}, id, true)
		back := location(t, p.get(t, b.Addr+next))
		code := back.Query().Get("code")
		tr := redeem(t, a, "web", webSecret, r, code)
		if tr.Status != 200 {
			t.Fatalf("code from b redeemed on a: %+v", tr)
		}
		keys := gooidc.NewRemoteKeySet(context.Background(), b.Addr+shared.OIDCKeys)
		bv := gooidc.NewVerifier(a.URL, keys, &gooidc.Config{ClientID: "web", Now: clock.Now, SupportedSigningAlgs: []string{"ES256"}})
		if _, err := bv.Verify(context.Background(), tr.IDToken); err != nil {
			t.Errorf("a's token against b's keys: %v", err)
		}
		if st, _ := userinfo(t, &instance{URL: b.Addr}, tr.AccessToken); st != 200 {
			t.Errorf("a's access token at b: %d", st)
		}
		if rt := refresh(t, &instance{URL: b.Addr}, "web", webSecret, tr.RefreshToken); rt.Status != 200 {
			t.Errorf("a's refresh token at b: %+v", rt)
		}
	})
}

// Userinfo refuses what is not a live access token of ours.
func TestUserinfoRefuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "uma")
		r := newRequest("first", firstRedir, "openid offline_access")
		tr := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))
		for name, tok := range map[string]string{
			"garbage":       "not-a-token",
			"refresh token": tr.RefreshToken,
			"ID token":      tr.IDToken,
			"forged":        tr.AccessToken[:len(tr.AccessToken)-2] + "AA",
		} {
			if st, _ := userinfo(t, in, tok); st != 401 {
				t.Errorf("%s: %d", name, st)
			}
		}
		in.Clock.Advance(11 * time.Minute)
		if st, _ := userinfo(t, in, tr.AccessToken); st != 401 {
			t.Errorf("expired access token: %d", st)
		}
	})
}

// The discovery document advertises what works and nothing else.
func TestDiscovery(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		var d map[string]any
		getJSON(t, in.URL+shared.OIDCDiscovery, &d)
		want := map[string]string{
			"issuer": in.URL, "authorization_endpoint": in.URL + shared.OIDCAuthorize, "token_endpoint": in.URL + shared.OIDCToken,
			"userinfo_endpoint": in.URL + shared.OIDCUserinfo, "jwks_uri": in.URL + shared.OIDCKeys, "end_session_endpoint": in.URL + shared.OIDCLogout,
			"response_types_supported": "[code]", "code_challenge_methods_supported": "[S256]",
			"grant_types_supported": "[authorization_code refresh_token]", "id_token_signing_alg_values_supported": "[ES256 RS256]",
			"scopes_supported": "[openid profile email offline_access]",
		}
		for k, v := range want {
			if got := str(d[k]); got != v {
				t.Errorf("%s = %s, want %s", k, got, v)
			}
		}
		for _, k := range []string{"device_authorization_endpoint", "introspection_endpoint", "revocation_endpoint", "registration_endpoint"} {
			if _, ok := d[k]; ok {
				t.Errorf("%s advertised", k)
			}
		}
		// The library's own health probe is not ours.
		resp, err := http.Get(in.URL + "/oauth2/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("/oauth2/healthz: %d", resp.StatusCode)
		}
	})
}

// Deleting a passkey revokes what apps were given on the strength of a
// login with it, and nothing else.
func TestDeletingAPasskeyRevokesItsGrants(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		ctx := context.Background()
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "vera")
		r := newRequest("first", firstRedir, "openid offline_access")
		byFirst := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))

		// A second passkey on another device, and a sign-in with a login
		// by it.
		phone := *p
		phone.key = passkeytest.New(in.URL, "localhost")
		begin, err := p.api.PasskeyBegin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := phone.key.Register(begin.Options)
		if err != nil {
			t.Fatal(err)
		}
		second, err := p.api.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
		if err != nil {
			t.Fatal(err)
		}
		list, err := p.api.Passkeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		firstKey := list.Passkeys[0].ID
		if firstKey == second.Passkey.ID {
			firstKey = list.Passkeys[1].ID
		}
		in.Clock.Advance(time.Second)
		phone.login(t)
		r = newRequest("first", firstRedir, "openid offline_access")
		bySecond := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))

		if err := p.api.DeletePasskey(ctx, firstKey); err != nil {
			t.Fatal(err)
		}
		if st, _ := userinfo(t, in, byFirst.AccessToken); st != 401 {
			t.Errorf("the deleted passkey's grant: userinfo %d", st)
		}
		if tr := refresh(t, in, "first", firstSecret, byFirst.RefreshToken); tr.Error != "invalid_grant" {
			t.Errorf("the deleted passkey's refresh token: %+v", tr)
		}
		if st, _ := userinfo(t, in, bySecond.AccessToken); st != 200 {
			t.Errorf("the other passkey's grant: userinfo %d", st)
		}
	})
}

// Authorization requests are limited per address, token requests per
// app; both answer 429, a page for the person and an OAuth error for the
// app's server.
func TestRateLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		srv := httptest.NewUnstartedServer(nil)
		origin := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
		in := startLimited(t, s, newClock(), srv, origin, auth.Limits{
			auth.LimitAuthorizeIP: {Events: 3, Per: time.Hour, Burst: 3},
			auth.LimitTokenApp:    {Events: 2, Per: time.Hour, Burst: 2},
		})
		p := newPerson(t, in, "walt")
		var codes []string
		var reqs []*authRequest
		for range 3 {
			r := newRequest("first", firstRedir, "openid")
			codes = append(codes, p.signIn(t, in, r).Get("code"))
			reqs = append(reqs, r)
		}
		resp := p.get(t, newRequest("first", firstRedir, "openid").url(in))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Location") != "" {
			t.Errorf("fourth authorization: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		for i := range 2 {
			if tr := redeem(t, in, "first", firstSecret, reqs[i], codes[i]); tr.Status != 200 {
				t.Fatalf("redemption %d: %+v", i, tr)
			}
		}
		tr := redeem(t, in, "first", firstSecret, reqs[2], codes[2])
		if tr.Status != http.StatusTooManyRequests || tr.Error != "temporarily_unavailable" {
			t.Errorf("third token request: %+v", tr)
		}
		// Another app has its own allowance; a wrong secret is not counted.
		for range 3 {
			redeem(t, in, "web", "wrong-"+webSecret, reqs[0], "x")
		}
		if tr := redeem(t, in, "web", webSecret, reqs[0], "not-a-code"); tr.Error != "invalid_grant" {
			t.Errorf("another app after the first's limit: %+v", tr)
		}
	})
}
