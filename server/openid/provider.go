package openid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// Options configure the provider.
type Options struct {
	// Issuer is PUBLIC_URL exactly: the iss of every token and the base of
	// every endpoint. It is static, never taken from a request's Host.
	Issuer string
	Auth   *auth.Service
	// Throttle limits authorize per address and the token endpoint per
	// app; nil means no limits (RATE_LIMITS=off).
	Throttle *auth.Throttle
	// ClientIP is the address rate limits count (the HTTP edge's rule, with
	// its trusted proxies).
	ClientIP func(*http.Request) string
	// SessionCookie is the name of Latchkey's session cookie; Secure says
	// whether cookies are Secure (and __Host- prefixed).
	SessionCookie string
	Secure        bool
	Logger        *slog.Logger
}

// Provider is the OpenID Connect provider's HTTP handler.
type Provider struct {
	op.UnimplementedServer
	opts    Options
	auth    *auth.Service
	issuer  string
	lib     http.Handler
	keys    *keyCache
	log     *slog.Logger
	binding string // the sign-in binding cookie's name
}

func errIssuer(issuer string) error {
	return fmt.Errorf("PUBLIC_URL %q cannot be an OpenID Connect issuer (an absolute https URL, or http for development)", issuer)
}

// New builds the provider. It refuses an issuer the library would refuse
// (not an absolute URL; http except for development).
func New(opts Options) (*Provider, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ClientIP == nil {
		// Without trusted proxies: the peer's address, without its port.
		opts.ClientIP = func(r *http.Request) string {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
	}
	issuer := strings.TrimSuffix(opts.Issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, errIssuer(opts.Issuer)
	}
	// http:// is the library's "insecure" issuer: fine for localhost
	// development, and what PUBLIC_URL says it is.
	if _, err := op.StaticIssuer(issuer)(u.Scheme == "http"); err != nil {
		return nil, errIssuer(opts.Issuer)
	}
	p := &Provider{opts: opts, auth: opts.Auth, issuer: issuer, log: opts.Logger, binding: "latchkey_authorize"}
	if opts.Secure {
		p.binding = "__Host-latchkey_authorize"
	}
	p.keys = &keyCache{auth: opts.Auth}
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint(shared.OIDCAuthorize),
		Token:         op.NewEndpoint(shared.OIDCToken),
		Userinfo:      op.NewEndpoint(shared.OIDCUserinfo),
		JwksURI:       op.NewEndpoint(shared.OIDCKeys),
		EndSession:    op.NewEndpoint(shared.OIDCLogout),
	}
	p.lib = op.RegisterServer(p, endpoints,
		op.WithHTTPMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(op.ContextWithIssuer(r.Context(), issuer)))
			})
		}),
		// Apps' servers and browser apps (public clients) call discovery,
		// keys, token and userinfo from other origins. They never need
		// cookies there, so no origin gets credentials.
		op.WithServerCORSOptions(&cors.Options{
			AllowedOrigins:   []string{"*"},
			AllowedMethods:   []string{http.MethodGet, http.MethodPost},
			AllowedHeaders:   []string{"Authorization", "Content-Type"},
			AllowCredentials: false,
			MaxAge:           600,
		}),
	)
	return p, nil
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w = &retryLater{ResponseWriter: w}
	switch r.URL.Path {
	case shared.OIDCAuthorize:
		// An unknown app or a redirect URI it did not register gets a page
		// of ours, never a redirect: the URI may be anyone's.
		if !p.checkAuthorizeTarget(w, r) {
			return
		}
		if p.opts.Throttle != nil {
			if err := p.opts.Throttle.Allow(r.Context(), auth.ActionAuthorize, p.opts.ClientIP(r), ""); err != nil {
				var ra auth.RetryAfter
				if errors.As(err, &ra) {
					w.Header().Set("Retry-After", strconv.Itoa(ra.Seconds()))
				}
				p.page(w, r, statusOf(err), errPageMessage(err))
				return
			}
		}
	case shared.AuthorizeResume:
		p.resume(w, r)
		return
	case shared.LogoutDone:
		p.logoutDone(w, r)
		return
	case shared.OIDCUserinfo:
		w = &bearerChallenge{ResponseWriter: w}
	}
	p.lib.ServeHTTP(w, r)
}

// retryLater adds Retry-After to every 503 (a store that cannot be reached
// or is full), whether the library or a page of ours writes it.
type retryLater struct{ http.ResponseWriter }

func (rl *retryLater) WriteHeader(code int) {
	if code == http.StatusServiceUnavailable && rl.Header().Get("Retry-After") == "" {
		rl.Header().Set("Retry-After", strconv.Itoa(auth.RetryUnavailable.Seconds()))
	}
	rl.ResponseWriter.WriteHeader(code)
}

func (rl *retryLater) Unwrap() http.ResponseWriter { return rl.ResponseWriter }

// bearerChallenge adds the WWW-Authenticate header RFC 6750 §3 asks of a
// 401 from a resource (the userinfo endpoint).
type bearerChallenge struct{ http.ResponseWriter }

func (b *bearerChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		b.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *bearerChallenge) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// session returns the browser's Latchkey session and its user, nil
// without one.
func (p *Provider) session(ctx context.Context, h http.Header) (*auth.Session, *auth.User, error) {
	token := p.cookie(h, p.opts.SessionCookie)
	if token == "" {
		return nil, nil, nil
	}
	sess, u, err := p.auth.Authenticate(ctx, token)
	if auth.ErrorCode(err) == shared.CodeUnauthenticated {
		return nil, nil, nil
	}
	return sess, u, err
}

func (p *Provider) cookie(h http.Header, name string) string {
	r := http.Request{Header: h}
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (p *Provider) setCookie(h http.Header, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: p.opts.Secure, SameSite: http.SameSiteLaxMode}
	if maxAge <= 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	h.Add("Set-Cookie", c.String())
}
