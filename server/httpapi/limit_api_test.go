package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/smtptest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/mail"
	"github.com/latchkey/latchkey/shared"
)

// proxiedAPI serves the API as if behind a proxy on 127.0.0.1, which the
// server trusts, so each request names its client address in
// X-Forwarded-For. Login links go to box. limiter nil is RATE_LIMITS=off.
func proxiedAPI(t *testing.T, s stores, limiter auth.Limiter, limits auth.Limits) (*api, *smtptest.Server) {
	t.Helper()
	box := smtptest.Start(t)
	m, err := mail.NewSMTP(box.URL(), "Latchkey <login@latchkey.test>")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(s.Users, s.Challenges, s.Sessions, auth.Options{Origin: origin, RPID: "localhost", Logger: log, Mailer: m})
	if err != nil {
		t.Fatal(err)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	srv.Config.Handler = httpapi.New(httpapi.Options{
		Logger: log, Origin: origin, Auth: svc, Limiter: limiter, Limits: limits,
		TrustedProxies: []*net.IPNet{loopback}, RememberFor: time.Hour,
	})
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(svc.WaitForMail)
	return &api{URL: origin, Users: s.Users, Auth: svc, srv: srv}, box
}

// answer is what a request got: its status, body and Retry-After.
type answer struct {
	status int
	body   string
	retry  string
}

// postFrom posts body to path as the client at addr.
func postFrom(t *testing.T, a *api, addr, path, body string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), resp.Header.Get("Retry-After")}
}

// loginLinksTo counts the login-link mails box received for addr (not the
// welcome mail), once every send the service began has finished.
func loginLinksTo(a *api, box *smtptest.Server, addr string) int {
	a.Auth.WaitForMail()
	n := 0
	for _, m := range box.Messages() {
		if slices.Equal(m.To, []string{addr}) && strings.Contains(m.Subject, "login link") {
			n++
		}
	}
	return n
}

// Issue 14, item 3: the login-link quota must not be usable against the
// owner, and must answer the same whether or not the account exists.
func TestLoginLinkLimitsAPI(t *testing.T) {
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box := proxiedAPI(t, s, s.Limiter, nil)
			signUp(t, client.NewHTTP(a.URL, nil), passkeytest.New(a.URL, "localhost"), "alice", "alice@example.com")

			// The same story for an account and for a name nobody has: six
			// addresses ask four times each, the owner asks from home, a
			// seventh address asks four times, the owner asks again.
			story := func(name string) (got []answer) {
				ask := func(addr string) {
					got = append(got, postFrom(t, a, addr, shared.APILoginEmail, fmt.Sprintf(`{"username_or_email":%q}`, name)))
				}
				for i := range 7 {
					if i == 6 {
						ask("203.0.113.7")
					}
					for range 4 {
						ask(fmt.Sprintf("198.51.100.%d", i+1))
					}
				}
				ask("203.0.113.7")
				return got
			}
			status := func(as []answer) []int {
				var out []int
				for _, x := range as {
					out = append(out, x.status)
				}
				return out
			}
			want := []int{
				202, 202, 202, 429, // each flooding address: its three, then refused
				202, 202, 202, 429,
				202, 202, 202, 429,
				202, 202, 202, 429,
				202, 202, 202, 429,
				202, 202, 202, 429, // 18 links for the name so far
				202,                // the owner's own address still gets one (19)
				202, 429, 429, 429, // a seventh address: the 20th, then the name's cap
				429, // and now the owner is refused too, until the name's hour refills
			}
			alice, nobody := story("alice"), story("nobody")
			if !slices.Equal(status(alice), want) {
				t.Errorf("statuses for an account:\n got %v\nwant %v", status(alice), want)
			}
			for i := range alice {
				if i < len(nobody) && (alice[i].status != nobody[i].status || alice[i].body != nobody[i].body) {
					t.Errorf("answer %d differs: account %+v, unknown name %+v", i+1, alice[i], nobody[i])
				}
				if alice[i].status == 429 {
					if secs, err := strconv.Atoi(alice[i].retry); err != nil || secs < 1 || secs > 3600 {
						t.Errorf("answer %d: Retry-After %q", i+1, alice[i].retry)
					}
				}
			}
			if n := loginLinksTo(a, box, "alice@example.com"); n != 20 {
				t.Errorf("%d links mailed to alice, want 20", n)
			}
		})
	}
}

