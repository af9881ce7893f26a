package openid_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/testclock"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/openid"
	"github.com/latchkey/latchkey/shared"
)

// The apps every test provider knows.
const (
	webSecret    = "web-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
	webRedirect  = "https://rp.example/callback"
	webBye       = "https://rp.example/bye"
	nativeLoop   = "http://127.0.0.1/callback"
	firstSecret  = "first-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
	firstRedir   = "https://first.example/cb"
	legacySecret = "legacy-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
	legacyRedir  = "https://legacy.example/cb"
)

func testApps(t testing.TB) []auth.App {
	t.Helper()
	apps, err := auth.CheckApps([]auth.App{
		{ID: "web", Name: "Web App", Secret: webSecret, RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webBye}},
		{ID: "native", Name: "Native App", Public: true, RedirectURIs: []string{nativeLoop}},
		{ID: "first", Name: "First Party", Secret: firstSecret, SkipConsent: true, RedirectURIs: []string{firstRedir}},
		{ID: "legacy", Name: "Legacy", Secret: legacySecret, IDTokenAlg: "RS256", RedirectURIs: []string{legacyRedir},
			Scopes: []string{"openid", "profile"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

// instance is one Latchkey with its provider, on stores it may share with
// another instance.
type instance struct {
	// URL is PUBLIC_URL (the issuer); Addr is where this instance
	// listens, on the same host name so the browser's cookies go there.
	URL   string
	Addr  string
	Auth  *auth.Service
	Clock *testclock.Clock
	srv   *httptest.Server
}

var keyEncryptionKey = []byte("0123456789abcdef0123456789abcdef-test-only")

// newInstance serves Latchkey with the provider on s. Instances given the
// same stores, clock and URL listener are the instances of one deployment.
func newInstance(t testing.TB, s teststores.Stores, clock *testclock.Clock, mutate ...func(*auth.Options)) *instance {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	return startInstance(t, s, clock, srv, origin, mutate...)
}

func startInstance(t testing.TB, s teststores.Stores, clock *testclock.Clock, srv *httptest.Server, origin string, mutate ...func(*auth.Options)) *instance {
	t.Helper()
	return startLimited(t, s, clock, srv, origin, nil, mutate...)
}

// startLimited is startInstance with rate limits other than the defaults.
func startLimited(t testing.TB, s teststores.Stores, clock *testclock.Clock, srv *httptest.Server, origin string, limits auth.Limits, mutate ...func(*auth.Options)) *instance {
	t.Helper()
	var out io.Writer = io.Discard
	if logs, ok := logSink(t); ok {
		out = logs
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	grants, ok := s.Users.(auth.GrantStore)
	if !ok {
		t.Fatalf("%T is not a GrantStore", s.Users)
	}
	opts := auth.Options{
		Origin: origin, RPID: "localhost", Logger: log, Now: clock.Now,
		Apps: testApps(t), Grants: grants, KeyEncryptionKey: keyEncryptionKey,
	}
	for _, m := range mutate {
		m(&opts)
	}
	svc, err := auth.New(s.Users, s.Challenges, s.Sessions, opts)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := openid.New(openid.Options{
		Issuer: origin, Auth: svc, Logger: log, SessionCookie: httpapi.SessionCookieName(false),
		Throttle: auth.NewThrottle(s.Limiter, limits, log),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = httpapi.New(httpapi.Options{
		Logger: log, Origin: origin, Auth: svc, Limiter: s.Limiter, RememberFor: time.Hour, Now: clock.Now, OIDC: prov,
	})
	srv.Start()
	t.Cleanup(srv.Close)
	addr := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	return &instance{URL: origin, Addr: addr, Auth: svc, Clock: clock, srv: srv}
}

func newClock() *testclock.Clock { return testclock.New(time.Now().Truncate(time.Second)) }

// person is someone with a browser (a cookie jar that does not follow
// redirects, so each hop can be looked at) and a passkey.
type person struct {
	hc   *http.Client
	api  *client.Client
	key  *passkeytest.Authenticator
	name string
	uid  string
}

func newPerson(t testing.TB, in *instance, name string) *person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	p := &person{hc: hc, api: client.NewHTTP(in.URL, hc), key: passkeytest.New(in.URL, "localhost"), name: name}
	ctx := context.Background()
	begin, err := p.api.SignupBegin(ctx, shared.SignupBeginRequest{Username: name, Email: name + "@example.org", DisplayName: "Person " + name})
	if err != nil {
		t.Fatalf("signup begin: %v", err)
	}
	cred, err := p.key.Register(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	done, err := p.api.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err != nil {
		t.Fatalf("signup finish: %v", err)
	}
	p.uid = done.User.ID
	return p
}

func (p *person) login(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	begin, err := p.api.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: p.name})
	if err != nil {
		t.Fatalf("login begin: %v", err)
	}
	cred, err := p.key.Login(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.api.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}); err != nil {
		t.Fatalf("login finish: %v", err)
	}
}

func (p *person) get(t testing.TB, u string) *http.Response {
	t.Helper()
	resp, err := p.hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// location is a redirect's target, resolved.
func location(t testing.TB, resp *http.Response) *url.URL {
	t.Helper()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s: status %d, want a redirect", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
	}
	u, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// authRequest is an app's authorization request with PKCE.
type authRequest struct {
	app, redirect, scope, state, nonce, verifier string
	extra                                        url.Values
}

func newRequest(app, redirect, scope string) *authRequest {
	return &authRequest{app: app, redirect: redirect, scope: scope, state: randomString(), nonce: randomString(), verifier: randomString() + randomString()}
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (r *authRequest) url(in *instance) string {
	q := url.Values{
		"client_id": {r.app}, "redirect_uri": {r.redirect}, "response_type": {"code"}, "scope": {r.scope},
		"state": {r.state}, "nonce": {r.nonce},
	}
	if r.verifier != "" {
		q.Set("code_challenge", challenge(r.verifier))
		q.Set("code_challenge_method", "S256")
	}
	for k, v := range r.extra {
		q[k] = v
	}
	return in.URL + shared.OIDCAuthorize + "?" + q.Encode()
}

// consent answers the consent page of sign-in id and returns where the page
// continues.
func (p *person) consent(t testing.TB, in *instance, id string, allow bool) string {
	t.Helper()
	body := `{"allow":false}`
	if allow {
		body = `{"allow":true}`
	}
	req, _ := http.NewRequest("POST", in.URL+shared.RouteConsent.With(id).Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out shared.ContinueResponse
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("consent: status %d", resp.StatusCode)
	}
	return out.Continue
}

// signIn runs an app's sign-in through to its redirect back to the app,
// consenting when asked, and returns that redirect's query.
func (p *person) signIn(t testing.TB, in *instance, r *authRequest) url.Values {
	t.Helper()
	loc := location(t, p.get(t, r.url(in)))
	if loc.Path == shared.PageConsent {
		next := p.consent(t, in, loc.Query().Get(shared.QueryAuthorize), true)
		loc = location(t, p.get(t, in.URL+next))
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != strings.Split(r.redirect, "?")[0] && !strings.HasPrefix(r.redirect, "http://127.0.0.1") {
		t.Fatalf("sign-in ended at %s, want %s", loc, r.redirect)
	}
	q := loc.Query()
	if q.Get("state") != r.state {
		t.Fatalf("state %q, want %q", q.Get("state"), r.state)
	}
	return q
}

// tokenResponse is the token endpoint's answer, success or error.
type tokenResponse struct {
	Status           int
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	header           http.Header
}

// token posts to the token endpoint as app, with its secret in HTTP Basic
// (secret "" for none).
func token(t testing.TB, in *instance, app, secret string, form url.Values) tokenResponse {
	t.Helper()
	req, _ := http.NewRequest("POST", in.URL+shared.OIDCToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(app), url.QueryEscape(secret))
	} else {
		form.Set("client_id", app)
		req.Body = io.NopCloser(strings.NewReader(form.Encode()))
		req.ContentLength = int64(len(form.Encode()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tr := tokenResponse{Status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("token endpoint: status %d, body not JSON: %v", resp.StatusCode, err)
	}
	return tr
}

func redeem(t testing.TB, in *instance, app, secret string, r *authRequest, code string) tokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.redirect}}
	if r.verifier != "" {
		form.Set("code_verifier", r.verifier)
	}
	return token(t, in, app, secret, form)
}

func refresh(t testing.TB, in *instance, app, secret, rt string) tokenResponse {
	t.Helper()
	return token(t, in, app, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// userinfo calls the userinfo endpoint; it returns the status and claims.
func userinfo(t testing.TB, in *instance, accessToken string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.URL+shared.OIDCUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// verifier checks ID tokens as an app on go-oidc would: signature against
// the JWKS found through discovery, iss, aud, exp (on the test clock).
func verifier(t testing.TB, in *instance, app string) *gooidc.IDTokenVerifier {
	t.Helper()
	prov, err := gooidc.NewProvider(context.Background(), in.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return prov.Verifier(&gooidc.Config{ClientID: app, Now: in.Clock.Now, SupportedSigningAlgs: []string{"ES256", "RS256"}})
}

func idClaims(t testing.TB, tok *gooidc.IDToken) map[string]any {
	t.Helper()
	var m map[string]any
	if err := tok.Claims(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// authInfo reads a sign-in's description as the login and consent pages do.
func (p *person) authInfo(t testing.TB, in *instance, id string) shared.AuthorizationInfo {
	t.Helper()
	resp, err := p.hc.Get(in.URL + shared.RouteAuthorization.With(id).Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info shared.AuthorizationInfo
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&info) != nil {
		t.Fatalf("authorization %s: status %d", id, resp.StatusCode)
	}
	return info
}

func (p *person) apps(t testing.TB, in *instance) []shared.App {
	t.Helper()
	var out shared.AppsResponse
	resp, err := p.hc.Get(in.URL + shared.APIApps)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("apps: status %d", resp.StatusCode)
	}
	return out.Apps
}

func (p *person) userID(t testing.TB, s teststores.Stores) int64 {
	t.Helper()
	u, err := s.Users.UserByUID(context.Background(), p.uid)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// header decodes a JWT's header, as a test reads it.
func header(t testing.TB, jwt string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func kid(t testing.TB, jwt string) string {
	k, _ := header(t, jwt)["kid"].(string)
	if k == "" {
		t.Fatal("a token without kid")
	}
	return k
}

func jwks(t testing.TB, in *instance) map[string]bool {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	getJSON(t, in.URL+shared.OIDCKeys, &set)
	out := map[string]bool{}
	for _, k := range set.Keys {
		out[k.KID] = true
	}
	return out
}

func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// str prints a JSON value the way the tests compare it: lists as [a b].
func str(v any) string {
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = str(x)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	s, _ := v.(string)
	return s
}

// logSinks lets a test read every line its instances log.
var logSinks sync.Map // testing.TB -> *syncBuffer

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func logSink(t testing.TB) (*syncBuffer, bool) {
	v, ok := logSinks.Load(t)
	if !ok {
		return nil, false
	}
	return v.(*syncBuffer), true
}

// captureLogs makes t's instances log into the returned buffer, at debug.
func captureLogs(t testing.TB) *syncBuffer {
	b := &syncBuffer{}
	logSinks.Store(t, b)
	t.Cleanup(func() { logSinks.Delete(t) })
	return b
}
