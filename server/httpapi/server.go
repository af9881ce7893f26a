package httpapi

import (
	"context"
	"fmt"
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
	PWA http.Handler
	// OIDC, when set, is the OpenID Connect provider: it serves discovery
	// and everything under /oauth2/.
	OIDC  http.Handler
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
	// Observer, when set, is told of every answered request (metrics).
	Observer Observer
}

var zeroTime time.Time

// Server is Latchkey's HTTP handler.
type Server struct {
	opts     Options
	throttle *auth.Throttle
	mux      *http.ServeMux
	h        http.Handler
}

// New builds the handler with every route. Options.Auth is required: the
// API is the server's reason to exist, and a server without it would answer
// every route 404.
func New(opts Options) *Server {
	if opts.Auth == nil {
		panic("httpapi: New needs Options.Auth")
	}
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
	if opts.OIDC != nil {
		// Apps' servers call the token endpoint, and apps' pages post
		// logouts, from other origins by design; the provider's own
		// checks (client authentication, PKCE, id_token_hint, its pages'
		// binding cookie) protect them instead.
		cop.AddInsecureBypassPattern(shared.OIDCPrefix)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, auth.CrossOrigin())
	}))
	s.h = observe(opts.Logger, opts.Observer, securityHeaders(opts.Secure, cop.Handler(s.mux)))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux.Handle("GET "+shared.HealthLive, handlerFunc(s.live))
	s.mux.Handle("GET "+shared.HealthReady, handlerFunc(s.ready))
	api := map[shared.Route]http.Handler{
		shared.RouteSignupBegin:       handlerFunc(s.signupBegin),
		shared.RouteSignupFinish:      handlerFunc(s.signupFinish),
		shared.RouteLoginBegin:        handlerFunc(s.loginBegin),
		shared.RouteLoginFinish:       handlerFunc(s.loginFinish),
		shared.RouteLoginRemembered:   handlerFunc(s.remembered),
		shared.RouteLoginForget:       handlerFunc(s.forget),
		shared.RouteLoginEmail:        handlerFunc(s.emailLogin),
		shared.RouteLoginEmailVerify:  handlerFunc(s.emailVerify),
		shared.RouteLoginEmailAccount: handlerFunc(s.emailLinkAccount),
		shared.RouteAccountEmail:      s.requireSession(s.accountEmail),
		shared.RouteAccountDisown:     s.requireSession(s.accountDisown),
		shared.RouteMe:                s.requireSession(s.me),
		shared.RouteLogout:            handlerFunc(s.logout),
		shared.RoutePasskeys:          s.requireSession(s.passkeys),
		shared.RoutePasskeysBegin:     s.requireSession(s.passkeyBegin),
		shared.RoutePasskeysFinish:    s.requireSession(s.passkeyFinish),
		shared.RoutePasskeyRename:     s.requireSession(s.passkeyRename),
		shared.RoutePasskeyDelete:     s.requireSession(s.passkeyDelete),
		shared.RouteSessions:          s.requireSession(s.sessions),
		shared.RouteSessionEnd:        s.requireSession(s.sessionEnd),
		shared.RouteSessionsEnd:       s.requireSession(s.sessionsEnd),
		shared.RouteAuthorization:     handlerFunc(s.authorization),
		shared.RouteConsent:           s.requireSession(s.consent),
		shared.RouteLogoutRequest:     handlerFunc(s.logoutRequest),
		shared.RouteApps:              s.requireSession(s.apps),
		shared.RouteAppRemove:         s.requireSession(s.appRemove),
	}
	// shared.Routes is what the client calls: a route without a handler,
	// or a handler without a route, is a programming error found at start.
	if len(api) != len(shared.Routes) {
		panic(fmt.Sprintf("httpapi: %d handlers for %d routes in shared.Routes", len(api), len(shared.Routes)))
	}
	for _, rt := range shared.Routes {
		h, ok := api[rt]
		if !ok {
			panic("httpapi: no handler for " + rt.Pattern())
		}
		s.mux.Handle(rt.Pattern(), h)
	}
	if s.opts.OIDC != nil {
		s.mux.Handle(shared.OIDCDiscovery, s.opts.OIDC)
		s.mux.Handle(shared.OIDCPrefix, s.opts.OIDC)
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
