package e2e

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The login page goes where ?next= says only when that is a path on this
// site: a login from a link that names another site lands on /account here,
// so nobody can bounce a person who just logged in to a look-alike page.
// safeNext has unit tests of its own; this checks that the real page, in a
// real browser, uses it.
func TestLoginIgnoresANextThatLeavesTheSite(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	page := newBrowser(t)
	page.authenticator(true)
	signUp(page, in.URL, "alice", "alice@example.com")

	for _, next := range []string{"https://evil.test/", "//evil.test/", `/\evil.test`, "https:evil.test"} {
		t.Run(next, func(t *testing.T) {
			b := page.on(t)
			logOut(b)
			b.do(60*time.Second,
				chromedp.Navigate(in.URL+"/login?next="+url.QueryEscape(next)),
				wasmReady(),
				waitText("#login-hello", "Hello, alice"),
				chromedp.Click(chromedp.CSS("#login-device")),
				landsOn(in.URL, "/account"),
				waitText("#account-username", "alice"),
			)
		})
	}
	if p := page.Problems("/api/login/remembered"); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}

// landsOn waits until the page is at path on origin, and fails as soon as it
// is anywhere else than there or /login (where it starts).
func landsOn(origin, path string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var last string
		for {
			// Evaluating fails while a navigation replaces the document;
			// that is a moment to wait, not a failure.
			loc, err := chromedp.Evaluate[[]string](`[location.origin, location.pathname, location.href]`)(ctx, t)
			if err == nil && len(loc) == 3 {
				switch {
				case loc[0] == origin && loc[1] == path:
					return nil
				case loc[0] != origin || loc[1] != "/login":
					return fmt.Errorf("the login page went to %s; want %s%s", loc[2], origin, path)
				}
				last = loc[2]
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting to land on %s%s (last at %s): %w", origin, path, last, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
