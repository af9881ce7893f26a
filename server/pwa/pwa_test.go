package pwa

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/latchkey/latchkey/shared"
)

// fakeWasm is what the tests serve as app.wasm: some kilobytes that start
// like a wasm module and compress well.
var fakeWasm = bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 latchkey test module "), 2048)

// webDir makes a web directory like the one `make wasm` leaves: a fake
// app.wasm (without precompressed variants), a stylesheet and the real icons.
func webDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "app.wasm"), fakeWasm)
	write(t, filepath.Join(dir, "app.css"), []byte("body { font-family: system-ui, sans-serif; }\n"))
	for _, name := range []string{"icon-192.png", "icon-512.png", "icon-maskable-512.png", "icon.svg"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "web", name))
		if err != nil {
			t.Fatalf("the real icons are in web/: %v", err)
		}
		write(t, filepath.Join(dir, name), b)
	}
	return dir
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the files of src into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dst, e.Name()), b)
	}
	return dst
}

func newPWA(t *testing.T, dir string) *PWA {
	t.Helper()
	p, err := New(dir)
	if err != nil {
		t.Fatalf("New(%s): %v", dir, err)
	}
	return p
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestNewWithoutWasmSaysHowToBuildIt(t *testing.T) {
	t.Parallel()
	dir := webDir(t)
	if err := os.Remove(filepath.Join(dir, "app.wasm")); err != nil {
		t.Fatal(err)
	}
	_, err := New(dir)
	if err == nil {
		t.Fatal("New succeeded without app.wasm")
	}
	msg := err.Error()
	if !strings.Contains(msg, "make wasm") || !strings.Contains(msg, "app.wasm") || !strings.Contains(msg, dir) {
		t.Errorf("error %q should name the directory, app.wasm and `make wasm`", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is more than one line", msg)
	}
}

func TestServesTheWasmCompressed(t *testing.T) {
	t.Parallel()
	p := newPWA(t, webDir(t))
	if p.Wasm.Fresh {
		t.Error("Fresh with no .br/.gz beside app.wasm")
	}
	for _, c := range []struct{ accept, enc string }{
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"gzip", "gzip"},
		{"", ""},
	} {
		t.Run("Accept-Encoding "+c.accept, func(t *testing.T) {
			w := get(p, "/web/app.wasm", "Accept-Encoding", c.accept)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/wasm" {
				t.Errorf("Content-Type %q (WebAssembly.instantiateStreaming needs application/wasm)", ct)
			}
			if got := w.Header().Get("Content-Encoding"); got != c.enc {
				t.Errorf("Content-Encoding %q, want %q", got, c.enc)
			}
			if !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary %q", w.Header().Get("Vary"))
			}
			var r io.Reader = w.Body
			switch c.enc {
			case "br":
				r = brotli.NewReader(r)
			case "gzip":
				gr, err := gzip.NewReader(r)
				if err != nil {
					t.Fatal(err)
				}
				r = gr
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, fakeWasm) {
				t.Errorf("body does not decode to app.wasm (%d bytes, %v)", len(got), err)
			}
			if c.enc != "" && w.Body.Len() >= len(fakeWasm) {
				t.Errorf("%s body is %d bytes, no smaller than the %d raw", c.enc, w.Body.Len(), len(fakeWasm))
			}
		})
	}
}

