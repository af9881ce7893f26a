package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// Check is one dependency /readyz pings.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// Options configure the HTTP edge.
type Options struct {
	Logger *slog.Logger
	// Origin is PUBLIC_URL's origin; state-changing requests from any
	// other origin are refused.
	Origin string
	// Secure makes cookies Secure with the __Host- prefix (https origins).
	Secure         bool
	TrustedProxies []*net.IPNet
	// PWA serves every path that is not the API or a health check.
	PWA   http.Handler
	Ready []Check

	Auth *auth.Service
	// Limiter counts sign-up, login, login-link and add-passkey attempts
	// against Limits (the defaults where Limits has no entry); nil means no
	// limits at all.
	Limiter auth.Limiter
	Limits  auth.Limits
	// RememberFor is the life of the remembered-user cookie.
	RememberFor time.Duration
	// Now is the clock (tests inject one).
	Now func() time.Time
}

var zeroTime time.Time

// Server is Latchkey's HTTP handler.
type Server struct {
	opts     Options
	throttle *auth.Throttle
	mux      *http.ServeMux
	h        http.Handler
}

// New builds the handler with every route.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	if opts.Limiter != nil {
		s.throttle = auth.NewThrottle(opts.Limiter, opts.Limits, opts.Logger)
	}
	s.routes()

	cop := http.NewCrossOriginProtection()
	if opts.Origin != "" {
		// Behind a proxy the Host header may not be the public one; the
		// configured origin is always trusted.
		_ = cop.AddTrustedOrigin(opts.Origin)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, auth.CrossOrigin())
	}))
	s.h = observe(opts.Logger, securityHeaders(opts.Secure, cop.Handler(s.mux)))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux.Handle("GET "+shared.HealthLive, handlerFunc(s.live))
	s.mux.Handle("GET "+shared.HealthReady, handlerFunc(s.ready))
	if s.opts.Auth != nil {
		s.mux.Handle("POST "+shared.APISignupBegin, handlerFunc(s.signupBegin))
		s.mux.Handle("POST "+shared.APISignupFinish, handlerFunc(s.signupFinish))
		s.mux.Handle("POST "+shared.APILoginBegin, handlerFunc(s.loginBegin))
		s.mux.Handle("POST "+shared.APILoginFinish, handlerFunc(s.loginFinish))
		s.mux.Handle("GET "+shared.APILoginRemembered, handlerFunc(s.remembered))
		s.mux.Handle("POST "+shared.APILoginForget, handlerFunc(s.forget))
		s.mux.Handle("POST "+shared.APILoginEmail, handlerFunc(s.emailLogin))
		s.mux.Handle("POST "+shared.APILoginEmailVerify, handlerFunc(s.emailVerify))
		s.mux.Handle("POST "+shared.APILoginEmailAccount, handlerFunc(s.emailLinkAccount))
		s.mux.Handle("POST "+shared.APIAccountEmail, s.requireSession(s.accountEmail))
		s.mux.Handle("POST "+shared.APIAccountDisown, s.requireSession(s.accountDisown))
		s.mux.Handle("GET "+shared.APIMe, s.requireSession(s.me))
		s.mux.Handle("POST "+shared.APILogout, handlerFunc(s.logout))
		s.mux.Handle("GET "+shared.APIPasskeys, s.requireSession(s.passkeys))
		s.mux.Handle("POST "+shared.APIPasskeysBegin, s.requireSession(s.passkeyBegin))
		s.mux.Handle("POST "+shared.APIPasskeysFinish, s.requireSession(s.passkeyFinish))
		s.mux.Handle("PATCH "+shared.APIPasskey, s.requireSession(s.passkeyRename))
		s.mux.Handle("DELETE "+shared.APIPasskey, s.requireSession(s.passkeyDelete))
		s.mux.Handle("GET "+shared.APISessions, s.requireSession(s.sessions))
		s.mux.Handle("DELETE "+shared.APISession, s.requireSession(s.sessionEnd))
		s.mux.Handle("DELETE "+shared.APISessions, s.requireSession(s.sessionsEnd))
	}
	// Unknown API paths get a JSON 404 rather than the app's HTML.
	s.mux.Handle("/api/", handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return auth.NoEndpoint(r.Method, r.URL.Path)
	}))
	if s.opts.PWA != nil {
		// "/" rather than "GET /": a method-only pattern would conflict
		// with "/api/" in net/http's precedence rules.
		s.mux.Handle("/", handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				return auth.PagesOnlyGET()
			}
			s.opts.PWA.ServeHTTP(w, r)
			return nil
		}))
	}
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, shared.Health{Status: "ok"})
	return nil
}

// ready pings every dependency at once, each within a short deadline, so a
// load balancer stops sending traffic to an instance that cannot serve it.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res := shared.Health{Status: "ok", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range s.opts.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Ping(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Status = "unavailable"
				res.Checks[c.Name] = "unreachable"
				logger(r.Context()).WarnContext(r.Context(), "readiness check failed", "check", c.Name, "err", err)
				return
			}
			res.Checks[c.Name] = "ok"
		}()
	}
	wg.Wait()
	status := http.StatusOK
	if res.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, res)
	return nil
}
