package boot_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/latchkey/latchkey"

// adapters are the packages at the edge of the server: each wraps one
// technology for the domain, and none may reach into another (only boot,
// the composition root, knows them all).
var adapters = []string{
	"server/httpapi", "server/mail", "server/metrics", "server/openid", "server/pwa",
	"server/store/bunstore", "server/store/memstore", "server/store/redisstore",
}

type listed struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// packages lists the module's packages (not their tests) with their direct
// imports.
func packages(t *testing.T) map[string]listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Standard", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]listed{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	return pkgs
}

func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// The README's layering rules, checked: dependencies point inward.
func TestDependenciesPointInward(t *testing.T) {
	pkgs := packages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	inModule := func(imp string) (string, bool) { return strings.CutPrefix(imp, module+"/") }
	under := func(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
	adapterOf := func(pkg string) string {
		for _, a := range adapters {
			if under(pkg, a) {
				return a
			}
		}
		return ""
	}

	for name, p := range pkgs {
		for _, imp := range p.Imports {
			local, ours := inModule(imp)
			switch {
			case name == "shared" && !isStandard(imp):
				t.Errorf("shared imports %s: it is compiled into the wasm and may use the standard library only", imp)
			case under(name, "server/auth") && ours && !under(local, "server/auth") && local != "shared":
				t.Errorf("the domain (%s) imports %s: it may import only shared and its own packages", name, local)
			case ours && adapterOf(name) != "" && adapterOf(local) != "" && adapterOf(name) != adapterOf(local):
				t.Errorf("adapter %s imports adapter %s: adapters never import each other", name, local)
			case strings.HasPrefix(imp, "github.com/go-webauthn/") && !under(name, "server/auth"):
				t.Errorf("%s imports %s: only the domain (server/auth) imports go-webauthn", name, imp)
			}
		}
	}
	// The rules must be looking at real packages, or they prove nothing.
	for _, want := range append(slices.Clone(adapters), "shared", "server/auth") {
		if _, ok := pkgs[want]; !ok {
			t.Errorf("package %s not found: update this test", want)
		}
	}
}
