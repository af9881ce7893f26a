package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/server/precompressed"
)

const module = "github.com/latchkey/latchkey"

// wasmBudget is the most app.wasm may weigh brotli-compressed. An empty
// go-app app built the same way weighs about 1,392,000; what each part of
// ours costs, and what was cut to fit, is in issue 11.
const wasmBudget = 1_500_000

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
		// Its tables are large; the standard library's vendored copy
		// (vendor/golang.org/x/text, for net/http) is another path.
		"golang.org/x/text",
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
	b := unstrippedWasm(t)
	for _, sym := range []string{"net/http.(*Transport).roundTrip", "net/http.(*Client).do", "crypto/tls.(*Conn).Handshake"} {
		if bytes.Contains(b, []byte(sym)) {
			t.Errorf("app.wasm links %s", sym)
		}
	}
}

// What was cut to fit the budget must not come back unnoticed.
func TestWasmLinksNothingCutForSize(t *testing.T) {
	b := unstrippedWasm(t)
	for sym, instead := range map[string]string{
		"context.(*cancelCtx).propagateCancel": "app/cancelctx: context.WithCancel and WithTimeout link all of the context package's machinery",
		"context.AfterFunc":                    "a select on ctx.Done(): AfterFunc links a context type of its own",
		"errors.As":                            "errors.AsType: errors.As links reflectlite's assignability checks",
	} {
		// Function names end with a NUL in the runtime's table, so
		// "errors.As" does not match errors.AsType.
		if bytes.Contains(b, []byte(sym+"\x00")) {
			t.Errorf("app.wasm links %s; use %s", sym, instead)
		}
	}
	// Each go-app element type used links twenty-odd methods; the pages
	// build their markup with app.Elem (app/ui/html.go). These are the
	// ones go-app links by itself, with Elem's two.
	links := map[string]bool{"Elem": true, "ElemSelfClosing": true, "Element": true,
		"Body": true, "Code": true, "Div": true, "H1": true, "Img": true, "P": true}
	for _, m := range regexp.MustCompile(`go-app/v10/pkg/app\.\(\*html(\w+)\)`).FindAllSubmatch(b, -1) {
		if tag := string(m[1]); !links[tag] {
			links[tag] = true // once each
			t.Errorf("app.wasm links go-app's html%s; build it with app.Elem (app/ui/html.go)", tag)
		}
	}
}

var unstripped struct {
	once sync.Once
	b    []byte
	err  error
}

// unstrippedWasm is app.wasm built with its symbol names, once for all
// the tests that read them.
func unstrippedWasm(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("short mode: not building the wasm with symbols")
	}
	unstripped.once.Do(func() {
		dir, err := os.MkdirTemp("", "wasm")
		if err != nil {
			unstripped.err = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "app.wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			unstripped.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		unstripped.b, unstripped.err = os.ReadFile(bin)
	})
	if unstripped.err != nil {
		t.Fatal(unstripped.err)
	}
	if !bytes.Contains(unstripped.b, []byte("syscall/js.")) {
		t.Fatal("symbol names missing from the unstripped build; the checks on it would prove nothing")
	}
	return unstripped.b
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
