package httpapi_test

import (
	"context"
	"net/http"
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

func mailAPIWith(t *testing.T, s stores, mutate ...func(*auth.Options)) (*api, *smtptest.Server, *testclock.Clock) {
	t.Helper()
	box := smtptest.Start(t)
	m, err := mail.NewSMTP(box.URL(), "Latchkey <login@latchkey.test>")
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Now())
	a := newAPIWith(t, s, append([]func(*auth.Options){func(o *auth.Options) { o.Mailer = m; o.Now = clk.Now }}, mutate...)...)
	return a, box, clk
}

func mailFor(t *testing.T, box *smtptest.Server, addr string, after int) smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seen := 0
	m, err := box.Wait(ctx, func(m smtptest.Message) bool {
		if len(m.To) != 1 || m.To[0] != addr {
			return false
		}
		seen++
		return seen > after
	})
	if err != nil {
		t.Fatalf("no mail for %s: %v", addr, err)
	}
	return m
}

// Pre-hijacking over the API: the owner of the address proves it with the
// welcome link and deletes the account someone else made with it.
func TestPreHijackedAccountIsDisownedOverTheAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box, _ := mailAPI(t, s)
			attacker := client.NewHTTP(a.URL, newJarClient())
			made := signUp(t, attacker, passkeytest.New(a.URL, "localhost"), "mallory", "victim@example.com")
			if made.User.EmailVerified || made.User.Email != "victim@example.com" {
				t.Fatalf("after sign-up: %+v", made.User)
			}
			token := linkFor(t, box, "victim@example.com", 0)

			victim := client.NewHTTP(a.URL, newJarClient())
			named, err := victim.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
			if err != nil || named.Username != "mallory" {
				t.Fatalf("link account: %+v, %v", named, err)
			}
			done, err := victim.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token})
			if err != nil || !done.ConfirmOwner || !done.User.EmailVerified {
				t.Fatalf("verify: %+v, %v", done, err)
			}
			if e, ok := client.APIError(attacker.Disown(ctx)); !ok || e.Status != http.StatusForbidden {
				t.Fatalf("the attacker's own session disowned: %v", e)
			}
			if err := victim.Disown(ctx); err != nil {
				t.Fatalf("disown: %v", err)
			}
			for who, c := range map[string]*client.Client{"attacker": attacker, "victim": victim} {
				if _, err := c.Me(ctx); client.Code(err) != shared.CodeUnauthenticated {
					t.Errorf("the %s is still logged in: %v", who, err)
				}
			}
			if _, err := a.Users.UserByUsername(ctx, "mallory"); err == nil {
				t.Fatal("the account survived")
			}
			mine := signUp(t, victim, passkeytest.New(a.URL, "localhost"), "victim", "victim@example.com")
			if mine.User.Email != "victim@example.com" {
				t.Fatalf("the victim's sign-up: %+v", mine.User)
			}
			// Once proven, a later link asks nothing and grants nothing.
			// Mails to the address so far: the attacker's welcome, then the
			// victim's.
			if first, err := victim.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkFor(t, box, "victim@example.com", 1)}); err != nil || !first.ConfirmOwner {
				t.Fatalf("the new account's welcome link: %+v, %v", first, err)
			}
			if err := victim.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "victim"}); err != nil {
				t.Fatal(err)
			}
			again, err := victim.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkFor(t, box, "victim@example.com", 2)})
			if err != nil || again.ConfirmOwner {
				t.Fatalf("second link: %+v, %v", again, err)
			}
			if e, ok := client.APIError(victim.Disown(ctx)); !ok || e.Status != http.StatusForbidden {
				t.Fatalf("disown without the grant: %v", e)
			}
		})
	}
}

// Login CSRF (issue 14, item 7): reading a link names its account and
// changes nothing; the browser's own session stays.
func TestReadingALinkDoesNotLogIn(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box, _ := mailAPI(t, s)
			victim := client.NewHTTP(a.URL, newJarClient())
			signUp(t, victim, passkeytest.New(a.URL, "localhost"), "alice", "alice@example.com")
			signUp(t, client.NewHTTP(a.URL, newJarClient()), passkeytest.New(a.URL, "localhost"), "mallory", "mallory@example.com")
			before := countTo(box, "mallory@example.com", len(box.Messages()))
			if err := victim.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "mallory"}); err != nil {
				t.Fatal(err)
			}
			token := linkFor(t, box, "mallory@example.com", before)
			named, err := victim.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
			if err != nil || named.Username != "mallory" {
				t.Fatalf("link account: %+v, %v", named, err)
			}
			if me, err := victim.Me(ctx); err != nil || me.User.Username != "alice" {
				t.Fatalf("reading the link changed the session: %+v, %v", me, err)
			}
			// Unknown, malformed and used tokens answer alike.
			var bodies []string
			for _, bad := range []string{strings.Repeat("A", 43), "x"} {
				status, body := rawPost(t, a.URL+shared.APILoginEmailAccount, `{"token":"`+bad+`"}`)
				if status != http.StatusBadRequest {
					t.Fatalf("bad token: %d %s", status, body)
				}
				bodies = append(bodies, body)
			}
			if _, err := victim.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}); err != nil {
				t.Fatalf("the link stopped working after being read: %v", err)
			}
			status, used := rawPost(t, a.URL+shared.APILoginEmailAccount, `{"token":"`+token+`"}`)
			if status != http.StatusBadRequest || used != bodies[0] || used != bodies[1] {
				t.Fatalf("used token: %d %s; others %q", status, used, bodies)
			}
		})
	}
}

func TestEnumerationProtectionAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			plain := newAPI(t, s)
			status, eb, _ := post(t, http.DefaultClient, plain.URL+shared.APILoginBegin, "application/json", `{"username_or_email":"nobody"}`)
			if status != http.StatusNotFound || eb.Error.Code != shared.CodeUserNotFound {
				t.Fatalf("without protection: %d %+v", status, eb)
			}

			a, box, _ := mailAPIWith(t, s, func(o *auth.Options) {
				o.EnumerationProtection, o.Secret = true, []byte(strings.Repeat("s", 32))
			})
			owner := client.NewHTTP(a.URL, newJarClient())
			signUp(t, owner, passkeytest.New(a.URL, "localhost"), "victim", "victim@example.com")
			welcome := linkFor(t, box, "victim@example.com", 0)
			if _, err := owner.EmailVerify(ctx, shared.EmailVerifyRequest{Token: welcome}); err != nil {
				t.Fatal(err)
			}
			begin, err := client.NewHTTP(a.URL, nil).LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "nobody"})
			if err != nil || begin.Username != "nobody" || begin.Ceremony == "" {
				t.Fatalf("unknown name with protection: %+v, %v", begin, err)
			}
			// A taken username is still refused at once.
			_, err = client.NewHTTP(a.URL, nil).SignupBegin(ctx, shared.SignupBeginRequest{Username: "victim", Email: "x@example.com"})
			if client.Code(err) != shared.CodeUsernameTaken {
				t.Fatalf("taken username: %v", err)
			}
			// A taken address signs up like any other.
			attacker := client.NewHTTP(a.URL, newJarClient())
			made := signUp(t, attacker, passkeytest.New(a.URL, "localhost"), "mallory", "victim@example.com")
			if made.User.Email != "victim@example.com" || made.User.EmailVerified {
				t.Fatalf("the sign-up looked different: %+v", made.User)
			}
			note := mailFor(t, box, "victim@example.com", 1)
			if !strings.Contains(note.Text, "already has it") || tokenRE.MatchString(note.Text) {
				t.Fatalf("the note to the owner: %s", note.Text)
			}
			if u, err := a.Users.UserByEmail(ctx, "victim@example.com"); err != nil || u.Username != "victim" {
				t.Fatalf("the address moved: %+v, %v", u, err)
			}
		})
	}
}

// An account that lost its address asks for one; the link sets it.
func TestAccountEmailAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box, clk := mailAPI(t, s)
			c := client.NewHTTP(a.URL, newJarClient())
			key := passkeytest.New(a.URL, "localhost")
			signUp(t, c, key, "erin", "old@example.com")
			clk.Advance(7*24*time.Hour + time.Second)
			if _, err := a.Auth.ReleaseUnprovenEmails(ctx); err != nil {
				t.Fatal(err)
			}
			login(t, c, key, "erin")
			if me, err := c.Me(ctx); err != nil || me.User.Email != "" || me.User.EmailVerified {
				t.Fatalf("after the release: %+v, %v", me, err)
			}
			if err := c.SetEmail(ctx, shared.AccountEmailRequest{Email: "nope"}); client.Code(err) != shared.CodeInvalidInput {
				t.Fatalf("bad address: %v", err)
			}
			if err := c.SetEmail(ctx, shared.AccountEmailRequest{Email: "erin@example.com"}); err != nil {
				t.Fatal(err)
			}
			done, err := c.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkFor(t, box, "erin@example.com", 0)})
			if err != nil || done.User.Email != "erin@example.com" || !done.User.EmailVerified {
				t.Fatalf("after the link: %+v, %v", done, err)
			}
			if err := client.NewHTTP(a.URL, nil).SetEmail(ctx, shared.AccountEmailRequest{Email: "x@example.com"}); client.Code(err) != shared.CodeUnauthenticated {
				t.Fatalf("without a session: %v", err)
			}
		})
	}
}
