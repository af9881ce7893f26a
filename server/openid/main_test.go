package openid_test

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// The library logs through slog's default logger; the tests' output is
// theirs alone.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
