package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/latchkey/latchkey/server/boot"
	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/shared"
)

// updateSeeds names the environment variable that makes
// TestBrowserCredentialsAreFuzzSeeds write what Chromium sent as the seeds
// of server/auth's credential fuzz targets.
const updateSeeds = "LATCHKEY_UPDATE_FUZZ_SEEDS"

// seedFiles are the corpus files the browser's credentials go to, by route.
var seedFiles = map[string]string{
	shared.APISignupFinish: "server/auth/testdata/fuzz/FuzzRegistrationCredential/chromium-registration",
	shared.APILoginFinish:  "server/auth/testdata/fuzz/FuzzAssertionCredential/chromium-assertion",
}

// TestBrowserCredentialsAreFuzzSeeds signs up and logs in with Chromium's
// virtual authenticator and records the RegistrationResponseJSON and
// AuthenticationResponseJSON the page sends. The committed fuzz seeds must
// have the same members as what Chromium sends today, so that the fuzzers
// start from real browser output; with LATCHKEY_UPDATE_FUZZ_SEEDS=1 the test
// writes them.
func TestBrowserCredentialsAreFuzzSeeds(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got = map[string]json.RawMessage{}
	)
	url := startWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := seedFiles[r.URL.Path]; ok && r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				var req struct {
					Credential json.RawMessage `json:"credential"`
				}
				if json.Unmarshal(body, &req) == nil {
					mu.Lock()
					got[r.URL.Path] = req.Credential
					mu.Unlock()
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	b := newBrowser(t)
	b.authenticator(true)
	signUp(b, url, "seed", "seed@example.com")
	logOut(b)
	b.do(30*time.Second,
		chromedp.Navigate(url+"/login"),
		wasmReady(),
		waitText("#login-hello", "Hello, seed"),
		chromedp.Click(chromedp.CSS("#login-device")),
		waitText("#account-username", "seed"),
	)

	mu.Lock()
	defer mu.Unlock()
	for route, file := range seedFiles {
		cred := got[route]
		if len(cred) == 0 {
			t.Fatalf("no credential was posted to %s", route)
		}
		path := filepath.Join(repoRoot(t), file)
		if os.Getenv(updateSeeds) == "1" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			corpus := "go test fuzz v1\n[]byte(" + strconv.Quote(string(cred)) + ")\n"
			if err := os.WriteFile(path, []byte(corpus), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", file)
			continue
		}
		committed, err := readCorpusBytes(path)
		if err != nil {
			t.Fatalf("%v; run this test with %s=1 to write it", err, updateSeeds)
		}
		if want, have := members(t, cred), members(t, committed); !slices.Equal(want, have) {
			t.Errorf("Chromium's credential for %s has the members\n  %v\nbut the seed %s has\n  %v\nrun this test with %s=1 to refresh the seeds", route, want, file, have, updateSeeds)
		}
	}
}

// startWith is start (harness_test.go) with a handler wrapped around the
// instance's, on SQLite and in-process stores.
func startWith(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"PUBLIC_URL":  fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port),
		"LISTEN_ADDR": ln.Addr().String(),
		"DATA_DIR":    t.TempDir(),
		"WEB_DIR":     webDir(t),
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	in, err := boot.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: wrap(in.Handler)}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		in.Close()
	})
	return cfg.Origin
}

// readCorpusBytes reads a Go fuzz corpus file holding one []byte.
func readCorpusBytes(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, value, _ := strings.Cut(string(b), "\n")
	lit := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(value), "[]byte("), ")")
	s, err := strconv.Unquote(lit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []byte(s), nil
}

// members lists the JSON Pointer of every object member in a JSON text,
// sorted: its shape, without its values.
func members(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("credential %q: %v", raw, err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, child := range m {
				out = append(out, prefix+"/"+k)
				walk(prefix+"/"+k, child)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return out
}