func TestVersionIsAContentHash(t *testing.T) {
	t.Parallel()
	dir := webDir(t)
	v := newPWA(t, dir).Version
	if len(v) < 16 {
		t.Fatalf("version %q", v)
	}

	t.Run("stable for the same contents", func(t *testing.T) {
		if again := newPWA(t, dir).Version; again != v {
			t.Errorf("version %q, then %q", v, again)
		}
		// Replicas serve the same build from different paths and must agree.
		if other := newPWA(t, copyDir(t, dir)).Version; other != v {
			t.Errorf("a copy of the directory has version %q, want %q", other, v)
		}
	})

	t.Run("not changed by precompressed variants", func(t *testing.T) {
		d := copyDir(t, dir)
		write(t, filepath.Join(d, "app.wasm.br"), []byte("stale"))
		write(t, filepath.Join(d, "app.wasm.gz"), []byte("stale"))
		if got := newPWA(t, d).Version; got != v {
			t.Errorf("version %q with .br/.gz files, want %q", got, v)
		}
	})

	changes := map[string]func(t *testing.T, d string){
		"a byte appended to app.css": func(t *testing.T, d string) {
			f, err := os.OpenFile(filepath.Join(d, "app.css"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte(" "))
			f.Close()
		},
		"a different app.wasm": func(t *testing.T, d string) {
			write(t, filepath.Join(d, "app.wasm"), append([]byte{}, fakeWasm[:len(fakeWasm)-1]...))
		},
		"a changed icon": func(t *testing.T, d string) { write(t, filepath.Join(d, "icon.svg"), []byte("<svg/>")) },
		"a new file":     func(t *testing.T, d string) { write(t, filepath.Join(d, "robots.txt"), []byte("User-agent: *\n")) },
		"a renamed file": func(t *testing.T, d string) { os.Rename(filepath.Join(d, "icon.svg"), filepath.Join(d, "icon2.svg")) },
		"a file in a subfolder": func(t *testing.T, d string) {
			os.Mkdir(filepath.Join(d, "fonts"), 0o755)
			write(t, filepath.Join(d, "fonts", "a.woff2"), []byte("x"))
		},
	}
	for name, change := range changes {
		t.Run("changed by "+name, func(t *testing.T) {
			d := copyDir(t, dir)
			change(t, d)
			if got := newPWA(t, d).Version; got == v {
				t.Errorf("version %q did not change", got)
			}
		})
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	p := newPWA(t, webDir(t))
	w := get(p, "/manifest.webmanifest")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var m struct {
		Name      string `json:"name"`
		ShortName string `json:"short_name"`
		StartURL  string `json:"start_url"`
		Display   string `json:"display"`
		Icons     []struct {
			Src     string `json:"src"`
			Type    string `json:"type"`
			Sizes   string `json:"sizes"`
			Purpose string `json:"purpose"`
		} `json:"icons"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("manifest %s: %v", w.Body, err)
	}
	if m.Name != "Latchkey" || m.ShortName != "Latchkey" || m.Display != "standalone" || m.StartURL != "/" {
		t.Errorf("manifest %+v", m)
	}
	want := map[string]string{
		"192x192 ":         "/web/icon-192.png",
		"512x512 ":         "/web/icon-512.png",
		"512x512 maskable": "/web/icon-maskable-512.png",
		"any ":             "/web/icon.svg",
	}
	got := map[string]string{}
	for _, ic := range m.Icons {
		got[ic.Sizes+" "+ic.Purpose] = ic.Src
	}
	for k, src := range want {
		if got[k] != src {
			t.Errorf("icon %q is %q, want %q (icons %+v)", k, got[k], src, m.Icons)
		}
		// And each is actually there.
		if w := get(p, src); w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("GET %s: %d, %d bytes", src, w.Code, w.Body.Len())
		}
	}
}

func TestPagesArePrerendered(t *testing.T) {
	t.Parallel()
	p := newPWA(t, webDir(t))

	w := get(p, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	body := w.Body.String()
	for _, want := range []string{
		"Sign in without passwords",
		`id="landing-title"`,
		`href="/manifest.webmanifest"`,
		`href="/web/app.css"`,
		`src="/app.js"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / lacks %s", want)
		}
	}

	for _, page := range shared.Pages {
		if w := get(p, page); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<html") {
			t.Errorf("GET %s: %d, %d bytes", page, w.Code, w.Body.Len())
		}
	}
	if w := get(p, "/no-such-page"); w.Code != http.StatusNotFound {
		t.Errorf("GET /no-such-page: %d", w.Code)
	}
}

func TestWorkerAndLoaderCarryTheVersion(t *testing.T) {
	t.Parallel()
	p := newPWA(t, webDir(t))

	w := get(p, "/app-worker.js")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	worker := w.Body.String()
	if !strings.Contains(worker, p.Version) {
		t.Errorf("app-worker.js lacks version %q", p.Version)
	}
	for _, res := range []string{"/web/app.wasm", "/web/app.css", "/web/icon.svg", shared.PageOffline} {
		if !strings.Contains(worker, `"`+res+`"`) {
			t.Errorf("app-worker.js does not cache %s", res)
		}
	}

	js := get(p, "/app.js").Body.String()
	if !strings.Contains(js, p.Version) {
		t.Errorf("app.js lacks version %q", p.Version)
	}
	// The loader's progress counts inflated bytes, so it needs the raw size.
	if !strings.Contains(js, strconv.Itoa(len(fakeWasm))) {
		t.Errorf("app.js lacks the raw wasm size %d", len(fakeWasm))
	}
}

func TestWebDirServesOnlyItsFiles(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "web")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := webDir(t)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		write(t, filepath.Join(dir, e.Name()), b)
	}
	write(t, filepath.Join(parent, "secret.txt"), []byte("secret"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	p := newPWA(t, dir)

	if w := get(p, "/web/icon.svg"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<svg") {
		t.Errorf("GET /web/icon.svg: %d %q", w.Code, w.Body)
	}
	for _, path := range []string{"/web/", "/web/sub/", "/web/sub", "/web/nope.css", "/web/..%2fsecret.txt", "/web/%2e%2e/secret.txt"} {
		if w := get(p, path); w.Code == http.StatusOK || strings.Contains(w.Body.String(), "secret") {
			t.Errorf("GET %s: %d %q", path, w.Code, w.Body)
		}
	}
}
