package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/smtptest"
	"github.com/latchkey/latchkey/server/internal/testclock"
	"github.com/latchkey/latchkey/server/mail"
	"github.com/latchkey/latchkey/shared"
)

var tokenRE = regexp.MustCompile(`/login/email#token=([A-Za-z0-9_-]+)`)

// mailAPI is an API whose login links go to a real SMTP server.
func mailAPI(t *testing.T, s stores) (*api, *smtptest.Server, *testclock.Clock) {
	t.Helper()
	box := smtptest.Start(t)
	m, err := mail.NewSMTP(box.URL(), "Latchkey <login@latchkey.test>")
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Now())
	a := newAPIWith(t, s, func(o *auth.Options) { o.Mailer = m; o.Now = clk.Now })
	return a, box, clk
}

// linkFor waits for the next login link mailed to addr.
func linkFor(t *testing.T, box *smtptest.Server, addr string, after int) string {
	t.Helper()
	m := mailFor(t, box, addr, after)
	match := tokenRE.FindStringSubmatch(m.Text)
	if match == nil || !strings.Contains(m.HTML, match[0]) {
		t.Fatalf("no link in both bodies:\n%s\n%s", m.Text, m.HTML)
	}
	return match[1]
}

func rawPost(t *testing.T, u, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEmailLoginAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box, clk := mailAPI(t, s)
			signUp(t, client.NewHTTP(a.URL, nil), passkeytest.New(a.URL, "localhost"), "alice", "alice@example.com")

			t.Run("answers 202 the same way for known and unknown accounts", func(t *testing.T) {
				known, kb := rawPost(t, a.URL+shared.APILoginEmail, `{"username_or_email":"alice"}`)
				unknown, ub := rawPost(t, a.URL+shared.APILoginEmail, `{"username_or_email":"nobody@example.com"}`)
				if known != 202 || unknown != 202 || kb != ub {
					t.Errorf("known %d %q, unknown %d %q", known, kb, unknown, ub)
				}
				linkFor(t, box, "alice@example.com", 0)
				for _, m := range box.Messages() {
					if m.To[0] == "nobody@example.com" {
						t.Error("mail sent to an address with no account")
					}
				}
			})

			t.Run("answers 400 for an empty name", func(t *testing.T) {
				if status, _ := rawPost(t, a.URL+shared.APILoginEmail, `{"username_or_email":"  "}`); status != 400 {
					t.Errorf("empty name: %d", status)
				}
			})

			t.Run("logs in once with the link and refuses it again", func(t *testing.T) {
				before := len(box.Messages())
				c := client.NewHTTP(a.URL, newJarClient())
				if err := c.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "Alice@Example.com"}); err != nil {
					t.Fatal(err)
				}
				token := linkFor(t, box, "alice@example.com", countTo(box, "alice@example.com", before))
				done, err := c.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token})
				if err != nil || done.User.Username != "alice" || done.Method != "email" {
					t.Fatalf("verify: %+v %v", done, err)
				}
				if me, err := c.Me(ctx); err != nil || me.Method != "email" {
					t.Errorf("me after email login: %+v %v", me, err)
				}
				_, err = c.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token})
				if e, ok := client.APIError(err); !ok || e.Status != 400 || e.Code != shared.CodeTokenInvalid {
					t.Errorf("reused token: %v", err)
				}
			})

			t.Run("refuses an expired link", func(t *testing.T) {
				before := len(box.Messages())
				c := client.NewHTTP(a.URL, newJarClient())
				c.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"})
				token := linkFor(t, box, "alice@example.com", countTo(box, "alice@example.com", before))
				clk.Advance(15*time.Minute + time.Second)
				_, err := c.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token})
				if client.Code(err) != shared.CodeTokenInvalid {
					t.Errorf("expired token: %v", err)
				}
			})

			t.Run("rate limits requests for one account", func(t *testing.T) {
				var last int
				for i := 0; i < 5; i++ {
					last, _ = rawPost(t, a.URL+shared.APILoginEmail, `{"username_or_email":"limited-name"}`)
				}
				if last != http.StatusTooManyRequests {
					t.Errorf("5th request for one name: %d", last)
				}
			})
		})
	}
}