// Issue 14, item 10: an IPv6 client is one /64, also behind a proxy.
func TestAddressLimitsGroupIPv6By64API(t *testing.T) {
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, _ := proxiedAPI(t, s, s.Limiter, auth.Limits{auth.LimitLoginIP: {Events: 3, Per: time.Hour, Burst: 3}})
			begin := func(addr string) int { return postFrom(t, a, addr, shared.APILoginBegin, `{}`).status }
			for _, tc := range []struct {
				name         string
				first, other string
				want         int
			}{
				{"two addresses of one /64 share a limit", "2001:db8:a:b::1", "2001:db8:a:b:1:2:3:4", 429},
				{"another /64 has its own", "2001:db8:a:c::1", "2001:db8:a:d::1", 200},
				{"IPv4 is per address", "192.0.2.1", "192.0.2.2", 200},
				{"IPv4-mapped IPv6 is the IPv4 address", "192.0.2.9", "::ffff:192.0.2.9", 429},
			} {
				t.Run(tc.name, func(t *testing.T) {
					for i := range 3 {
						if got := begin(tc.first); got != 200 {
							t.Fatalf("begin %d from %s: %d", i+1, tc.first, got)
						}
					}
					if got := begin(tc.other); got != tc.want {
						t.Errorf("after %s used its limit, %s got %d, want %d", tc.first, tc.other, got, tc.want)
					}
				})
			}
		})
	}
}

// Issue 14, item 4: passkey begin is limited per user.
func TestPasskeyBeginLimitAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPI(t, s)
			c := client.NewHTTP(a.URL, newJarClient())
			signUp(t, c, passkeytest.New(a.URL, "localhost"), "alice", "alice@example.com")
			for i := range 10 {
				if _, err := c.PasskeyBegin(ctx); err != nil {
					t.Fatalf("begin %d: %v", i+1, err)
				}
			}
			_, err := c.PasskeyBegin(ctx)
			if e, ok := client.APIError(err); !ok || e.Status != 429 || e.Code != shared.CodeRateLimited {
				t.Errorf("11th begin in a minute: %v", err)
			}
			// Another user is not affected.
			bob := client.NewHTTP(a.URL, newJarClient())
			signUp(t, bob, passkeytest.New(a.URL, "localhost"), "bob", "bob@example.com")
			if _, err := bob.PasskeyBegin(ctx); err != nil {
				t.Errorf("another user's begin: %v", err)
			}
		})
	}
}

// Issue 14, item 10: a limiter that cannot be reached refuses login links
// (503 unavailable) and lets sign-up, login and adding passkeys through.
func TestUnreachableLimiterAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box := proxiedAPI(t, s, teststores.UnreachableRedis(t), nil)
			c := client.NewHTTP(a.URL, newJarClient())
			signUp(t, c, passkeytest.New(a.URL, "localhost"), "alice", "alice@example.com")
			if _, err := c.PasskeyBegin(ctx); err != nil {
				t.Errorf("passkey begin: %v", err)
			}
			if _, err := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"}); err != nil {
				t.Errorf("login begin: %v", err)
			}
			got := postFrom(t, a, "192.0.2.1", shared.APILoginEmail, `{"username_or_email":"alice"}`)
			if got.status != 503 || !strings.Contains(got.body, `"code":"unavailable"`) {
				t.Errorf("login link with the limiter down: %+v", got)
			}
			if n := loginLinksTo(a, box, "alice@example.com"); n != 0 {
				t.Errorf("%d links mailed with the limiter down", n)
			}
		})
	}
}

// RATE_LIMITS=off: boot passes no limiter, and nothing is limited.
func TestNoLimiterLimitsNothingAPI(t *testing.T) {
	a, _ := proxiedAPI(t, teststores.SQLite(t), nil, nil)
	for i := range 30 {
		if got := postFrom(t, a, "192.0.2.1", shared.APILoginEmail, `{"username_or_email":"alice"}`); got.status != 202 {
			t.Fatalf("request %d: %+v", i+1, got)
		}
	}
}
