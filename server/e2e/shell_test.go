package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The landing page arrives prerendered, then the wasm takes over: the
// navigation links only appear once Go runs in the page.
func TestLandingPageRunsAsAnInstallablePWA(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	b := newBrowser(t)

	b.do(30*time.Second, chromedp.Navigate(in.URL+"/"))
	if prerendered := b.text("#landing-title"); prerendered != "Sign in without passwords" {
		t.Errorf("landing title %q", prerendered)
	}

	// Only the wasm renders the navigation (it asks the API who is logged in).
	b.do(60*time.Second, chromedp.WaitVisible(chromedp.CSS("#nav-login")))

	var manifest struct {
		Name    string `json:"name"`
		Display string `json:"display"`
		Icons   []struct {
			Src, Sizes, Purpose string
		} `json:"icons"`
	}
	raw := eval[string](b, `fetch(document.querySelector('link[rel=manifest]').href).then(r => r.text())`)
	if err := json.Unmarshal([]byte(raw), &manifest); err != nil {
		t.Fatalf("manifest: %v: %s", err, raw)
	}
	if manifest.Name != "Latchkey" || manifest.Display != "standalone" {
		t.Errorf("manifest %+v", manifest)
	}
	sizes := map[string]bool{}
	for _, ic := range manifest.Icons {
		sizes[ic.Sizes+" "+ic.Purpose] = true
	}
	if !sizes["192x192 "] || !sizes["512x512 "] || !sizes["512x512 maskable"] {
		t.Errorf("manifest icons %+v", manifest.Icons)
	}

	swState := eval[string](b, `navigator.serviceWorker.ready.then(r => r.active ? r.active.state : "none")`)
	if swState != "activated" && swState != "activating" {
		t.Errorf("service worker state %q", swState)
	}
	wasmLoaderGone := eval[bool](b, `!document.getElementById("app-wasm-loader") || getComputedStyle(document.getElementById("app-wasm-loader")).display === "none"`)
	if !wasmLoaderGone {
		t.Error("the wasm loader is still showing")
	}
	// The /api/me call of a logged-out visitor is expected to fail (401/404).
	if p := b.Problems("/api/me", "401", "404"); len(p) > 0 {
		t.Errorf("the page logged problems (CSP violations show here): %v", p)
	}
}

// Once the service worker has installed, the app opens without a network:
// pages come from its cache, and the page says plainly that it is offline.
func TestTheInstalledAppOpensOffline(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	b := newBrowser(t)
	b.do(60*time.Second, chromedp.Navigate(in.URL+"/"), wasmReady())
	// Wait until the worker controls the page, i.e. its cache is filled.
	if state := eval[string](b, `navigator.serviceWorker.ready.then(() => new Promise(r => {
		if (navigator.serviceWorker.controller) return r("controlled");
		navigator.serviceWorker.addEventListener("controllerchange", () => r("controlled"));
	}))`); state != "controlled" {
		t.Fatalf("service worker: %s", state)
	}
	if banner := eval[bool](b, `!!document.getElementById("offline-banner")`); banner {
		t.Fatal("offline banner shown while online")
	}
	in.stop()
	b.do(60*time.Second,
		chromedp.Navigate(in.URL+"/login"),
		waitText("h1", "Login"),
		waitText("#offline-banner", "You are offline"),
		chromedp.Navigate(in.URL+"/offline"),
		waitText("#offline-message", "needs a network connection"),
	)
}

// copyDir copies the files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A deploy reaches an open app: after new assets go out on the same origin,
// the next page change finds the new version and the page offers a reload.
func TestAnOpenAppOffersTheNewVersionAfterADeploy(t *testing.T) {
	t.Parallel()
	web := copyDir(t, webDir(t))
	data := t.TempDir()
	old := start(t, map[string]string{"WEB_DIR": web, "DATA_DIR": data})
	b := newBrowser(t)
	b.do(60*time.Second, chromedp.Navigate(old.URL+"/"), wasmReady())
	eval[string](b, `navigator.serviceWorker.ready.then(() => new Promise(r => {
		if (navigator.serviceWorker.controller) return r("ok");
		navigator.serviceWorker.addEventListener("controllerchange", () => r("ok"));
	}))`)
	oldWorker := eval[string](b, `fetch("/app-worker.js").then(r => r.text())`)

	// Deploy: a changed stylesheet is a new version.
	old.stop()
	css, _ := os.ReadFile(filepath.Join(web, "app.css"))
	if err := os.WriteFile(filepath.Join(web, "app.css"), append(css, []byte("\n/* deploy 2 */\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(old.URL, "http://localhost")
	start(t, map[string]string{"WEB_DIR": web, "DATA_DIR": data, "LISTEN_ADDR": "127.0.0.1" + addr, "PUBLIC_URL": old.URL})

	b.do(60*time.Second,
		chromedp.Click(chromedp.CSS("#cta-login")),
		waitText("#update-banner", "A new version of Latchkey is ready."),
		chromedp.Click(chromedp.CSS("#update-banner button")),
		wasmReady(),
	)
	newWorker := eval[string](b, `fetch("/app-worker.js").then(r => r.text())`)
	if newWorker == oldWorker {
		t.Error("the page still runs the old version after the reload")
	}
	if css := eval[string](b, `fetch("/web/app.css").then(r => r.text())`); !strings.Contains(css, "deploy 2") {
		t.Error("the new stylesheet is not served after the update")
	}
}
