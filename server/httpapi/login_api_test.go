package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/redisstore"
	"github.com/latchkey/latchkey/shared"
)

func cookieValue(hc *http.Client, base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestLoginAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPI(t, s)
			key := passkeytest.New(a.URL, "localhost")
			signUp(t, client.NewHTTP(a.URL, nil), key, "alice", "alice@example.com")

			t.Run("logs in, replaces the session id and refreshes the remembered user", func(t *testing.T) {
				hc := newJarClient()
				c := client.NewHTTP(a.URL, hc)
				login(t, c, key, "alice")
				first := cookieValue(hc, a.URL, "latchkey_session")
				me, err := c.Me(ctx)
				if err != nil || me.User.Username != "alice" || me.Method != "passkey" {
					t.Fatalf("me %+v %v", me, err)
				}
				login(t, c, key, "ALICE@example.com")
				second := cookieValue(hc, a.URL, "latchkey_session")
				if first == "" || second == "" || first == second {
					t.Fatalf("session cookie did not change at login: %q -> %q", first, second)
				}
				// The previous session id is dead on the server.
				req, _ := http.NewRequest("GET", a.URL+shared.APIMe, nil)
				req.AddCookie(&http.Cookie{Name: "latchkey_session", Value: first})
				resp, _ := http.DefaultClient.Do(req)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("the pre-login session still works: %d", resp.StatusCode)
				}
				r, err := c.Remembered(ctx)
				if err != nil || r.Username != "alice" {
					t.Errorf("remembered %+v %v", r, err)
				}
			})

			t.Run("answers 404 user_not_found with the product's message", func(t *testing.T) {
				_, err := client.NewHTTP(a.URL, nil).LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "nobody"})
				e, ok := client.APIError(err)
				if !ok || e.Status != 404 || e.Code != shared.CodeUserNotFound || e.Message != "No matching user found" {
					t.Errorf("got %v", err)
				}
			})

			t.Run("answers 401 credential_rejected for a bad assertion and 400 for a spent ceremony", func(t *testing.T) {
				c := client.NewHTTP(a.URL, nil)
				begin, _ := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
				cred, _ := key.Login(begin.Options)
				_, err := c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: passkeytest.Tamper(cred, "signature")})
				if e, ok := client.APIError(err); !ok || e.Status != 401 || e.Code != shared.CodeCredentialRejected {
					t.Errorf("tampered: %v", err)
				}
				_, err = c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
				if e, ok := client.APIError(err); !ok || e.Status != 400 || e.Code != shared.CodeCeremonyInvalid {
					t.Errorf("spent ceremony: %v", err)
				}
			})

			t.Run("logs in without a name through a discoverable passkey", func(t *testing.T) {
				c := client.NewHTTP(a.URL, nil)
				begin, err := c.LoginBegin(ctx, shared.LoginBeginRequest{})
				if err != nil {
					t.Fatal(err)
				}
				cred, _ := key.Login(begin.Options)
				done, err := c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
				if err != nil || done.User.Username != "alice" {
					t.Fatalf("%+v %v", done, err)
				}
			})

			t.Run("remembers and forgets the user", func(t *testing.T) {
				hc := newJarClient()
				c := client.NewHTTP(a.URL, hc)
				_, err := c.Remembered(ctx)
				if e, ok := client.APIError(err); !ok || e.Status != 404 || e.Code != shared.CodeNotRemembered {
					t.Errorf("before login: %v", err)
				}
				login(t, c, key, "alice")
				if r, err := c.Remembered(ctx); err != nil || r.Username != "alice" {
					t.Fatalf("after login: %+v %v", r, err)
				}
				if err := c.Forget(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Remembered(ctx); client.Code(err) != shared.CodeNotRemembered {
					t.Errorf("after forget: %v", err)
				}
				// Forgetting the user does not log them out.
				if _, err := c.Me(ctx); err != nil {
					t.Errorf("forget ended the session: %v", err)
				}
				// A made-up uid is not remembered.
				req, _ := http.NewRequest("GET", a.URL+shared.APILoginRemembered, nil)
				req.AddCookie(&http.Cookie{Name: "latchkey_user", Value: "made-up"})
				resp, _ := http.DefaultClient.Do(req)
				resp.Body.Close()
				if resp.StatusCode != 404 {
					t.Errorf("made-up uid: %d", resp.StatusCode)
				}
			})

			t.Run("answers 401 unauthenticated without a session", func(t *testing.T) {
				for _, path := range []string{shared.APIMe, shared.APIPasskeys, shared.APISessions} {
					resp, err := http.Get(a.URL + path)
					if err != nil {
						t.Fatal(err)
					}
					var eb shared.ErrorBody
					json.NewDecoder(resp.Body).Decode(&eb)
					resp.Body.Close()
					if resp.StatusCode != 401 || eb.Error.Code != shared.CodeUnauthenticated {
						t.Errorf("%s: %d %+v", path, resp.StatusCode, eb)
					}
				}
			})

			t.Run("lists sessions and ends another one", func(t *testing.T) {
				laptop, phone := client.NewHTTP(a.URL, newJarClient()), client.NewHTTP(a.URL, newJarClient())
				login(t, laptop, key, "alice")
				login(t, phone, key, "alice")
				list, err := laptop.Sessions(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var other string
				current := 0
				for _, s := range list.Sessions {
					if s.Current {
						current++
					} else if other == "" {
						other = s.ID
					}
				}
				if current != 1 || other == "" {
					t.Fatalf("sessions %+v", list.Sessions)
				}
				// Find the phone's session: it is the newest one that is not ours.
				phoneList, _ := phone.Sessions(ctx)
				var phoneID string
				for _, s := range phoneList.Sessions {
					if s.Current {
						phoneID = s.ID
					}
				}
				if err := laptop.EndSession(ctx, phoneID); err != nil {
					t.Fatal(err)
				}
				if _, err := phone.Me(ctx); client.Code(err) != shared.CodeUnauthenticated {
					t.Errorf("the ended session still works: %v", err)
				}
				if err := laptop.EndSession(ctx, "not-a-session"); client.Code(err) != shared.CodeNotFound {
					t.Errorf("unknown session: %v", err)
				}
			})
		})
	}
}

