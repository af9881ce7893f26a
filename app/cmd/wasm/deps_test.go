package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/precompressed"
)

const module = "github.com/latchkey/latchkey"

// wasmBudget is the most app.wasm may weigh brotli-compressed.
const wasmBudget = 1_600_000

func goList(t *testing.T, format string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", format, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Server-only code must never reach the browser: it would bloat the
// download and could leak what only the server should know.
func TestWasmLinksNoServerPackages(t *testing.T) {
	forbidden := []string{
		"github.com/uptrace/bun", "github.com/redis/", "github.com/go-webauthn/",
		"modernc.org/", "github.com/jackc/", "github.com/lib/pq",
		module + "/server/",
	}
	for _, pkg := range goList(t, "{{.ImportPath}}") {
		// database/sql/driver comes with google/uuid (via go-app) and is
		// only interfaces; database/sql itself would mean a data layer.
		if pkg == "database/sql" {
			t.Errorf("the wasm imports %s", pkg)
		}
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("the wasm imports %s", pkg)
			}
		}
	}
}

// The wasm talks to the API through the browser's fetch. go-app imports
// net/http for its server-side Handler, so the package is listed, but none of
// our packages may use it: that would link the HTTP client and TLS.
func TestWasmUsesFetchNotNetHTTP(t *testing.T) {
	for _, line := range goList(t, `{{.ImportPath}}|{{join .Imports " "}}`) {
		pkg, imports, _ := strings.Cut(line, "|")
		if strings.HasPrefix(pkg, "github.com/maxence-charriere/go-app/") || !strings.Contains(pkg, ".") {
			continue // go-app itself and the standard library
		}
		for _, imp := range strings.Fields(imports) {
			if imp == "net/http" || imp == "crypto/tls" {
				t.Errorf("%s imports %s; use the fetch-based client in app/client", pkg, imp)
			}
		}
	}

	// And in the linked binary only the packages' init functions remain:
	// the function-name section would show a transport or a TLS conn.
	if testing.Short() {
		t.Skip("short mode: not building the wasm with symbols")
	}
	bin := filepath.Join(t.TempDir(), "app.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"net/http.(*Transport).roundTrip", "net/http.(*Client).do", "crypto/tls.(*Conn).Handshake"} {
		if bytes.Contains(b, []byte(sym)) {
			t.Errorf("app.wasm links %s", sym)
		}
	}
	if !bytes.Contains(b, []byte("syscall/js.")) {
		t.Error("symbol names missing from the unstripped build; the check above proves nothing")
	}
}

// The budget holds for the file the server actually sends: web/app.wasm as
// `make wasm` builds and compresses it.
func TestWasmFitsItsBudget(t *testing.T) {
	path := filepath.Join("..", "..", "..", "web", "app.wasm")
	if _, err := os.Stat(path); err != nil {
		t.Skip("web/app.wasm not built; `make test` builds it first")
	}
	f, err := precompressed.Load(path, "application/wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Fresh {
		if err := precompressed.Write(path); err != nil {
			t.Fatal(err)
		}
		if f, err = precompressed.Load(path, "application/wasm"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("app.wasm: %d bytes raw, %d gzip, %d brotli", len(f.Raw), len(f.Gzip), len(f.Brotli))
	if len(f.Brotli) > wasmBudget {
		t.Errorf("app.wasm is %d bytes brotli-compressed; the budget is %d", len(f.Brotli), wasmBudget)
	}
}
