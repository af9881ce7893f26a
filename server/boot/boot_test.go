package boot

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/config"
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
