package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/latchkey/latchkey/server/boot"
	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/server/internal/testenv"
)

// repoRoot is the module root, found from this file's location.
func repoRoot(t testing.TB) string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var wasmOnce sync.Once

// webDir returns the directory with a built app.wasm; `make test` builds it
// first, a bare `go test` builds it here.
func webDir(t testing.TB) string {
	dir := filepath.Join(repoRoot(t), "web")
	wasmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "app.wasm")); err == nil {
			return
		}
		t.Log("web/app.wasm is missing; building it (make wasm does this too)")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "app.wasm"), "./app/cmd/wasm")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the wasm: %v\n%s", err, out)
		}
	})
	return dir
}

// instance is a running Latchkey for a test.
type instance struct {
	URL string
	*boot.Instance
	srv *http.Server
}

// stop takes the server off the network, as a lost connection would.
func (in *instance) stop() { in.srv.Close() }

// start runs a Latchkey on a free localhost port. env adds or overrides
// configuration (DATABASE_URL, REDIS_URL…); the default is SQLite in a
// temporary directory and in-process stores. WebAuthn refuses IP addresses
// as relying party ids, so the origin is http://localhost:PORT.
func start(t testing.TB, env map[string]string) *instance {
	t.Helper()
	addr := "127.0.0.1:0"
	if a, ok := env["LISTEN_ADDR"]; ok {
		addr = a // a restart on the same origin
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	vars := map[string]string{
		"PUBLIC_URL":  fmt.Sprintf("http://localhost:%d", port),
		"LISTEN_ADDR": ln.Addr().String(),
		"DATA_DIR":    t.TempDir(),
		"WEB_DIR":     webDir(t),
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	// E2E_LOG=info shows every request of the instance in the test log.
	level := slog.LevelWarn
	if os.Getenv("E2E_LOG") == "info" {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	in, err := boot.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: in.Handler}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		in.Close()
	})
	return &instance{URL: cfg.Origin, Instance: in, srv: srv}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// browser is a headless Chromium tab with a fresh profile. Console errors,
// exceptions and Content-Security-Policy violations are collected so tests
// can assert the page ran cleanly.
type browser struct {
	ctx  context.Context
	t    testing.TB
	logs *problemLog
}

type problemLog struct {
	mu       sync.Mutex
	problems []string
}

// on returns the same tab reporting failures to t (a subtest's).
func (b *browser) on(t testing.TB) *browser { return &browser{ctx: b.ctx, t: t, logs: b.logs} }

func newBrowser(t testing.TB) *browser {
	t.Helper()
	exe := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelB()
		cancelA()
	})
	b := &browser{ctx: ctx, t: t, logs: &problemLog{}}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if os.Getenv("E2E_LOG") == "info" {
				t.Logf("console: %s", m.String())
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.problem(m.String() + " (" + m.URL + ")")
			}
		}
	}()
	return b
}

func (b *browser) problem(s string) {
	b.logs.mu.Lock()
	defer b.logs.mu.Unlock()
	b.logs.problems = append(b.logs.problems, s)
}

// loggedOut is the console line of a visitor's session check: the browser
// logs every 401, and a logged-out /api/me is one by design.
const loggedOut = "401 (Unauthorized) (http://localhost"

// Problems returns what went wrong in the page so far, minus messages a
// test provoked on purpose (matched by substring) and logged-out checks.
func (b *browser) Problems(expected ...string) []string {
	b.logs.mu.Lock()
	defer b.logs.mu.Unlock()
	var out []string
next:
	for _, p := range b.logs.problems {
		if strings.Contains(p, loggedOut) && strings.HasSuffix(p, "/api/me)") {
			continue
		}
		for _, e := range expected {
			if strings.Contains(p, e) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

// do runs steps with a deadline, failing the test with the page's text when
// something goes wrong, which is what one needs to see.
func (b *browser) do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(err)
	}
}

func (b *browser) fail(err error) {
	b.t.Helper()
	tctx, tcancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer tcancel()
	text, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf("browser: %v\npage text:\n%s\nproblems: %v", err, text, b.Problems())
}

// eval evaluates a JavaScript expression, awaiting a promise, as a T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail(fmt.Errorf("evaluating %s: %w", expr, err))
	}
	return v
}

// text returns the text of the element matching a CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail(err)
	}
	return v
}

// waitText waits until the element matching sel shows text containing want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var last string
		for {
			got, err := chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel))(ctx, t)
			if err != nil {
				return err
			}
			if strings.Contains(got, want) {
				return nil
			}
			last = got
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %q in %s (last: %q): %w", want, sel, last, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// authenticator adds a CTAP2 platform authenticator to the tab, able to
// hold discoverable credentials and verify the user, and returns its id.
func (b *browser) authenticator(verified bool) webauthn.AuthenticatorID {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.fail(err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              verified,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.fail(err)
	}
	return res.AuthenticatorID
}

// setVerified makes the authenticator pass or fail user verification;
// failing is what a cancelled prompt looks like to the page.
func (b *browser) setVerified(id webauthn.AuthenticatorID, ok bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: ok}); err != nil {
		b.fail(err)
	}
}

// setPresence turns automatic user-presence simulation on or off. With it
// off, a prompt waits as for a person who has not touched anything yet;
// passkey autofill (conditional mediation) then stays pending, as it does
// until a person picks a passkey from the username field.
func (b *browser) setPresence(id webauthn.AuthenticatorID, on bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on}); err != nil {
		b.fail(err)
	}
}

// storedCredentials lists what an authenticator holds.
func (b *browser) storedCredentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.fail(err)
	}
	return res.Credentials
}

// typeInto replaces the value of an input as a person would: select what
// is there, then type over it, so the page sees every input event.
func typeInto(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitEnabled(chromedp.CSS(sel)),
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).select()`, sel))(ctx, t)
			return err
		}),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// wasmReady waits until Go runs in the page: only the wasm renders the
// navigation links, once it knows whether someone is logged in.
func wasmReady() chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(".nav a"))
}

// screenshot saves the page as E2E_SCREENSHOTS/name.png when that variable
// names a directory, for a person to look at; otherwise it does nothing.
func (b *browser) screenshot(name string) {
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}
