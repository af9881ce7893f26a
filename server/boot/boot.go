// Package boot is Latchkey's composition root: it opens the stores the
// configuration names, wires the domain and the HTTP edge, and runs the
// server until it is told to stop. Tests use it to start whole instances.
package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/mail"
	"github.com/latchkey/latchkey/server/openid"
	"github.com/latchkey/latchkey/server/pwa"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/memstore"
	"github.com/latchkey/latchkey/server/store/redisstore"
)

// Instance is one running Latchkey: its handler and what it holds open.
type Instance struct {
	Handler    http.Handler
	Users      auth.UserStore
	Challenges auth.ChallengeStore
	Sessions   auth.SessionStore
	Limiter    auth.Limiter
	Auth       *auth.Service
	// Metrics serves the Prometheus metrics; nil without METRICS_ADDR.
	Metrics http.Handler
	closers []func() error
}

// Close releases the stores.
func (in *Instance) Close() error {
	var errs []error
	for i := len(in.closers) - 1; i >= 0; i-- {
		errs = append(errs, in.closers[i]())
	}
	return errors.Join(errs...)
}

// New opens everything cfg names. Start-up fails fast, with one line that
// says what could not be reached, rather than serving errors later.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Instance, err error) {
	in := &Instance{}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()

	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := bunstore.Open(openCtx, cfg.DatabaseURL, cfg.DataDir, bunstore.MaxConns(cfg.DatabaseMaxConns))
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	in.closers = append(in.closers, db.Close)
	in.Users = db
	if n := db.MaxConns(); n > 0 {
		log.Info("database ready", "dialect", db.Dialect(), "max_conns", n)
	} else {
		log.Info("database ready", "dialect", db.Dialect())
	}

	if cfg.RedisURL == "" {
		mem := memstore.New()
		in.closers = append(in.closers, mem.Close)
		in.Challenges, in.Sessions, in.Limiter = mem, mem, mem
		log.Info("challenge and session store ready", "store", "in-process")
	} else {
		rc, err := redisstore.Open(openCtx, cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		in.closers = append(in.closers, rc.Close)
		rs := redisstore.New(rc, cfg.RedisPrefix)
		in.Challenges, in.Sessions, in.Limiter = rs, rs, rs
		log.Info("challenge and session store ready", "store", "redis")
	}

	var mailer auth.Mailer = mail.Log{Logger: log}
	if cfg.SMTPURL != "" {
		if mailer, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			return nil, fmt.Errorf("SMTP_URL: %w", err)
		}
	} else {
		log.Warn("no SMTP_URL: login links are written to this log instead of being emailed (development mode)")
	}

	var grants auth.GrantStore
	if len(cfg.Apps) > 0 {
		grants = db
	}
	in.Auth, err = auth.New(in.Users, in.Challenges, in.Sessions, auth.Options{
		Origin:            cfg.Origin,
		RPID:              cfg.RPID,
		UserVerification:  cfg.UserVerification,
		CeremonyTTL:       cfg.CeremonyTTL,
		SessionIdle:       cfg.SessionIdle,
		SessionLifetime:   cfg.SessionLifetime,
		ReauthWindow:      cfg.ReauthWindow,
		ProvisionalPeriod: cfg.ProvisionalPeriod,
		EmailLinkTTL:      cfg.EmailLinkTTL,

		EnumerationProtection: cfg.EnumerationProtection,
		Secret:                []byte(cfg.ServerSecret),

		Apps:             cfg.Apps,
		Grants:           grants,
		KeyEncryptionKey: []byte(cfg.KeyEncryptionKey),
		KeyRotation:      cfg.KeyRotation,
		AccessTokenTTL:   cfg.AccessTokenTTL,
		IDTokenTTL:       cfg.IDTokenTTL,
		RefreshTokenTTL:  cfg.RefreshTokenTTL,

		Mailer: mailer,
		Logger: log,
	})
	if err != nil {
		return nil, err
	}

	app, err := pwa.New(cfg.WebDir)
	if err != nil {
		return nil, err
	}
	log.Info("web app ready", "version", app.Version, "wasm_bytes", len(app.Wasm.Raw),
		"wasm_brotli_bytes", len(app.Wasm.Brotli), "wasm_gzip_bytes", len(app.Wasm.Gzip))
	if !app.Wasm.Fresh {
		log.Warn("app.wasm had no up-to-date precompressed files; compressed it at a lower level now (run `make wasm` for the smallest download)")
	}

	limiter := rateLimiter(cfg, in.Limiter, log)
	var provider http.Handler
	if len(cfg.Apps) > 0 {
		var throttle *auth.Throttle
		if limiter != nil {
			throttle = auth.NewThrottle(limiter, cfg.RateLimits, log)
		}
		provider, err = openid.New(openid.Options{
			Issuer:        cfg.Issuer(),
			Auth:          in.Auth,
			Throttle:      throttle,
			ClientIP:      func(r *http.Request) string { return httpapi.ClientIP(r, cfg.TrustedProxies) },
			SessionCookie: httpapi.SessionCookieName(cfg.Secure()),
			Secure:        cfg.Secure(),
			Logger:        log,
		})
		if err != nil {
			return nil, err
		}
		// The signing keys are made (or opened) now: a key-encryption key
		// that does not open the stored ones stops the start, not a sign-in.
		if _, err := in.Auth.PublicKeys(openCtx); err != nil {
			return nil, fmt.Errorf("OpenID Connect signing keys: %w", err)
		}
		log.Info("OpenID Connect provider ready", "issuer", cfg.Issuer(), "clients", len(cfg.Apps))
	}

	var obs httpapi.Observer
	obs, in.Metrics = observer(cfg, db)
	in.Handler = httpapi.New(httpapi.Options{
		Logger:         log,
		Origin:         cfg.Origin,
		Secure:         cfg.Secure(),
		TrustedProxies: cfg.TrustedProxies,
		PWA:            app,
		Auth:           in.Auth,
		Limiter:        limiter,
		Limits:         cfg.RateLimits,
		RememberFor:    cfg.RememberFor,
		OIDC:           provider,
		Observer:       obs,
		Ready: []httpapi.Check{
			{Name: "database", Ping: in.Users.Ping},
			{Name: "challenges", Ping: in.Challenges.Ping},
			{Name: "sessions", Ping: in.Sessions.Ping},
		},
	})
	return in, nil
}

// rateLimiter is the limiter the HTTP edge throttles with: none at all under
// RATE_LIMITS=off, which is for load tests and says so loudly.
func rateLimiter(cfg *config.Config, l auth.Limiter, log *slog.Logger) auth.Limiter {
	if cfg.RateLimitsOff {
		log.Warn("RATE_LIMITS=off: sign-up, login, login links and adding passkeys are not rate limited; use this for load tests only")
		return nil
	}
	return l
}

// Run serves cfg.ListenAddr until ctx ends, then drains in-flight requests
// for up to cfg.ShutdownTimeout.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	in, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer in.Close()

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           in.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if in.Metrics != nil {
		msrv, err := serveMetrics(cfg, in.Metrics, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer msrv.Close()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("Latchkey is listening", "addr", ln.Addr().String(), "public_url", cfg.Origin)
	// Unproven addresses are also released on demand; the sweep makes the
	// accounts show it.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go in.Auth.SweepUnprovenEmails(sweepCtx, time.Hour)
	go in.Auth.SweepGrants(sweepCtx, time.Hour)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Login links accepted before the signal still go out.
	in.Auth.WaitForMail()
	return nil
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
