package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// logOut logs out with the navigation's link. On /account it first lets
// the page finish loading its lists: a list still being fetched when the
// session ends gets a 401, which the page handles but the console shows.
func logOut(b *browser) {
	b.t.Helper()
	b.do(30*time.Second,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			for {
				settled, err := chromedp.Evaluate[bool](`location.pathname !== "/account" || !!document.querySelector("#apps, #apps-none, #account-error")`)(ctx, t)
				if err != nil || settled {
					return err
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for /account to load its lists: %w", ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		}),
		chromedp.Click(chromedp.CSS("#nav-logout")),
		chromedp.WaitVisible(chromedp.CSS("#nav-login")),
		waitText("#toast", "Logged out"),
	)
}

func TestLoginInTheBrowser(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	page := newBrowser(t)
	authID := page.authenticator(true)
	signUp(page, in.URL, "alice", "alice@example.com")

	t.Run("log out, then log in through the first stage", func(t *testing.T) {
		b := page.on(t)
		logOut(b)
		// Passkey autofill waits in the first stage until the person picks
		// a passkey; without presence it keeps waiting, as a person would.
		b.setPresence(authID, false)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			wasmReady(),
			// The device remembers alice: the Hello stage comes first.
			waitText("#login-hello", "Hello, alice"),
			chromedp.Click(chromedp.CSS("#login-switch")),
			waitText("#login-intro", "Enter your username or email address to start logging in."),
			typeInto("#username_or_email", "ALICE@example.com"),
			chromedp.Click(chromedp.CSS("#login-start")),
			waitText("#login-hello", "Hello, alice"),
		)
		b.setPresence(authID, true)
		start := time.Now()
		b.do(30*time.Second,
			chromedp.Click(chromedp.CSS("#login-device")),
			waitText("#account-username", "alice"),
			waitText("#toast", "Logged in"),
		)
		t.Logf("login ceremony in the browser: %v (Device Login click to /account)", time.Since(start))
	})

	t.Run("a reloaded /login greets the remembered user and logs in from there", func(t *testing.T) {
		b := page.on(t)
		logOut(b)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			wasmReady(),
			waitText("#login-hello", "Hello, alice"),
			chromedp.Reload(),
			waitText("#login-hello", "Hello, alice"),
			chromedp.Click(chromedp.CSS("#login-device")),
			waitText("#account-username", "alice"),
		)
	})

	t.Run("a cancelled prompt says so and can be retried", func(t *testing.T) {
		b := page.on(t)
		logOut(b)
		b.setVerified(authID, false)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			wasmReady(),
			waitText("#login-hello", "Hello, alice"),
			chromedp.Click(chromedp.CSS("#login-device")),
			waitText("#login-error", "cancelled"),
		)
		b.setVerified(authID, true)
		b.do(30*time.Second,
			chromedp.Click(chromedp.CSS("#login-device")),
			waitText("#account-username", "alice"),
		)
	})

	t.Run("switch user returns to the first stage and stays there after a reload", func(t *testing.T) {
		b := page.on(t)
		logOut(b)
		b.setPresence(authID, false)
		defer b.setPresence(authID, true)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			wasmReady(),
			waitText("#login-hello", "Hello, alice"),
			chromedp.Click(chromedp.CSS("#login-switch")),
			chromedp.WaitVisible(chromedp.CSS("#login-intro")),
			chromedp.Reload(),
			wasmReady(),
			chromedp.WaitVisible(chromedp.CSS("#login-intro")),
		)
	})

	t.Run("an unknown name shows No matching user found", func(t *testing.T) {
		b := page.on(t)
		b.setPresence(authID, false)
		defer b.setPresence(authID, true)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			wasmReady(),
			chromedp.WaitVisible(chromedp.CSS("#login-intro")),
			typeInto("#username_or_email", "nobody"),
			chromedp.Click(chromedp.CSS("#login-start")),
			waitText("#login-error", "No matching user found"),
		)
	})

	t.Run("sign in with a passkey needs no name", func(t *testing.T) {
		b := page.on(t)
		b.setPresence(authID, false)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			wasmReady(),
			chromedp.WaitVisible(chromedp.CSS("#login-passkey")),
		)
		// The button withdraws the pending autofill request and opens the
		// modal prompt, which the person then answers.
		b.setPresence(authID, true)
		b.do(30*time.Second,
			chromedp.Click(chromedp.CSS("#login-passkey")),
			waitText("#account-username", "alice"),
		)
	})

	t.Run("passkey autofill in the username field logs in without a name", func(t *testing.T) {
		b := page.on(t)
		logOut(b)
		// With presence on, the virtual authenticator answers the pending
		// conditional request at once, as if the person picked alice's
		// passkey from the field's suggestions.
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/login"),
			waitText("#login-hello", "Hello, alice"),
			chromedp.Click(chromedp.CSS("#login-switch")),
			waitText("#account-username", "alice"),
			waitText("#toast", "Logged in"),
		)
		if mediation := eval[bool](b, `PublicKeyCredential.isConditionalMediationAvailable().then(v => v)`); !mediation {
			t.Error("conditional mediation reported unavailable, yet the autofill login happened")
		}
	})

	t.Run("account when logged out goes to login and comes back after it", func(t *testing.T) {
		b := page.on(t)
		logOut(b)
		b.do(30*time.Second,
			chromedp.Navigate(in.URL+"/account"),
			waitText("#login-hello", "Hello, alice"),
		)
		if got := eval[string](b, `location.pathname + location.search`); got != "/login?next=%2Faccount" {
			t.Errorf("redirected to %s", got)
		}
		b.do(30*time.Second,
			chromedp.Click(chromedp.CSS("#login-device")),
			waitText("#account-username", "alice"),
		)
	})

	// Logging out while /account still loads its lists can leave a 401 on
	// those calls in the console (the browser logs every 401 it fetches);
	// the page handles it.
	if p := page.Problems("/api/login/begin", "/api/login/remembered", "/api/passkeys", "/api/sessions"); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}
