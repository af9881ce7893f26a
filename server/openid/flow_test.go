package openid_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

func eachBackend(t *testing.T, f func(t *testing.T, s teststores.Stores)) {
	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, b.Open(t))
		})
	}
}

// The whole code flow of a confidential app: consent, code, tokens, an ID
// token a go-oidc app accepts, and userinfo; the next sign-in skips consent.
func TestCodeFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "alice")
		r := newRequest("web", webRedirect, "openid profile email")

		loc := location(t, p.get(t, r.url(in)))
		if loc.Path != shared.PageConsent {
			t.Fatalf("first sign-in went to %s, want the consent page", loc)
		}
		id := loc.Query().Get(shared.QueryAuthorize)
		info := p.authInfo(t, in, id)
		if info.App != "Web App" || !slices.Equal(info.Scopes, []string{"openid", "profile", "email"}) {
			t.Errorf("authorization info %+v", info)
		}
		next := p.consent(t, in, id, true)
		back := location(t, p.get(t, in.URL+next))
		if back.Scheme+"://"+back.Host+back.Path != webRedirect {
			t.Fatalf("resume went to %s", back)
		}
		q := back.Query()
		if q.Get("state") != r.state || q.Get("code") == "" || q.Get("iss") != in.URL {
			t.Fatalf("redirect query %v", q)
		}

		tr := redeem(t, in, "web", webSecret, r, q.Get("code"))
		if tr.Status != 200 || tr.AccessToken == "" || tr.IDToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("token response %+v", tr)
		}
		if tr.RefreshToken != "" {
			t.Error("a refresh token without offline_access")
		}
		if tr.ExpiresIn != 600 || tr.Scope != "openid profile email" {
			t.Errorf("expires_in %d, scope %q", tr.ExpiresIn, tr.Scope)
		}
		if tr.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", tr.header.Get("Cache-Control"))
		}
		tok, err := verifier(t, in, "web").Verify(context.Background(), tr.IDToken)
		if err != nil {
			t.Fatalf("go-oidc refuses the ID token: %v", err)
		}
		c := idClaims(t, tok)
		if tok.Subject != p.uid || tok.Nonce != r.nonce {
			t.Errorf("sub %q nonce %q, want %q %q", tok.Subject, tok.Nonce, p.uid, r.nonce)
		}
		if c["preferred_username"] != "alice" || c["name"] != "Person alice" || c["email"] != "alice@example.org" || c["email_verified"] != false {
			t.Errorf("profile/email claims %v", c)
		}
		if amr, _ := c["amr"].([]any); len(amr) != 2 || amr[0] != "pop" || amr[1] != "mfa" {
			t.Errorf("amr %v, want [pop mfa]", c["amr"])
		}
		if at, _ := c["auth_time"].(float64); at == 0 || int64(at) > in.Clock.Now().Unix() {
			t.Errorf("auth_time %v", c["auth_time"])
		}
		status, ui := userinfo(t, in, tr.AccessToken)
		if status != 200 || ui["sub"] != p.uid || ui["preferred_username"] != "alice" || ui["email"] != "alice@example.org" {
			t.Errorf("userinfo %d %v", status, ui)
		}

		// Consent is remembered: the next sign-in goes straight back.
		r2 := newRequest("web", webRedirect, "openid profile")
		q2 := p.signIn(t, in, r2)
		if q2.Get("code") == "" {
			t.Fatalf("second sign-in: %v", q2)
		}
		loc = location(t, p.get(t, newRequest("web", webRedirect, "openid profile").url(in)))
		if loc.Host != "rp.example" {
			t.Errorf("a remembered consent asked again: %s", loc)
		}
		// More than was consented to: asked again.
		loc = location(t, p.get(t, newRequest("web", webRedirect, "openid profile email offline_access").url(in)))
		if loc.Path != shared.PageConsent {
			t.Errorf("a wider sign-in did not ask: %s", loc)
		}
	})
}

// A first-party app never asks, and the scope list is the app's.
func TestFirstPartySkipsConsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "bob")
		r := newRequest("first", firstRedir, "openid email offline_access")
		loc := location(t, p.get(t, r.url(in)))
		if loc.Host != "first.example" || loc.Query().Get("code") == "" {
			t.Fatalf("first-party sign-in went to %s", loc)
		}
		tr := redeem(t, in, "first", firstSecret, r, loc.Query().Get("code"))
		if tr.Status != 200 || tr.RefreshToken == "" || tr.Scope != "openid email offline_access" {
			t.Fatalf("token response %+v", tr)
		}
	})
}

