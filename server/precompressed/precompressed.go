// Package precompressed serves a static file in the encoding the client
// prefers (brotli, gzip, identity). The compressed variants are made at
// build time at the highest levels; at start they are checked against the
// file, and made again quickly in memory if they are missing or stale.
package precompressed

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// File is one file with its compressed variants.
type File struct {
	ContentType       string
	Raw, Brotli, Gzip []byte
	// Hash is the SHA-256 of Raw, hex.
	Hash string
	// Fresh reports whether the build-time variants were used; false means
	// they were made at start at lower levels.
	Fresh bool
}

// Write makes path.br and path.gz at the highest compression levels.
func Write(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	br, err := compressBrotli(raw, brotli.BestCompression)
	if err != nil {
		return err
	}
	gz, err := compressGzip(raw, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".br", br, 0o644); err != nil {
		return err
	}
	return os.WriteFile(path+".gz", gz, 0o644)
}

// Load reads path and its variants. Variants that are missing or do not
// decompress to the file are replaced by ones made now, at levels that take
// well under a second.
func Load(path, contentType string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	f := &File{ContentType: contentType, Raw: raw, Hash: hex.EncodeToString(sum[:]), Fresh: true}
	f.Brotli, _ = os.ReadFile(path + ".br")
	if f.Brotli == nil || !same(brotli.NewReader(bytes.NewReader(f.Brotli)), raw) {
		f.Fresh = false
		if f.Brotli, err = compressBrotli(raw, 5); err != nil {
			return nil, err
		}
	}
	f.Gzip, _ = os.ReadFile(path + ".gz")
	gr, gerr := gzip.NewReader(bytes.NewReader(f.Gzip))
	if f.Gzip == nil || gerr != nil || !same(gr, raw) {
		f.Fresh = false
		if f.Gzip, err = compressGzip(raw, gzip.DefaultCompression); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// ServeHTTP answers with the best encoding the request accepts. The ETag
// names the content and the encoding, so caches never mix the variants.
func (f *File) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, enc := f.Raw, ""
	switch {
	case accepts(r, "br"):
		body, enc = f.Brotli, "br"
	case accepts(r, "gzip"):
		body, enc = f.Gzip, "gzip"
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	etag := `"` + f.Hash[:32] + enc + `"`
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func accepts(r *http.Request, enc string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		// "br;q=0" means "never brotli".
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

func same(r io.Reader, want []byte) bool {
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	return err == nil && bytes.Equal(got, want)
}

func compressBrotli(raw []byte, level int) ([]byte, error) {
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, level)
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("brotli: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("brotli: %w", err)
	}
	return b.Bytes(), nil
}

func compressGzip(raw []byte, level int) ([]byte, error) {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return b.Bytes(), nil
}
