// Package pwa serves the Latchkey progressive web app: go-app's handler
// (prerendered pages, manifest, service worker) and the wasm, compressed.
package pwa

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/app/ui"
	"github.com/latchkey/latchkey/server/precompressed"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// PWA is the handler for everything that is not the API.
type PWA struct {
	// Version names the built assets; see versionOf.
	Version string
	// Wasm is app.wasm with its compressed variants.
	Wasm    *precompressed.File
	handler http.Handler
}

var registerOnce sync.Once

// New loads the assets in webDir (app.wasm, app.css, icons).
func New(webDir string) (*PWA, error) {
	wasm, err := precompressed.Load(filepath.Join(webDir, "app.wasm"), "application/wasm")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no app.wasm: build it with `make wasm` (or set WEB_DIR)", webDir)
	}
	if err != nil {
		return nil, fmt.Errorf("loading app.wasm: %w", err)
	}
	version, err := versionOf(webDir)
	if err != nil {
		return nil, fmt.Errorf("hashing %s: %w", webDir, err)
	}
	registerOnce.Do(ui.Register)

	// Every page is cached by the service worker, so the installed app opens
	// any of them without a network and shows its offline state.
	cacheable := []string{"/web/icon.svg"}
	icons, _ := filepath.Glob(filepath.Join(webDir, "icons", "*.svg"))
	for _, ic := range icons {
		cacheable = append(cacheable, "/web/icons/"+filepath.Base(ic))
	}
	for _, p := range shared.Pages {
		if p != shared.PageHome {
			cacheable = append(cacheable, p)
		}
	}
	h := &app.Handler{
		Name:               "Latchkey",
		ShortName:          "Latchkey",
		Title:              "Latchkey",
		Description:        "Passwordless sign-in with passkeys.",
		Lang:               "en",
		Icon:               app.Icon{Default: "/web/icon-192.png", Large: "/web/icon-512.png", Maskable: "/web/icon-maskable-512.png", SVG: "/web/icon.svg"},
		ThemeColor:         "#1d4ed8",
		BackgroundColor:    "#f8fafc",
		LoadingLabel:       "Starting Latchkey… {progress}%",
		Styles:             []string{"/web/app.css"},
		CacheableResources: cacheable,
		Resources:          dir(webDir),
		Version:            version,
		// The wasm travels compressed; the loader's progress bar counts the
		// bytes it inflates, so it needs the raw size.
		WasmContentLength: strconv.Itoa(len(wasm.Raw)),
	}
	mux := http.NewServeMux()
	mux.Handle("GET /web/app.wasm", wasm)
	mux.Handle("/", h)
	return &PWA{Version: version, Wasm: wasm, handler: mux}, nil
}

func (p *PWA) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// versionOf hashes every asset in webDir. go-app only replaces an installed
// app when the version changes, so it must change with every build that
// changes a byte, and every replica serving the same build must agree;
// a content hash is both.
func versionOf(webDir string) (string, error) {
	var names []string
	err := filepath.WalkDir(webDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".br") || strings.HasSuffix(path, ".gz") {
			return nil
		}
		names = append(names, path)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(webDir, n)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

// dir serves /web/* from a directory anywhere on disk (go-app's LocalDir
// insists the directory be called "web" under the working directory).
type dir string

func (d dir) Resolve(location string) string { return location }

func (d dir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/web/")
	if name == "" || strings.HasSuffix(name, "/") || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	path := filepath.Join(string(d), filepath.FromSlash(name))
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, path)
}
