package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// csp lets go-app's scripts and the wasm run ('wasm-unsafe-eval' is what
// WebAssembly.instantiate needs) and nothing else: no inline script or
// style, no other origin, no framing.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "publickey-credentials-create=(self), publickey-credentials-get=(self), camera=(), microphone=(), geolocation=()")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe gives each request an id and a logger carrying it, recovers
// panics into a JSON 500, writes one access-log line and tells obs (when
// there is one) of the answer. The line has the path but never the query
// or any header: those may hold tokens.
func observe(base *slog.Logger, obs Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID()
		w.Header().Set("X-Request-Id", id)
		log := base.With("request_id", id)
		st := &requestState{log: log}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			level := slog.LevelInfo
			if strings.HasPrefix(r.URL.Path, "/web/") || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
				level = slog.LevelDebug
			}
			took := time.Since(start)
			log.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"bytes", rec.bytes, "duration", took.Round(time.Microsecond))
			if obs != nil {
				code := st.code
				if code == "" {
					code = codeOfStatus(rec.status)
				}
				obs.ObserveRequest(routeOf(r), code, took)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func requestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ClientIP is clientIP for the OpenID Connect provider's rate limits.
func ClientIP(r *http.Request, trusted []*net.IPNet) string { return clientIP(r, trusted) }

// clientIP is the address rate limits and the session list use: the peer,
// or, when the peer is a trusted proxy, the last untrusted hop of
// X-Forwarded-For (the first ones are whatever the client chose to send).
func clientIP(r *http.Request, trusted []*net.IPNet) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !isTrusted(host, trusted) {
		return host
	}
	// Several X-Forwarded-For lines form one list (RFC 9110 §5.3); proxies
	// that add their own line would otherwise let a client's line win.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if net.ParseIP(hop) == nil {
			break
		}
		if !isTrusted(hop, trusted) {
			return hop
		}
		host = hop
	}
	return host
}

func isTrusted(ip string, trusted []*net.IPNet) bool {
	p := net.ParseIP(ip)
	if p == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(p) {
			return true
		}
	}
	return false
}
