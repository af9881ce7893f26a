package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/smtptest"
	"github.com/latchkey/latchkey/shared"
)

// mailLink waits for a mail to addr whose subject holds subject and returns
// its link.
func mailLink(t *testing.T, smtp *smtptest.Server, addr, subject string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := smtp.Wait(ctx, func(m smtptest.Message) bool {
		return len(m.To) == 1 && m.To[0] == addr && strings.Contains(m.Subject, subject)
	})
	if err != nil {
		t.Fatal(err)
	}
	link := linkRE.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no link in %q", msg.Text)
	}
	return link
}

// Pre-hijacking (issue 14, item 2): an attacker signs up with the victim's
// address; the victim opens the welcome link, sees whose account it is,
// deletes it and signs up with their own address.
func TestAddressOwnerDisownsAPreHijackedAccount(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	in := start(t, map[string]string{"SMTP_URL": smtp.URL(), "MAIL_FROM": "Latchkey <login@latchkey.test>"})
	attacker := newBrowser(t)
	attacker.authenticator(true)
	signUp(attacker, in.URL, "mallory", "victim@example.com")
	link := mailLink(t, smtp, "victim@example.com", "Welcome")

	victim := newBrowser(t)
	victim.authenticator(true)
	victim.do(30*time.Second,
		chromedp.Navigate(link),
		waitText("#email-login-question", "mallory"),
		// Opening the page used nothing.
		chromedp.Sleep(300*time.Millisecond),
	)
	if u, _ := in.Users.UserByUsername(context.Background(), "mallory"); !u.EmailVerifiedAt.IsZero() {
		t.Fatal("the page used the link before the click")
	}
	victim.do(30*time.Second,
		chromedp.Click(chromedp.CSS("#email-login-confirm")),
		waitText("h1", "Is this your account?"),
		waitText("#owner-username", "mallory"),
		waitText("#owner-passkeys", "Made "),
		chromedp.Func(func(context.Context, *chromedp.Target) error {
			victim.screenshot("is-this-your-account")
			return nil
		}),
		chromedp.Click(chromedp.CSS("#owner-not-mine")),
		waitText("#disowned", "deleted"),
	)
	if _, err := in.Users.UserByUsername(context.Background(), "mallory"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the account survived: %v", err)
	}
	// The attacker's browser is logged out.
	attacker.do(30*time.Second,
		chromedp.Navigate(in.URL+"/account"),
		chromedp.WaitVisible(chromedp.CSS("#nav-login")),
	)
	// The address is free.
	victim.do(30*time.Second, chromedp.Click(chromedp.CSS("#disowned-signup")), chromedp.WaitVisible(chromedp.CSS("form")))
	signUp(victim, in.URL, "victim", "victim@example.com")
	if u, err := in.Users.UserByEmail(context.Background(), "victim@example.com"); err != nil || u.Username != "victim" {
		t.Fatalf("the victim's address: %+v, %v", u, err)
	}
	if p := victim.Problems("/api/me", "/api/login/remembered"); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}

// Login CSRF (issue 14, item 7): a link someone else sent does nothing
// until the click, and the page warns that another account is logged in.
func TestLinkPageAsksBeforeLoggingIn(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	in := start(t, map[string]string{"SMTP_URL": smtp.URL(), "MAIL_FROM": "Latchkey <login@latchkey.test>"})
	b := newBrowser(t)
	b.authenticator(true)
	signUp(b, in.URL, "mallory", "mallory@example.com")
	logOut(b)
	signUp(b, in.URL, "alice", "alice@example.com")

	// The attacker asks for a link to their own account and sends it on.
	if err := client.NewHTTP(in.URL, nil).EmailLogin(context.Background(), shared.EmailLoginRequest{UsernameOrEmail: "mallory"}); err != nil {
		t.Fatal(err)
	}
	link := mailLink(t, smtp, "mallory@example.com", "login link")
	b.do(30*time.Second,
		chromedp.Navigate(link),
		waitText("h1", "Log in as mallory?"),
		waitText("#email-login-warning", "You are logged in as alice"),
		chromedp.Func(func(context.Context, *chromedp.Target) error {
			b.screenshot("link-page-warning")
			return nil
		}),
		// Nothing happened: alice is still logged in.
		chromedp.Click(chromedp.CSS("#email-login-cancel")),
		chromedp.Navigate(in.URL+"/account"),
		waitText("#account-username", "alice"),
	)
	// The link still works, on a click.
	b.do(30*time.Second,
		chromedp.Navigate(link),
		waitText("#email-login-warning", "alice"),
		chromedp.Click(chromedp.CSS("#email-login-confirm")),
		waitText("#owner-username", "mallory"),
		chromedp.Click(chromedp.CSS("#owner-mine")),
		waitText("#account-username", "mallory"),
	)
	if p := b.Problems("/api/me", "/api/login/remembered"); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}
