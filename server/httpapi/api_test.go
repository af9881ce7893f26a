package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/store/storetest"
	"github.com/latchkey/latchkey/shared"
)

// api is a Latchkey API on real stores, served over real HTTP.
type api struct {
	URL   string
	Users storetest.Users
	Auth  *auth.Service
	srv   *httptest.Server
}

type stores = teststores.Stores

var allStores = []func(testing.TB) stores{teststores.SQLite, teststores.PostgresRedis}

// newAPI serves the API on a free port. The origin is http://localhost:PORT
// unless secure, in which case cookies are built as for an https origin.
func newAPI(t testing.TB, s stores) *api { return newAPIWith(t, s) }

// newAPIWith is newAPI with changes to the domain's options (a mailer, a
// clock).
func newAPIWith(t testing.TB, s stores, mutate ...func(*auth.Options)) *api {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := auth.Options{Origin: origin, RPID: "localhost", Logger: log}
	for _, m := range mutate {
		m(&opts)
	}
	svc, err := auth.New(s.Users, s.Challenges, s.Sessions, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = httpapi.New(httpapi.Options{
		Logger: log, Origin: origin, Auth: svc, Limiter: s.Limiter, RememberFor: 400 * 24 * time.Hour, Now: opts.Now,
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return &api{URL: origin, Users: s.Users, Auth: svc, srv: srv}
}

// post sends a raw JSON body and returns the status and decoded error code.
func post(t *testing.T, hc *http.Client, u, contentType, body string) (int, shared.ErrorBody, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb shared.ErrorBody
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &eb)
	return resp.StatusCode, eb, resp
}

func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// signUp runs a sign-up through the Go client with a software authenticator.
func signUp(t testing.TB, c *client.Client, key *passkeytest.Authenticator, username, email string) *shared.UserResponse {
	t.Helper()
	ctx := context.Background()
	begin, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: username, Email: email})
	if err != nil {
		t.Fatalf("signup begin: %v", err)
	}
	cred, err := key.Register(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err != nil {
		t.Fatalf("signup finish: %v", err)
	}
	return done
}

// login runs a login by name ("" for a discoverable login) through the Go
// client.
func login(t testing.TB, c *client.Client, key *passkeytest.Authenticator, name string) *shared.UserResponse {
	t.Helper()
	ctx := context.Background()
	begin, err := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
	if err != nil {
		t.Fatalf("login begin: %v", err)
	}
	cred, err := key.Login(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err != nil {
		t.Fatalf("login finish: %v", err)
	}
	return done
}

func TestSignupAPI(t *testing.T) {
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPI(t, s)
			t.Run("signs up, answers 201 and sets the session and remembered-user cookies", func(t *testing.T) {
				hc := newJarClient()
				key := passkeytest.New(a.URL, "localhost")
				c := client.NewHTTP(a.URL, hc)
				begin, err := c.SignupBegin(context.Background(), shared.SignupBeginRequest{Username: "alice", Email: "alice@example.com"})
				if err != nil {
					t.Fatal(err)
				}
				var opts map[string]any
				if err := json.Unmarshal(begin.Options, &opts); err != nil || opts["challenge"] == nil || opts["publicKey"] != nil {
					t.Fatalf("options must be the inner publicKey object: %s", begin.Options)
				}
				cred, _ := key.Register(begin.Options)
				body, _ := json.Marshal(shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: "Laptop"})
				status, eb, resp := post(t, hc, a.URL+shared.APISignupFinish, "application/json", string(body))
				if status != http.StatusCreated {
					t.Fatalf("finish: %d %+v", status, eb)
				}
				cookies := map[string]*http.Cookie{}
				for _, ck := range resp.Cookies() {
					cookies[ck.Name] = ck
				}
				sess, remember := cookies["latchkey_session"], cookies["latchkey_user"]
				if sess == nil || remember == nil {
					t.Fatalf("cookies %v", resp.Cookies())
				}
				for _, ck := range []*http.Cookie{sess, remember} {
					if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
						t.Errorf("cookie %s: %+v", ck.Name, ck)
					}
				}
				u, _ := a.Users.UserByUsername(context.Background(), "alice")
				if remember.Value != u.UID || strings.Contains(remember.Value, "alice") {
					t.Errorf("remembered-user cookie %q should be the opaque uid %q", remember.Value, u.UID)
				}
				me, err := c.Me(context.Background())
				if err != nil || me.User.Username != "alice" || me.User.Email != "alice@example.com" {
					t.Fatalf("me: %+v %v", me, err)
				}
			})

			t.Run("answers 409 for a taken username or email in any case", func(t *testing.T) {
				hc := newJarClient()
				for body, code := range map[string]string{
					`{"username":"ALICE","email":"x@example.com"}`:      shared.CodeUsernameTaken,
					`{"username":"alice2","email":"Alice@Example.com"}`: shared.CodeEmailTaken,
				} {
					status, eb, _ := post(t, hc, a.URL+shared.APISignupBegin, "application/json", body)
					if status != http.StatusConflict || eb.Error.Code != code || eb.Error.Message == "" {
						t.Errorf("%s: %d %+v", body, status, eb)
					}
				}
			})

			t.Run("answers 400 invalid_input naming the field", func(t *testing.T) {
				status, eb, _ := post(t, newJarClient(), a.URL+shared.APISignupBegin, "application/json", `{"username":"x","email":"x@example.com"}`)
				if status != 400 || eb.Error.Code != shared.CodeInvalidInput || eb.Error.Field != "username" {
					t.Errorf("%d %+v", status, eb)
				}
			})

			t.Run("answers 400 for unknown fields and malformed JSON, never 500", func(t *testing.T) {
				for _, body := range []string{`{"username":"a","email":"b","admin":true}`, `{"username":`, `[]`, `"x"`, ``, `{"username":1}`, `null`} {
					status, eb, _ := post(t, newJarClient(), a.URL+shared.APISignupBegin, "application/json", body)
					if status != 400 || eb.Error.Code != shared.CodeInvalidInput {
						t.Errorf("%q: %d %+v", body, status, eb)
					}
				}
			})

			t.Run("answers 415 for a body that is not JSON and 413 for an oversized one", func(t *testing.T) {
				status, eb, _ := post(t, newJarClient(), a.URL+shared.APISignupBegin, "text/plain", `username=alice`)
				if status != http.StatusUnsupportedMediaType || eb.Error.Code != shared.CodeUnsupportedMedia {
					t.Errorf("text/plain: %d %+v", status, eb)
				}
				big := `{"username":"` + strings.Repeat("a", 100<<10) + `","email":"a@example.com"}`
				status, eb, _ = post(t, newJarClient(), a.URL+shared.APISignupBegin, "application/json", big)
				if status != http.StatusRequestEntityTooLarge || eb.Error.Code != shared.CodeBodyTooLarge {
					t.Errorf("oversized: %d %+v", status, eb)
				}
			})

			t.Run("answers 400 ceremony_invalid for an unknown or replayed ceremony", func(t *testing.T) {
				status, eb, _ := post(t, newJarClient(), a.URL+shared.APISignupFinish, "application/json", `{"ceremony":"nope","credential":{}}`)
				if status != 400 || eb.Error.Code != shared.CodeCeremonyInvalid {
					t.Errorf("%d %+v", status, eb)
				}
			})

			t.Run("answers 400 credential_rejected without verification detail", func(t *testing.T) {
				c := client.NewHTTP(a.URL, nil)
				begin, err := c.SignupBegin(context.Background(), shared.SignupBeginRequest{Username: "mallory", Email: "m@example.com"})
				if err != nil {
					t.Fatal(err)
				}
				cred, _ := passkeytest.New("https://evil.test", "localhost").Register(begin.Options)
				_, err = c.SignupFinish(context.Background(), shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
				e, ok := client.APIError(err)
				if !ok || e.Status != 400 || e.Code != shared.CodeCredentialRejected || strings.Contains(strings.ToLower(e.Message), "origin") {
					t.Errorf("got %v", err)
				}
			})

			t.Run("refuses a cross-site sign-up from a browser", func(t *testing.T) {
				req, _ := http.NewRequest("POST", a.URL+shared.APISignupBegin, bytes.NewReader([]byte(`{"username":"eve","email":"eve@example.com"}`)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				req.Header.Set("Origin", "https://evil.test")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("cross-site POST: %d", resp.StatusCode)
				}
			})

			t.Run("rate limits sign-up attempts per account", func(t *testing.T) {
				hc := newJarClient()
				var last int
				var resp *http.Response
				for i := 0; i < 8; i++ {
					last, _, resp = post(t, hc, a.URL+shared.APISignupBegin, "application/json", `{"username":"limited","email":"limited@example.com"}`)
				}
				if last != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
					t.Errorf("8th attempt: %d (Retry-After %q)", last, resp.Header.Get("Retry-After"))
				}
			})

			t.Run("logout destroys the session on the server", func(t *testing.T) {
				hc := newJarClient()
				c := client.NewHTTP(a.URL, hc)
				signUp(t, c, passkeytest.New(a.URL, "localhost"), "logout1", "logout1@example.com")
				u, _ := url.Parse(a.URL)
				var token string
				for _, ck := range hc.Jar.Cookies(u) {
					if ck.Name == "latchkey_session" {
						token = ck.Value
					}
				}
				if err := c.Logout(context.Background()); err != nil {
					t.Fatal(err)
				}
				// Replaying the old cookie by hand no longer works.
				req, _ := http.NewRequest("GET", a.URL+shared.APIMe, nil)
				req.AddCookie(&http.Cookie{Name: "latchkey_session", Value: token})
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("replayed cookie after logout: %d", resp.StatusCode)
				}
			})
		})
	}
}

func TestSecureOriginCookiesUseTheHostPrefix(t *testing.T) {
	s := teststores.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(s.Users, s.Challenges, s.Sessions, auth.Options{Origin: "https://login.example.com", RPID: "login.example.com", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(httpapi.Options{Logger: log, Origin: "https://login.example.com", Secure: true, Auth: svc, RememberFor: time.Hour})
	key := passkeytest.New("https://login.example.com", "login.example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest("POST", shared.APISignupBegin, `{"username":"sec","email":"sec@example.com"}`))
	var begin shared.CeremonyResponse
	json.Unmarshal(rec.Body.Bytes(), &begin)
	cred, _ := key.Register(begin.Options)
	body, _ := json.Marshal(shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest("POST", shared.APISignupFinish, string(body)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("finish: %d %s", rec.Code, rec.Body)
	}
	names := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		names[c.Name] = c
	}
	for _, n := range []string{"__Host-latchkey_session", "__Host-latchkey_user"} {
		c := names[n]
		if c == nil || !c.Secure || !c.HttpOnly || c.Domain != "" || c.Path != "/" {
			t.Errorf("%s: %+v", n, c)
		}
	}
}

func jsonRequest(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
