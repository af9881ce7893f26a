package e2e

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/smtptest"
	"github.com/latchkey/latchkey/shared"
)

// Someone who reads alice's mailbox gets into her account with a login
// link, adds their own passkey and logs in with it. None of that lets them
// delete her passkey, end her session or log her out everywhere; the page
// says why (issue 14, item 1).
func TestMailboxAccessCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	smtp := smtptest.Start(t)
	in := start(t, map[string]string{"SMTP_URL": smtp.URL(), "MAIL_FROM": "Latchkey <login@latchkey.test>"})

	// Alice signs up on her own device (a Go program with a software
	// authenticator) and stays logged in there.
	alice := client.NewHTTP(in.URL, nil)
	key := passkeytest.New(in.URL, "localhost")
	begin, err := alice.SignupBegin(ctx, shared.SignupBeginRequest{Username: "alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := key.Register(begin.Options)
	if _, err := alice.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}); err != nil {
		t.Fatal(err)
	}

	// The attacker asks for a link and reads it from her mailbox. The link
	// page is not what this test is about, so the attacker's session comes
	// from the API and goes into the browser as its cookie.
	jar, _ := cookiejar.New(nil)
	attacker := client.NewHTTP(in.URL, &http.Client{Jar: jar})
	if err := attacker.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var token string
	if _, err := smtp.Wait(wctx, func(m smtptest.Message) bool {
		link := linkRE.FindString(m.Text)
		token, _ = strings.CutPrefix(link[strings.Index(link, "#token=")+1:], "token=")
		return link != "" && len(m.To) == 1 && m.To[0] == "alice@example.com" && !strings.Contains(m.Subject, "Welcome")
	}); err != nil {
		t.Fatal(err)
	}
	if token, err = url.QueryUnescape(token); err != nil {
		t.Fatal(err)
	}
	if _, err := attacker.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(in.URL)
	cookies := jar.Cookies(u)
	if len(cookies) != 2 {
		t.Fatalf("cookies after the link: %v", cookies)
	}

	b := newBrowser(t)
	theirs := b.authenticator(true)
	httpOnly := true
	for _, c := range cookies {
		if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: in.URL + "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
		}); err != nil {
			t.Fatal(err)
		}
	}
	b.do(30*time.Second,
		chromedp.Navigate(in.URL+"/account"),
		waitText("#account-username", "alice"),
		chromedp.WaitVisible(chromedp.CSS("#add-passkey-callout")),
		chromedp.Click(chromedp.CSS("#add-passkey-device")),
		waitText("#toast", "Passkey added"),
		waitText("#passkeys li:nth-child(2) .provisional", "Provisional until"),
	)
	// A fresh login with their new passkey.
	logOut(b)
	b.setPresence(theirs, false)
	b.do(30*time.Second,
		chromedp.Navigate(in.URL+"/login"),
		waitText("#login-hello", "Hello, alice"),
	)
	b.setPresence(theirs, true)
	b.do(30*time.Second,
		chromedp.Click(chromedp.CSS("#login-device")),
		waitText("#account-username", "alice"),
		chromedp.WaitVisible(chromedp.CSS("#sessions li:nth-child(2)")),
		// Delete alice's passkey: the page asks for a passkey, gets theirs,
		// and is refused, saying why.
		chromedp.Click(chromedp.CSS("#passkeys li:nth-child(1) .delete")),
		chromedp.Click(chromedp.CSS("#delete-confirm")),
		waitText("#account-error", "added through an email login"),
		chromedp.WaitVisible(chromedp.CSS("#passkeys li:nth-child(2)")),
		// End alice's session: refused too.
		chromedp.Click(chromedp.CSS("#sessions .end-session")),
		waitText("#account-error", "added through an email login"),
		chromedp.Click(chromedp.CSS("#logout-everywhere")),
		waitText("#account-error", "added through an email login"),
	)
	b.screenshot("account-provisional-refused")

	if _, err := alice.Me(ctx); err != nil {
		t.Fatalf("alice was logged out: %v", err)
	}
	keys, err := alice.Passkeys(ctx)
	if err != nil || len(keys.Passkeys) != 2 || keys.Passkeys[0].ProvisionalUntil != nil || keys.Passkeys[1].ProvisionalUntil == nil {
		t.Fatalf("alice's passkeys: %+v %v", keys, err)
	}
	// Alice, logged in with her own passkey minutes ago, removes theirs,
	// which logs them out.
	if err := alice.DeletePasskey(ctx, keys.Passkeys[1].ID); err != nil {
		t.Fatalf("alice deleting their passkey: %v", err)
	}
	b.do(30*time.Second,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#login-hello, #login-intro")),
	)
	if p := b.Problems("/api/passkeys", "/api/sessions", "/api/passkeys/", "/api/login/remembered"); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}