// Not logged in: to /login, and back after the login without starting over.
func TestLoginThenResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "carol")
		if err := p.api.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := newRequest("first", firstRedir, "openid")
		r.extra = url.Values{"login_hint": {"carol"}}
		loc := location(t, p.get(t, r.url(in)))
		if loc.Path != shared.PageLogin {
			t.Fatalf("went to %s, want /login", loc)
		}
		id := loc.Query().Get(shared.QueryAuthorize)
		if info := p.authInfo(t, in, id); info.App != "First Party" || info.LoginHint != "carol" || info.FreshLogin {
			t.Fatalf("authorization info %+v", info)
		}
		// Resuming before logging in just asks again.
		if again := location(t, p.get(t, in.URL+shared.AuthorizeResume+"?id="+id)); again.Path != shared.PageLogin {
			t.Fatalf("resume without a login went to %s", again)
		}
		p.login(t)
		back := location(t, p.get(t, in.URL+shared.AuthorizeResume+"?id="+id))
		if back.Host != "first.example" || back.Query().Get("state") != r.state {
			t.Fatalf("resume after login went to %s", back)
		}
		// The sign-in is over: its id does not work twice.
		resp := p.get(t, in.URL+shared.AuthorizeResume+"?id="+id)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a finished sign-in resumed again: %d", resp.StatusCode)
		}
	})
}

// A sign-in continues only in the browser that began it.
func TestResumeIsBoundToTheBrowser(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		victim := newPerson(t, in, "dora")
		attacker := newPerson(t, in, "mallory")
		r := newRequest("web", webRedirect, "openid")
		loc := location(t, attacker.get(t, r.url(in)))
		id := loc.Query().Get(shared.QueryAuthorize)
		attacker.consent(t, in, id, true)
		resp := victim.get(t, in.URL+shared.AuthorizeResume+"?id="+id)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("another browser resumed the sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// An unknown app, or a redirect URI the app did not register, gets
// Latchkey's page (400) and never a redirect.
func TestRedirectMismatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "erin")
		for name, r := range map[string]*authRequest{
			"unknown app":       newRequest("nobody", webRedirect, "openid"),
			"other URI":         newRequest("web", "https://evil.example/callback", "openid"),
			"prefix":            newRequest("web", webRedirect+"/more", "openid"),
			"query added":       newRequest("web", webRedirect+"?x=1", "openid"),
			"loopback confid.":  newRequest("web", "http://127.0.0.1:8000/callback", "openid"),
			"loopback path":     newRequest("native", "http://127.0.0.1:8000/other", "openid"),
			"localhost instead": newRequest("native", "http://localhost:8000/callback", "openid"),
			"another app's URI": newRequest("web", firstRedir, "openid"),
		} {
			resp, err := p.hc.Get(r.url(in))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "oidc-error") {
				t.Errorf("%s: status %d, Location %q, type %q", name, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"))
			}
		}
		// RFC 8252 §7.3: a public app's loopback URI on any port.
		r := newRequest("native", "http://127.0.0.1:51234/callback", "openid")
		loc := location(t, p.get(t, r.url(in)))
		if loc.Path != shared.PageConsent {
			t.Fatalf("loopback on another port: %s", loc)
		}
	})
}

