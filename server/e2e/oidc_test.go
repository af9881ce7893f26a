package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/server/internal/testenv"
)

// Sign in with Latchkey, as a person sees it: a relying party written the
// way a Go application would be (go-oidc and x/oauth2, state, nonce and
// PKCE S256) sends a real Chromium to Latchkey, which signs the person up
// with a passkey, asks for consent and sends them back; the RP verifies
// the ID token and reads userinfo. Then: a second sign-in without consent,
// prompt=none with and without a session, prompt=login, Deny, Remove
// access, and RP-initiated logout with and without id_token_hint.
func TestOIDCInTheBrowser(t *testing.T) {
	t.Parallel()
	oidcInTheBrowser(t, nil)
}

// The same on the production deployment's stores: a sign-in's state and
// codes live in Redis, consents and keys in Postgres.
func TestOIDCInTheBrowserOnPostgresAndRedis(t *testing.T) {
	t.Parallel()
	_, prefix := testenv.Redis(t)
	oidcInTheBrowser(t, map[string]string{
		"DATABASE_URL": testenv.Postgres(t),
		"REDIS_URL":    testenv.RedisURL(),
		"REDIS_PREFIX": prefix,
	})
}

func oidcInTheBrowser(t *testing.T, env map[string]string) {
	rp := newRelyingParty(t)
	vars := map[string]string{
		"OIDC_CLIENTS_FILE":       rp.clientsFile(t),
		"OIDC_KEY_ENCRYPTION_KEY": "e2e-key-encryption-key-0123456789abcdef",
	}
	for k, v := range env {
		vars[k] = v
	}
	in := start(t, vars)
	rp.start(t, in.URL)
	page := newBrowser(t)
	authID := page.authenticator(true)
	// Each step goes on from where the last left the person; after a
	// failure the rest would only wait out their timeouts.
	step := func(name string, f func(t *testing.T)) {
		if !t.Failed() {
			t.Run(name, f)
		}
	}

	step("sign up through the app, consent, and the app verifies who it is", func(t *testing.T) {
		b := page.on(t)
		mark := rp.mark()
		b.do(60*time.Second,
			chromedp.Navigate(rp.url+"/start"),
			waitText("#login-app", rpName),
		)
		if got := eval[string](b, `location.origin + location.pathname`); got != in.URL+"/login" {
			t.Errorf("the app's sign-in went to %s, want Latchkey's /login", got)
		}
		b.do(60*time.Second,
			chromedp.Click(chromedp.CSS("#login-signup")),
			waitText("h1", "Create your account to continue to "+rpName),
			typeInto("#username", "alice"),
			typeInto("#email", "alice@example.com"),
			typeInto("#display_name", "Alice Liddell"),
			chromedp.Click(chromedp.CSS("#signup-submit")),
			waitText("#consent-app", rpName),
			waitText("#consent-user", "alice"),
		)
		b.screenshot("oidc-consent")
		lines := eval[[]string](b, `[...document.querySelectorAll("#consent-scopes li")].map(li => li.innerText)`)
		if strings.Join(lines, "|") != "Your username and display name|Your email address" {
			t.Errorf("consent lines %q", lines)
		}
		b.do(60*time.Second, chromedp.Click(chromedp.CSS("#consent-allow")), rp.landed(mark))
		got := rp.outcome(t, mark)
		if got.Username != "alice" || got.Name != "Alice Liddell" || got.Email != "alice@example.com" || got.EmailVerified {
			t.Errorf("the ID token says %+v", got)
		}
		if got.UserinfoSub != got.Subject || got.UserinfoUsername != "alice" || got.Subject == "" || got.Subject == "alice" {
			t.Errorf("sub %q, userinfo %q %q", got.Subject, got.UserinfoSub, got.UserinfoUsername)
		}
		if strings.Join(got.AMR, " ") != "pop mfa" {
			t.Errorf("amr %v after a passkey sign-up with user verification", got.AMR)
		}
		if onPage := shown(b, "#rp-user"); onPage != "alice" {
			t.Errorf("the app's page shows %q", onPage)
		}
	})

	step("a second sign-in skips consent", func(t *testing.T) {
		b := page.on(t)
		mark, since := rp.mark(), b.lastEntry()
		b.do(60*time.Second, chromedp.Navigate(rp.url+"/start"), rp.landed(mark))
		if got := rp.outcome(t, mark); got.Username != "alice" {
			t.Errorf("signed in as %+v", got)
		}
		b.onlyAt(rp.url, since)
	})

	step("account lists the app", func(t *testing.T) {
		b := page.on(t)
		b.do(60*time.Second,
			chromedp.Navigate(in.URL+"/account"),
			waitText("#account-username", "alice"),
			waitText("#apps", rpName),
			waitText("#apps", "Your username and display name · Your email address"),
		)
	})

	step("prompt=none with a session, then without", func(t *testing.T) {
		b := page.on(t)
		mark, since := rp.mark(), b.lastEntry()
		b.do(60*time.Second, chromedp.Navigate(rp.url+"/start?prompt=none"), rp.landed(mark))
		if got := rp.outcome(t, mark); got.Username != "alice" {
			t.Errorf("prompt=none with a session: %+v", got)
		}
		b.onlyAt(rp.url, since)

		b.do(60*time.Second, chromedp.Navigate(in.URL+"/account"), waitText("#account-username", "alice"))
		logOut(b)
		mark, since = rp.mark(), b.lastEntry()
		b.do(60*time.Second, chromedp.Navigate(rp.url+"/start?prompt=none"), rp.landed(mark))
		if got := rp.outcome(t, mark); got.Error != "login_required" || got.Username != "" {
			t.Errorf("prompt=none without a session: %+v", got)
		}
		if onPage := shown(b, "#rp-error"); onPage != "login_required" {
			t.Errorf("the app's page shows %q", onPage)
		}
		b.onlyAt(rp.url, since)
	})

	step("not logged in: the login comes back to the app", func(t *testing.T) {
		b := page.on(t)
		mark := rp.mark()
		b.do(60*time.Second,
			chromedp.Navigate(rp.url+"/start"),
			waitText("#login-app", rpName),
			waitText("#login-hello", "Hello, alice"),
			chromedp.Click(chromedp.CSS("#login-device")),
			rp.landed(mark),
		)
		if got := rp.outcome(t, mark); got.Username != "alice" {
			t.Errorf("signed in as %+v", got)
		}
	})

	step("prompt=login asks for the passkey again", func(t *testing.T) {
		b := page.on(t)
		mark := rp.mark()
		b.do(60*time.Second,
			chromedp.Navigate(rp.url+"/start?prompt=login"),
			waitText("#login-app", rpName),
			waitText("#login-hello", "Hello, alice"),
		)
		// The session exists, yet the page stays: it waits for the passkey.
		if got := eval[string](b, `location.origin + location.pathname`); got != in.URL+"/login" {
			t.Fatalf("prompt=login is at %s", got)
		}
		// auth_time has a resolution of a second: the new login is in a
		// later second than any before.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		clicked := time.Now().Unix()
		b.do(60*time.Second, chromedp.Click(chromedp.CSS("#login-device")), rp.landed(mark))
		got := rp.outcome(t, mark)
		if got.Username != "alice" {
			t.Errorf("signed in as %+v", got)
		}
		if got.AuthTime < clicked {
			t.Errorf("auth_time %d is older than the passkey prompt (%d): no fresh login", got.AuthTime, clicked)
		}
	})

	step("deny sends access_denied to the app", func(t *testing.T) {
		b := page.on(t)
		mark := rp.mark()
		// offline_access was never allowed: consent is asked again.
		b.do(60*time.Second,
			chromedp.Navigate(rp.url+"/start?scope=offline_access"),
			waitText("#consent-app", rpName),
			waitText("#consent-scopes", "Stay signed in"),
			chromedp.Click(chromedp.CSS("#consent-deny")),
			rp.landed(mark),
		)
		if got := rp.outcome(t, mark); got.Error != "access_denied" || got.Username != "" {
			t.Errorf("after Deny: %+v", got)
		}
		if onPage := shown(b, "#rp-error"); onPage != "access_denied" {
			t.Errorf("the app's page shows %q", onPage)
		}
	})

	step("remove access forgets the consent", func(t *testing.T) {
		b := page.on(t)
		b.do(60*time.Second,
			chromedp.Navigate(in.URL+"/account"),
			waitText("#apps", rpName),
			chromedp.Click(chromedp.CSS("#app-remove-"+rpID)),
			waitText("#toast", "Access removed: "+rpName),
			chromedp.WaitVisible(chromedp.CSS("#apps-none")),
		)
		mark := rp.mark()
		b.do(60*time.Second,
			chromedp.Navigate(rp.url+"/start"),
			waitText("#consent-app", rpName),
			chromedp.Click(chromedp.CSS("#consent-allow")),
			rp.landed(mark),
		)
		if got := rp.outcome(t, mark); got.Username != "alice" {
			t.Errorf("signed in as %+v", got)
		}
	})

	step("logout from the app with id_token_hint ends the session at once", func(t *testing.T) {
		b := page.on(t)
		if n := sessionsOf(t, in, "alice"); n != 1 {
			t.Fatalf("alice has %d sessions before the app's logout", n)
		}
		since := b.lastEntry()
		b.do(60*time.Second,
			chromedp.Navigate(rp.url+"/logout"),
			waitText("#rp-bye", "Signed out of the RP"),
		)
		b.onlyAt(rp.url, since)
		// Ended on the server, not only forgotten by the browser.
		if n := sessionsOf(t, in, "alice"); n != 0 {
			t.Errorf("alice has %d sessions after the app's logout", n)
		}
		b.do(60*time.Second,
			chromedp.Navigate(in.URL+"/account"),
			waitText("#login-hello", "Hello, alice"),
		)
		if got := eval[string](b, `location.pathname + location.search`); got != "/login?next=%2Faccount" {
			t.Errorf("/account after the app's logout is at %s", got)
		}
	})

	step("logout from the app without a hint asks first", func(t *testing.T) {
		b := page.on(t)
		b.do(60*time.Second,
			chromedp.Click(chromedp.CSS("#login-device")),
			waitText("#account-username", "alice"),
			chromedp.Navigate(rp.url+"/logout?hint=none"),
			waitText("#logout-app", rpName+" asked to log you out."),
			waitText("h1", "Log out of Latchkey?"),
		)
		b.screenshot("oidc-logout-question")
		b.do(60*time.Second,
			chromedp.Click(chromedp.CSS("#logout-confirm")),
			waitText("#rp-bye", "Signed out of the RP"),
			chromedp.Navigate(in.URL+"/account"),
			waitText("#login-hello", "Hello, alice"),
		)
	})

	if n := len(page.storedCredentials(authID)); n != 1 {
		t.Errorf("the authenticator holds %d passkeys", n)
	}
	// A fresh browser's first /login asks whom it remembers: nobody, 404.
	if p := page.Problems("/api/login/remembered"); len(p) > 0 {
		t.Errorf("the pages logged problems: %v", p)
	}
}