// Two instances behind one load balancer share Postgres and Redis: a
// ceremony begun on one finishes on the other, and a session made on one is
// valid on the other.
func TestTwoInstancesShareCeremoniesAndSessions(t *testing.T) {
	dsn := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	const origin = "http://localhost:8080" // the balancer's origin, shared by both
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var urls []string
	for i := 0; i < 2; i++ {
		// Each instance has its own connection pool and Redis client, as
		// two processes would.
		db, err := bunstore.Open(context.Background(), dsn, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		rc, err := redisstore.Open(context.Background(), testenv.RedisURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rc.Close() })
		rs := redisstore.New(rc, prefix)
		svc, err := auth.New(db, rs, rs, auth.Options{Origin: origin, RPID: "localhost", Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(httpapi.New(httpapi.Options{Logger: log, Origin: origin, Auth: svc, Limiter: rs, RememberFor: time.Hour}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	ctx := context.Background()
	key := passkeytest.New(origin, "localhost")
	// One cookie jar per instance URL would lose the session; copy cookies by hand.
	hcA, hcB := newJarClient(), newJarClient()
	a, b := client.NewHTTP(urls[0], hcA), client.NewHTTP(urls[1], hcB)

	begin, err := a.SignupBegin(ctx, shared.SignupBeginRequest{Username: "shared", Email: "shared@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := key.Register(begin.Options)
	if _, err := b.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}); err != nil {
		t.Fatalf("sign-up begun on A, finished on B: %v", err)
	}
	lbegin, err := b.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	lcred, _ := key.Login(lbegin.Options)
	if _, err := a.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: lbegin.Ceremony, Credential: lcred}); err != nil {
		t.Fatalf("login begun on B, finished on A: %v", err)
	}
	// The session cookie A set works on B.
	token := cookieValue(hcA, urls[0], "latchkey_session")
	ub, _ := url.Parse(urls[1])
	hcB.Jar.SetCookies(ub, []*http.Cookie{{Name: "latchkey_session", Value: token, Path: "/"}})
	me, err := b.Me(ctx)
	if err != nil || me.User.Username != "shared" {
		t.Fatalf("session from A on B: %+v %v", me, err)
	}
	// And a logout on B ends it on A.
	if err := b.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Me(ctx); client.Code(err) != shared.CodeUnauthenticated {
		t.Errorf("session still valid on A after logout on B: %v", err)
	}
}