// PKCE: S256 only; a public app must use it; a wrong or missing verifier
// fails the exchange.
func TestPKCE(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "frank")
		redirect := "http://127.0.0.1:40000/callback"

		// No challenge from a public app: the error goes back to the app.
		r := newRequest("native", redirect, "openid")
		r.verifier = ""
		loc := location(t, p.get(t, r.url(in)))
		if loc.Host != "127.0.0.1:40000" || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != r.state {
			t.Errorf("public app without PKCE: %s", loc)
		}
		// plain is refused.
		r = newRequest("native", redirect, "openid")
		r.extra = url.Values{"code_challenge": {r.verifier}, "code_challenge_method": {"plain"}}
		loc = location(t, p.get(t, r.url(in)))
		if loc.Query().Get("error") != "invalid_request" {
			t.Errorf("plain PKCE: %s", loc)
		}
		// A wrong verifier.
		r = newRequest("native", redirect, "openid")
		code := p.signIn(t, in, r).Get("code")
		good := r.verifier
		r.verifier = good + "x"
		if tr := redeem(t, in, "native", "", r, code); tr.Status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("wrong verifier: %+v", tr)
		}
		// The code is spent: even the right verifier fails now.
		r.verifier = good
		if tr := redeem(t, in, "native", "", r, code); tr.Error != "invalid_grant" {
			t.Errorf("a code tried with a wrong verifier worked again: %+v", tr)
		}
		// A missing verifier.
		r = newRequest("native", redirect, "openid")
		code = p.signIn(t, in, r).Get("code")
		r.verifier = ""
		if tr := redeem(t, in, "native", "", r, code); tr.Status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("missing verifier: %+v", tr)
		}
		// The right one works.
		r = newRequest("native", redirect, "openid")
		code = p.signIn(t, in, r).Get("code")
		if tr := redeem(t, in, "native", "", r, code); tr.Status != 200 {
			t.Errorf("right verifier: %+v", tr)
		}
		// A confidential app may use PKCE, and then it is checked.
		r = newRequest("web", webRedirect, "openid")
		code = p.signIn(t, in, r).Get("code")
		r.verifier = "not-the-verifier-0123456789-0123456789-0123"
		if tr := redeem(t, in, "web", webSecret, r, code); tr.Error != "invalid_grant" {
			t.Errorf("confidential app, wrong verifier: %+v", tr)
		}
	})
}

// Client authentication: a wrong secret, no secret, an unknown app.
func TestClientAuthentication(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "grace")
		r := newRequest("web", webRedirect, "openid")
		code := p.signIn(t, in, r).Get("code")
		for name, secret := range map[string]string{"wrong": webSecret + "x", "another app's": firstSecret} {
			if tr := redeem(t, in, "web", secret, r, code); tr.Status != 401 || tr.Error != "invalid_client" {
				t.Errorf("%s secret: %+v", name, tr)
			}
		}
		if tr := redeem(t, in, "web", "", r, code); tr.Status != 401 || tr.Error != "invalid_client" {
			t.Errorf("no secret: %+v", tr)
		}
		// The failed attempts never reached the code: it still works, by
		// client_secret_post too.
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect},
			"code_verifier": {r.verifier}, "client_id": {"web"}, "client_secret": {webSecret}}
		req, _ := http.NewRequest("POST", in.URL+shared.OIDCToken, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("client_secret_post: %d", resp.StatusCode)
		}
	})
}

// Redeeming a code twice fails, and revokes what the first redemption
// issued: its access token stops working, and its refresh token.
func TestCodeReplayRevokes(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "heidi")
		r := newRequest("first", firstRedir, "openid offline_access")
		code := p.signIn(t, in, r).Get("code")
		first := redeem(t, in, "first", firstSecret, r, code)
		if first.Status != 200 {
			t.Fatalf("first redemption: %+v", first)
		}
		if st, _ := userinfo(t, in, first.AccessToken); st != 200 {
			t.Fatalf("userinfo before the replay: %d", st)
		}
		second := redeem(t, in, "first", firstSecret, r, code)
		if second.Status != 400 || second.Error != "invalid_grant" {
			t.Fatalf("replay: %+v", second)
		}
		if st, _ := userinfo(t, in, first.AccessToken); st != 401 {
			t.Errorf("userinfo after the replay: %d, want 401", st)
		}
		if tr := refresh(t, in, "first", firstSecret, first.RefreshToken); tr.Error != "invalid_grant" {
			t.Errorf("refresh after the replay: %+v", tr)
		}
	})
}

// A code of one app is nothing to another.
func TestCodeOfAnotherApp(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "ivan")
		r := newRequest("first", firstRedir, "openid")
		code := p.signIn(t, in, r).Get("code")
		r.redirect = webRedirect
		if tr := redeem(t, in, "web", webSecret, r, code); tr.Status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("another app's code: %+v", tr)
		}
	})
}

// Codes live 60 seconds.
func TestCodeExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "judy")
		r := newRequest("first", firstRedir, "openid")
		code := p.signIn(t, in, r).Get("code")
		in.Clock.Advance(61 * time.Second)
		if tr := redeem(t, in, "first", firstSecret, r, code); tr.Status != 400 || tr.Error != "invalid_grant" {
			t.Errorf("expired code: %+v", tr)
		}
	})
}

