package precompressed

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestServesTheEncodingTheClientAccepts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.wasm")
	raw := bytes.Repeat([]byte("\x00asm wasm bytes "), 4096)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, "application/wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Fresh {
		t.Error("build-time variants were not used")
	}
	for _, tc := range []struct{ accept, enc string }{
		{"gzip, deflate, br, zstd", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"", ""},
	} {
		req := httptest.NewRequest("GET", "/web/app.wasm", nil)
		req.Header.Set("Accept-Encoding", tc.accept)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if got := rec.Header().Get("Content-Encoding"); got != tc.enc {
			t.Errorf("Accept-Encoding %q: got encoding %q, want %q", tc.accept, got, tc.enc)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/wasm" {
			t.Errorf("content type %q", ct)
		}
		var r io.Reader = rec.Body
		switch tc.enc {
		case "br":
			r = brotli.NewReader(r)
		case "gzip":
			if r, err = gzip.NewReader(r); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := io.ReadAll(r); !bytes.Equal(got, raw) {
			t.Errorf("%q: body does not decode to the file", tc.accept)
		}
		// A revalidation with the ETag just served is answered 304.
		req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		rec2 := httptest.NewRecorder()
		f.ServeHTTP(rec2, req)
		if rec2.Code != http.StatusNotModified {
			t.Errorf("%q: revalidation got %d", tc.accept, rec2.Code)
		}
	}
}

func TestRemakesStaleVariants(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.wasm")
	os.WriteFile(path, []byte("old build"), 0o644)
	if err := Write(path); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte("new build"), 0o644)
	f, err := Load(path, "application/wasm")
	if err != nil {
		t.Fatal(err)
	}
	if f.Fresh {
		t.Error("stale variants reported fresh")
	}
	got, _ := io.ReadAll(brotli.NewReader(bytes.NewReader(f.Brotli)))
	if string(got) != "new build" {
		t.Errorf("brotli variant holds %q", got)
	}
}
