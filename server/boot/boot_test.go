package boot

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/shared"
)

// An unreachable dependency stops the start with an error that says which,
// not a panic or a hang.
func TestNewFailsClearlyWhenADependencyIsUnreachable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?sslmode=disable"}, "database"},
		{map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, "redis"},
		{map[string]string{"WEB_DIR": t.TempDir()}, "make wasm"},
	} {
		tc.env["DATA_DIR"] = t.TempDir()
		cfg, err := config.Load(func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		in, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || in != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, %v; want an error about %s", tc.env, in, err, tc.want)
		}
	}
}

// The configured limits reach the edge, and RATE_LIMITS=off turns them off
// with a warning at start.
func TestRateLimitsFromTheConfiguration(t *testing.T) {
	web := t.TempDir()
	// Any bytes do: the server only serves and compresses the file.
	if err := os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, off := range []bool{false, true} {
		env := map[string]string{"DATA_DIR": t.TempDir(), "WEB_DIR": web, "RATE_LIMIT_LOGIN_IP": "2/1h"}
		if off {
			env["RATE_LIMITS"] = "off"
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		in, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logged, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close() })
		var statuses []int
		for range 3 {
			req := httptest.NewRequest("POST", shared.APILoginBegin, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			in.Handler.ServeHTTP(rec, req)
			statuses = append(statuses, rec.Code)
		}
		want := []int{200, 200, 429}
		if off {
			want = []int{200, 200, 200}
		}
		if !slices.Equal(statuses, want) {
			t.Errorf("RATE_LIMITS off=%v: login begins answered %v, want %v", off, statuses, want)
		}
		warned := strings.Contains(logged.String(), "level=WARN") && strings.Contains(logged.String(), "RATE_LIMITS=off")
		if warned != off {
			t.Errorf("RATE_LIMITS off=%v: warning logged %v:\n%s", off, warned, logged.String())
		}
	}
}

// With clients configured the provider serves discovery; a key-encryption
// key that does not open the stored signing keys stops the start.
func TestOpenIDProvider(t *testing.T) {
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	clients := filepath.Join(t.TempDir(), "clients.json")
	err := os.WriteFile(clients, []byte(`[{"id": "app", "name": "App", "secret": "0123456789abcdef0123456789abcdef",
		"redirect_uris": ["https://app.example/cb"]}]`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	open := func(key string) (*Instance, error) {
		env := map[string]string{"DATA_DIR": data, "WEB_DIR": web, "PUBLIC_URL": "http://localhost:8080",
			"OIDC_CLIENTS_FILE": clients, "OIDC_KEY_ENCRYPTION_KEY": key}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	in, err := open("the-first-key-encryption-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	in.Handler.ServeHTTP(rec, httptest.NewRequest("GET", shared.OIDCDiscovery, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"issuer":"http://localhost:8080"`) {
		t.Errorf("discovery: %d %s", rec.Code, rec.Body)
	}
	in.Close()

	in, err = open("another-key-encryption-key-0123456789ab")
	if err == nil || !strings.Contains(err.Error(), "OIDC_KEY_ENCRYPTION_KEY") {
		t.Errorf("another key: %v, %v; want an error naming OIDC_KEY_ENCRYPTION_KEY", in, err)
	}
	if in != nil {
		in.Close()
	}
}

// DATABASE_MAX_CONNS reaches the Postgres pool, and the start says how
// large the pool is.
func TestDatabaseMaxConnsBoundsThePoolAndIsLogged(t *testing.T) {
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": testenv.Postgres(t), "WEB_DIR": web, "DATABASE_MAX_CONNS": "5"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	in, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	if n := in.Users.(*bunstore.Store).MaxConns(); n != 5 {
		t.Errorf("pool bound %d, want 5", n)
	}
	if !strings.Contains(logged.String(), `msg="database ready" dialect=postgres max_conns=5`) {
		t.Errorf("the start does not log the pool's size:\n%s", logged.String())
	}
}