// Each refresh rotates the token; an old one presented again revokes the
// whole family, access tokens included.
func TestRefreshRotationAndReuse(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "ken")
		r := newRequest("first", firstRedir, "openid profile offline_access")
		first := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))
		if first.RefreshToken == "" {
			t.Fatalf("no refresh token: %+v", first)
		}
		second := refresh(t, in, "first", firstSecret, first.RefreshToken)
		if second.Status != 200 || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.IDToken == "" {
			t.Fatalf("refresh: %+v", second)
		}
		if _, err := verifier(t, in, "first").Verify(context.Background(), second.IDToken); err != nil {
			t.Errorf("the refreshed ID token: %v", err)
		}
		// Narrowing works; widening does not.
		narrow := token(t, in, "first", firstSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.RefreshToken}, "scope": {"openid"}})
		if narrow.Status != 200 || narrow.Scope != "openid" {
			t.Fatalf("narrowed refresh: %+v", narrow)
		}
		if _, ui := userinfo(t, in, narrow.AccessToken); ui["preferred_username"] != nil {
			t.Errorf("a narrowed access token shows the profile: %v", ui)
		}
		wide := token(t, in, "first", firstSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {narrow.RefreshToken}, "scope": {"openid email"}})
		if wide.Error != "invalid_scope" {
			t.Errorf("widened refresh: %+v", wide)
		}
		// Replay the first token: everything of the grant ends.
		if tr := refresh(t, in, "first", firstSecret, first.RefreshToken); tr.Status != 400 || tr.Error != "invalid_grant" {
			t.Fatalf("replayed refresh token: %+v", tr)
		}
		if tr := refresh(t, in, "first", firstSecret, narrow.RefreshToken); tr.Error != "invalid_grant" {
			t.Errorf("the newest refresh token after a replay: %+v", tr)
		}
		for _, at := range []string{first.AccessToken, second.AccessToken, narrow.AccessToken} {
			if st, _ := userinfo(t, in, at); st != 401 {
				t.Errorf("an access token of a revoked family: %d", st)
			}
		}
		// Another app cannot use a refresh token either.
		r = newRequest("first", firstRedir, "openid offline_access")
		fresh := redeem(t, in, "first", firstSecret, r, p.signIn(t, in, r).Get("code"))
		if tr := refresh(t, in, "web", webSecret, fresh.RefreshToken); tr.Error != "invalid_grant" {
			t.Errorf("another app's refresh token: %+v", tr)
		}
		if tr := refresh(t, in, "first", firstSecret, fresh.RefreshToken[:len(fresh.RefreshToken)-2]+"AA"); tr.Error != "invalid_grant" {
			t.Errorf("a forged refresh token: %+v", tr)
		}
	})
}

// Nothing secret reaches the log: not a code, a token, a client secret or
// a PKCE verifier. (A sign-in's id may: it is in the consent API's path,
// and works only with the cookie of the browser that began the sign-in.)
func TestNoSecretsInLogs(t *testing.T) {
	eachBackend(t, func(t *testing.T, s teststores.Stores) {
		logs := captureLogs(t)
		in := newInstance(t, s, newClock())
		p := newPerson(t, in, "xena")
		var secrets []string
		r := newRequest("web", webRedirect, "openid profile email offline_access")
		loc := location(t, p.get(t, r.url(in)))
		id := loc.Query().Get(shared.QueryAuthorize)
		back := location(t, p.get(t, in.URL+p.consent(t, in, id, true)))
		code := back.Query().Get("code")
		tr := redeem(t, in, "web", webSecret, r, code)
		userinfo(t, in, tr.AccessToken)
		rt := refresh(t, in, "web", webSecret, tr.RefreshToken)
		refresh(t, in, "web", webSecret, tr.RefreshToken) // a replay, logged as a warning
		again := redeem(t, in, "web", webSecret, r, code) // a replay too
		redeem(t, in, "web", webSecret+"x", r, code)      // a wrong secret
		secrets = append(secrets, code, tr.AccessToken, tr.RefreshToken, tr.IDToken, rt.AccessToken, rt.RefreshToken,
			webSecret, r.verifier, challenge(r.verifier), r.nonce, r.state)
		if again.Error == "" {
			t.Fatal("the replay succeeded")
		}
		out := logs.String()
		if !strings.Contains(out, "authorization code replayed") || !strings.Contains(out, "refresh token replayed") {
			t.Fatalf("the log lacks the replays; is it captured?\n%s", out)
		}
		for i, sec := range secrets {
			if sec != "" && strings.Contains(out, sec) {
				t.Errorf("the log holds a secret %.12s… (#%d)", sec, i)
			}
		}
	})
}
