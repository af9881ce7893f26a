package e2e

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// The login page goes where ?next= says only when that is a path on this
// site: a login from a link that names another site lands on /account here,
// so nobody can bounce a person who just logged in to a look-alike page.
// safeNext has unit tests of its own; this checks that the real page, in a
// real browser, uses it.
//
// Proven by making the page use the raw next parameter: each case failed,
// opening a window at evil.test or landing on another path.
func TestLoginIgnoresANextThatLeavesTheSite(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	page := newBrowser(t)
	page.authenticator(true)
	signUp(page, in.URL, "alice", "alice@example.com")

	for _, next := range []string{"https://evil.test/", "//evil.test/", `/\evil.test`, "https:evil.test"} {
		t.Run(next, func(t *testing.T) {
			b := page.on(t)
			// Start logged in on /account, whatever the last case left.
			b.do(60*time.Second, chromedp.Navigate(in.URL+"/account"), waitText("#account-username", "alice"))
			logOut(b)
			windows := b.windows()
			b.do(60*time.Second,
				chromedp.Navigate(in.URL+"/login?next="+url.QueryEscape(next)),
				wasmReady(),
				waitText("#login-hello", "Hello, alice"),
				chromedp.Click(chromedp.CSS("#login-device")),
				landsOn(in.URL, "/account", windows),
				waitText("#account-username", "alice"),
			)
		})
	}
	if p := page.Problems("/api/login/remembered"); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}

// windows lists the browser's open windows (page targets).
func (b *browser) windows() map[target.ID]bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		b.fail(err)
	}
	ids := map[target.ID]bool{}
	for _, ti := range targets {
		if ti.Type == "page" {
			ids[ti.TargetID] = true
		}
	}
	return ids
}

// landsOn waits until the tab is at path on origin, and fails as soon as it
// is anywhere else than there or /login (where it starts), or a window that
// is not among known opens (go-app opens another site's address in a new
// window).
func landsOn(origin, path string, known map[target.ID]bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var last string
		var opened time.Time
		for {
			targets, err := chromedp.Targets(ctx)
			if err != nil {
				return err
			}
			for _, ti := range targets {
				if ti.Type != "page" || known[ti.TargetID] {
					continue
				}
				// A new window has no address for a moment.
				if opened.IsZero() {
					opened = time.Now()
				}
				if ti.URL != "" || time.Since(opened) > 3*time.Second {
					return fmt.Errorf("the login page opened a window at %q; want to land on %s%s", ti.URL, origin, path)
				}
			}
			h, err := chromedp.NavigationEntries()(ctx, t)
			if err == nil && h.CurrentIndex >= 0 && int(h.CurrentIndex) < len(h.Entries) {
				last = h.Entries[h.CurrentIndex].URL
				u, perr := url.Parse(last)
				switch {
				case perr != nil:
					return fmt.Errorf("the tab is at %q: %v", last, perr)
				case u.Scheme+"://"+u.Host == origin && u.Path == path:
					return nil
				case u.Scheme+"://"+u.Host != origin || u.Path != "/login":
					return fmt.Errorf("the login page went to %s; want %s%s", last, origin, path)
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting to land on %s%s (last at %s): %w", origin, path, last, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