// shown is the text of the element matching sel on the page as it is, ""
// when there is none: the page has loaded, there is nothing to wait for.
func shown(b *browser, sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel))
}

// sessionsOf counts the sessions of a user in the instance's store.
func sessionsOf(t *testing.T, in *instance, username string) int {
	t.Helper()
	ctx := context.Background()
	u, err := in.Users.UserByUsername(ctx, username)
	if err != nil {
		t.Fatal(err)
	}
	all, err := in.Sessions.ListByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// The relying party's client as the clients file declares it.
const (
	rpID     = "rp"
	rpName   = "Test RP"
	rpSecret = "rp-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
)

// relyingParty is an application that signs people in with Latchkey,
// written as a Go service would be with go-oidc and x/oauth2. It keeps
// each sign-in's state, nonce and PKCE verifier on its side, keyed by
// state, and records what each callback ended with for the test.
type relyingParty struct {
	srv *httptest.Server
	url string

	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	conf       oauth2.Config
	endSession string

	mu       sync.Mutex
	pending  map[string]rpPending // by state
	outcomes []rpOutcome          // one per callback
	idToken  string               // the last one, for id_token_hint
	logouts  map[string]bool      // states of logouts under way
}

type rpPending struct{ nonce, verifier string }

// rpOutcome is what one callback ended with: the claims the app read, or
// the error the provider sent, or Failure when the app refused something.
type rpOutcome struct {
	Username, Name, Email, Subject string
	EmailVerified                  bool
	AuthTime                       int64
	AMR                            []string
	UserinfoUsername, UserinfoSub  string
	Error, ErrorDescription        string
	Failure                        string
}

// newRelyingParty holds a port on 127.0.0.1 (another site than
// localhost's Latchkey) so that the clients file can name it; start serves.
func newRelyingParty(t *testing.T) *relyingParty {
	rp := &relyingParty{pending: map[string]rpPending{}, logouts: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", rp.startSignIn)
	mux.HandleFunc("GET /callback", rp.callback)
	mux.HandleFunc("GET /logout", rp.logout)
	mux.HandleFunc("GET /bye", rp.bye)
	rp.srv = httptest.NewUnstartedServer(mux)
	rp.url = "http://" + rp.srv.Listener.Addr().String()
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *relyingParty) clientsFile(t *testing.T) string {
	data, err := json.Marshal([]map[string]any{{
		"id": rpID, "name": rpName, "secret": rpSecret,
		"redirect_uris":             []string{rp.url + "/callback"},
		"post_logout_redirect_uris": []string{rp.url + "/bye"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start discovers the provider at issuer, as the app does when it starts.
func (rp *relyingParty) start(t *testing.T, issuer string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&extra); err != nil || extra.EndSession == "" {
		t.Fatalf("discovery names no end_session_endpoint: %v", err)
	}
	rp.provider, rp.endSession = provider, extra.EndSession
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: rpID})
	rp.conf = oauth2.Config{
		ClientID:     rpID,
		ClientSecret: rpSecret,
		RedirectURL:  rp.url + "/callback",
		Endpoint:     provider.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
	rp.srv.Start()
}

func randomState() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startSignIn sends the browser to the provider; ?prompt= is passed on and
// ?scope= asks for one more scope.
func (rp *relyingParty) startSignIn(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomState(), randomState(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = rpPending{nonce: nonce, verifier: verifier}
	rp.mu.Unlock()
	conf := rp.conf
	if s := r.URL.Query().Get("scope"); s != "" {
		conf.Scopes = append(conf.Scopes[:len(conf.Scopes):len(conf.Scopes)], s)
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if p := r.URL.Query().Get("prompt"); p != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	http.Redirect(w, r, conf.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback checks state, redeems the code with the PKCE verifier, verifies
// the ID token (signature against the JWKS, iss, aud, exp) and its nonce,
// and reads userinfo; or takes the error the provider sent.
func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rp.mu.Lock()
	p, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	var out rpOutcome
	switch {
	case !ok:
		out.Failure = "unknown state"
	case q.Get("error") != "":
		out.Error, out.ErrorDescription = q.Get("error"), q.Get("error_description")
	default:
		if err := rp.signIn(r.Context(), q.Get("code"), p, &out); err != nil {
			out = rpOutcome{Failure: err.Error()}
		}
	}
	rp.mu.Lock()
	rp.outcomes = append(rp.outcomes, out)
	n := len(rp.outcomes)
	rp.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	rpPage.Execute(w, struct {
		N int
		rpOutcome
	}{n, out})
}

func (rp *relyingParty) signIn(ctx context.Context, code string, p rpPending, out *rpOutcome) error {
	tok, err := rp.conf.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		return fmt.Errorf("exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return fmt.Errorf("ID token: %w", err)
	}
	if idToken.Nonce != p.nonce {
		return fmt.Errorf("nonce %q, want %q", idToken.Nonce, p.nonce)
	}
	var claims struct {
		Username string   `json:"preferred_username"`
		Name     string   `json:"name"`
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return fmt.Errorf("ID token claims: %w", err)
	}
	info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	var infoClaims struct {
		Username string `json:"preferred_username"`
	}
	if err := info.Claims(&infoClaims); err != nil {
		return fmt.Errorf("userinfo claims: %w", err)
	}
	*out = rpOutcome{
		Username: claims.Username, Name: claims.Name, Email: claims.Email, Subject: idToken.Subject,
		EmailVerified: claims.Verified, AuthTime: claims.AuthTime, AMR: claims.AMR,
		UserinfoUsername: infoClaims.Username, UserinfoSub: info.Subject,
	}
	rp.mu.Lock()
	rp.idToken = raw
	rp.mu.Unlock()
	return nil
}

// logout sends the browser to the provider's end_session_endpoint with the
// last ID token as id_token_hint, or with ?hint=none only the client id.
func (rp *relyingParty) logout(w http.ResponseWriter, r *http.Request) {
	state := randomState()
	rp.mu.Lock()
	rp.logouts[state] = true
	q := url.Values{"post_logout_redirect_uri": {rp.url + "/bye"}, "state": {state}}
	if r.URL.Query().Get("hint") == "none" {
		q.Set("client_id", rpID)
	} else {
		q.Set("id_token_hint", rp.idToken)
	}
	rp.mu.Unlock()
	http.Redirect(w, r, rp.endSession+"?"+q.Encode(), http.StatusFound)
}

func (rp *relyingParty) bye(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	ok := rp.logouts[r.URL.Query().Get("state")]
	delete(rp.logouts, r.URL.Query().Get("state"))
	rp.mu.Unlock()
	msg := "Signed out of the RP"
	if !ok {
		msg = "A logout this app did not start (state " + r.URL.Query().Get("state") + ")"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	byePage.Execute(w, msg)
}

// The RP's pages: a data: icon keeps the browser from asking for a
// favicon the RP does not serve.
var (
	rpPage = template.Must(template.New("rp").Parse(`<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>RP</title></head>
<body><main id="rp-result" data-n="{{.N}}">
{{if .Failure}}<p id="rp-failure">{{.Failure}}</p>{{end}}
{{if .Error}}<p id="rp-error">{{.Error}}</p><p id="rp-error-description">{{.ErrorDescription}}</p>{{end}}
{{if .Username}}<p>Signed in as <span id="rp-user">{{.Username}}</span> (<span id="rp-email">{{.Email}}</span>)</p>{{end}}
</main></body></html>`))
	byePage = template.Must(template.New("bye").Parse(`<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>RP</title></head>
<body><p id="rp-bye">{{.}}</p></body></html>`))
)

// mark is the number of callbacks so far; landed and outcome take the
// next one.
func (rp *relyingParty) mark() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return len(rp.outcomes)
}

// landed waits until the tab shows a callback page newer than mark.
func (rp *relyingParty) landed(mark int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			n, err := chromedp.Evaluate[int](`location.origin === `+jsString(rp.url)+` && document.querySelector("#rp-result") ? +document.querySelector("#rp-result").dataset.n : 0`)(ctx, t)
			if err == nil && n > mark {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting to land on the app's callback: %w", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// outcome returns the callback after mark, failing the test when the app
// refused what it got.
func (rp *relyingParty) outcome(t *testing.T, mark int) rpOutcome {
	t.Helper()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.outcomes) != mark+1 {
		t.Fatalf("%d callbacks since the mark, want 1", len(rp.outcomes)-mark)
	}
	out := rp.outcomes[mark]
	if out.Failure != "" {
		t.Fatalf("the app refused the sign-in: %s", out.Failure)
	}
	return out
}

// lastEntry is the id of the tab's current history entry.
func (b *browser) lastEntry() int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		b.fail(err)
	}
	return h.Entries[h.CurrentIndex].ID
}

// onlyAt checks that every page the tab showed after entry since was on
// origin: redirects leave no history entry, pages do, so a Latchkey page
// in between (a consent or logout question) shows here.
func (b *browser) onlyAt(origin string, since int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		b.fail(err)
	}
	for _, e := range h.Entries {
		if e.ID > since && !strings.HasPrefix(e.URL, origin+"/") {
			b.t.Errorf("the tab showed %s on the way", e.URL)
		}
	}
}
