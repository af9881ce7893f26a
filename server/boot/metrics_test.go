package boot

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/metrics"
	"github.com/latchkey/latchkey/shared"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads the metrics as Prometheus would.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// value is the sample of name whose labels are exactly labels ("" for none).
func value(t *testing.T, exposition, name, labels string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || m[1] != name || m[2] != labels {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return v
	}
	return 0
}

// METRICS_ADDR serves the metrics on a listener of their own. After a
// sign-up and a failed login the counters have moved, and no label of
// Latchkey's series holds anything but a value from its fixed set: not the
// name, the address or the client's IP address.
func TestMetricsAreServedApartAndCountCeremonies(t *testing.T) {
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	listen, metricsAddr := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	origin := "http://localhost:" + port
	env := map[string]string{"DATA_DIR": t.TempDir(), "WEB_DIR": web, "PUBLIC_URL": origin,
		"LISTEN_ADDR": listen, "METRICS_ADDR": metricsAddr}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	metricsURL := "http://" + metricsAddr + "/metrics"
	for i := 0; ; i++ {
		resp, err := http.Get(metricsURL)
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("the metrics listener never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	c := client.NewHTTP(origin, nil)
	key := passkeytest.New(origin, "localhost")
	const name, email = "metricsalice", "metrics.alice@example.com"
	b, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: name, Email: email})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := key.Register(b.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: b.Ceremony, Credential: cred}); err != nil {
		t.Fatal(err)
	}
	lb, err := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := key.Login(lb.Options)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: lb.Ceremony, Credential: passkeytest.Tamper(assertion, "signature")})
	if client.Code(err) != shared.CodeCredentialRejected {
		t.Fatalf("a tampered login: %v, want credential_rejected", err)
	}

	got := scrape(t, metricsURL)
	for _, want := range []struct {
		name, labels string
		value        float64
	}{
		{"latchkey_ceremonies_total", `kind="signup",outcome="ok",step="begin"`, 1},
		{"latchkey_ceremonies_total", `kind="signup",outcome="ok",step="finish"`, 1},
		{"latchkey_ceremonies_total", `kind="login",outcome="ok",step="begin"`, 1},
		{"latchkey_ceremonies_total", `kind="login",outcome="credential_rejected",step="finish"`, 1},
		{"latchkey_ceremonies_total", `kind="login",outcome="ok",step="finish"`, 0},
		{"latchkey_sessions_started_total", `kind="signup"`, 1},
		{"latchkey_sessions_started_total", `kind="login"`, 0},
		{"latchkey_http_requests_total", `code="credential_rejected",route="POST /api/login/finish"`, 1},
		{"latchkey_ceremony_duration_seconds_count", `kind="login",step="finish"`, 1},
		{"latchkey_http_request_duration_seconds_count", `route="POST /api/signup/finish"`, 1},
		// The pool of the SQLite database: at least one connection.
		{"go_sql_open_connections", `db_name="latchkey"`, -1},
	} {
		v := value(t, got, want.name, want.labels)
		if want.value < 0 && v <= 0 || want.value >= 0 && v != want.value {
			t.Errorf("%s{%s} = %v, want %v", want.name, want.labels, v, want.value)
		}
	}

	fixed := map[string][]string{
		"route": metrics.Routes(), "code": metrics.Outcomes(), "outcome": metrics.Outcomes(),
		"kind": metrics.Kinds(), "step": {metrics.StepBegin, metrics.StepFinish}, "db_name": {"latchkey"},
	}
	series := 0
	for _, line := range strings.Split(got, "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || !(strings.HasPrefix(m[1], "latchkey_") || strings.HasPrefix(m[1], "go_sql_")) {
			continue
		}
		series++
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			if p[1] == "le" {
				continue // a histogram's bucket bound
			}
			if allowed, ok := fixed[p[1]]; !ok || !slices.Contains(allowed, p[2]) {
				t.Errorf("label %s=%q is outside its fixed set: %s", p[1], p[2], line)
			}
		}
	}
	if series < 50 {
		t.Errorf("only %d of Latchkey's series found:\n%s", series, got)
	}
	for _, secret := range []string{name, email, "127.0.0.1", lb.Ceremony} {
		if strings.Contains(got, secret) {
			t.Errorf("the metrics contain %q", secret)
		}
	}

	// Not on the public listener.
	resp, err := http.Get(origin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "latchkey_http_requests_total") {
		t.Error("the public listener serves the metrics")
	}
}