// countTo counts the messages to addr among the first n received.
func countTo(box *smtptest.Server, addr string, n int) int {
	c := 0
	for _, m := range box.Messages()[:n] {
		if len(m.To) == 1 && m.To[0] == addr {
			c++
		}
	}
	return c
}

func TestPasskeyAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, _, clk := mailAPI(t, s)
			alice := client.NewHTTP(a.URL, newJarClient())
			laptop := passkeytest.New(a.URL, "localhost")
			signUp(t, alice, laptop, "alice", "alice@example.com")
			bob := client.NewHTTP(a.URL, newJarClient())
			signUp(t, bob, passkeytest.New(a.URL, "localhost"), "bob", "bob@example.com")

			list, err := alice.Passkeys(ctx)
			if err != nil || len(list.Passkeys) != 1 {
				t.Fatalf("list: %+v %v", list, err)
			}
			first := list.Passkeys[0]
			if first.ID == "" || first.Name == "" || first.CreatedAt.IsZero() || first.LastUsedAt != nil || first.Transports == nil {
				t.Errorf("passkey %+v", first)
			}

			t.Run("refuses to delete the last passkey with 409", func(t *testing.T) {
				err := alice.DeletePasskey(ctx, first.ID)
				if e, ok := client.APIError(err); !ok || e.Status != 409 || e.Code != shared.CodeLastPasskey {
					t.Errorf("got %v", err)
				}
			})

			t.Run("adds a passkey with 201", func(t *testing.T) {
				phone := passkeytest.New(a.URL, "localhost")
				begin, err := alice.PasskeyBegin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				cred, _ := phone.Register(begin.Options)
				added, err := alice.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: "Phone"})
				if err != nil || added.Passkey.Name != "Phone" {
					t.Fatalf("%+v %v", added, err)
				}
			})

			t.Run("takes the deprecated name too, and refuses both at once", func(t *testing.T) {
				tablet := passkeytest.New(a.URL, "localhost")
				begin, err := alice.PasskeyBegin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				cred, _ := tablet.Register(begin.Options)
				_, err = alice.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: "Tablet", Name: "Tablet"})
				if e, ok := client.APIError(err); !ok || e.Status != 400 || e.Field != "name" {
					t.Errorf("both names: %v", err)
				}
				begin, _ = alice.PasskeyBegin(ctx)
				cred, _ = tablet.Register(begin.Options)
				added, err := alice.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred, Name: "Tablet"})
				if err != nil || added.Passkey.Name != "Tablet" {
					t.Fatalf("deprecated name: %+v %v", added, err)
				}
			})

			t.Run("renames with 200 and refuses bad names with 400", func(t *testing.T) {
				r, err := alice.RenamePasskey(ctx, first.ID, "Laptop")
				if err != nil || r.Passkey.Name != "Laptop" {
					t.Fatalf("%+v %v", r, err)
				}
				for _, bad := range []string{"", strings.Repeat("x", 65)} {
					_, err := alice.RenamePasskey(ctx, first.ID, bad)
					if e, ok := client.APIError(err); !ok || e.Status != 400 || e.Code != shared.CodeInvalidInput {
						t.Errorf("%q: %v", bad, err)
					}
				}
			})

			t.Run("answers 404 for another user's passkey", func(t *testing.T) {
				if _, err := bob.RenamePasskey(ctx, first.ID, "mine"); client.Code(err) != shared.CodeNotFound {
					t.Errorf("rename: %v", err)
				}
				if err := bob.DeletePasskey(ctx, first.ID); client.Code(err) != shared.CodeNotFound {
					t.Errorf("delete: %v", err)
				}
			})

			t.Run("asks for a recent login before adding or deleting", func(t *testing.T) {
				clk.Advance(6 * time.Minute)
				_, err := alice.PasskeyBegin(ctx)
				if e, ok := client.APIError(err); !ok || e.Status != 403 || e.Code != shared.CodeReauthRequired {
					t.Errorf("begin: %v", err)
				}
				if err := alice.DeletePasskey(ctx, first.ID); client.Code(err) != shared.CodeReauthRequired {
					t.Errorf("delete: %v", err)
				}
				// A fresh passkey login opens the window again.
				login(t, alice, laptop, "alice")
				if err := alice.DeletePasskey(ctx, first.ID); err != nil {
					t.Errorf("delete after a fresh login: %v", err)
				}
			})
		})
	}
}
