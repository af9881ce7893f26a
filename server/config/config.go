// Package config reads Latchkey's settings from the environment and checks
// them once, at start, so a bad value stops the process with a message that
// names the variable instead of failing later in a request.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/mail"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/redisstore"
)

// Config is every setting of a Latchkey server.
type Config struct {
	// PublicURL is the origin people use; it fixes the WebAuthn origin and
	// RP ID and whether cookies are Secure.
	PublicURL *url.URL
	// RPID is the WebAuthn relying party id: PublicURL's host name.
	RPID string
	// Origin is PublicURL reduced to scheme://host[:port].
	Origin     string
	ListenAddr string
	// MetricsAddr (METRICS_ADDR) is where Prometheus metrics are served,
	// apart from the public listener; empty means no metrics.
	MetricsAddr string

	// DatabaseURL empty means a SQLite file in DataDir.
	DatabaseURL string
	DataDir     string
	// DatabaseMaxConns bounds the Postgres pool (DATABASE_MAX_CONNS),
	// bunstore.DefaultMaxConns unless set; SQLite ignores it.
	DatabaseMaxConns int
	// RedisURL empty means in-process challenge and session stores.
	RedisURL    string
	RedisPrefix string

	WebDir    string
	LogLevel  slog.Level
	LogFormat string

	// UserVerification is "required" (default) or "preferred".
	UserVerification string
	CeremonyTTL      time.Duration
	SessionIdle      time.Duration
	SessionLifetime  time.Duration
	RememberFor      time.Duration
	ReauthWindow     time.Duration
	// ProvisionalPeriod is how long a passkey added after an email-link
	// login cannot authorise removing the account's other ways in.
	ProvisionalPeriod time.Duration
	EmailLinkTTL      time.Duration

	// SMTPURL empty means login links are written to the log (development).
	SMTPURL  string
	MailFrom string
	// MailLogLinks allows writing login links to the log with an https
	// PUBLIC_URL, which otherwise refuses to start without SMTP_URL.
	MailLogLinks bool

	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// when finding a client's address for rate limits and the session list.
	TrustedProxies []*net.IPNet

	// RateLimits are auth.DefaultLimits with the RATE_LIMIT_* variables
	// applied. RateLimitsOff (RATE_LIMITS=off) turns every limit off.
	RateLimits    auth.Limits
	RateLimitsOff bool

	ShutdownTimeout time.Duration

	// EnumerationProtection hides which names and addresses have accounts
	// (ACCOUNT_ENUMERATION_PROTECTION). ServerSecret (SERVER_SECRET) keys
	// what it derives; every instance must share it.
	EnumerationProtection bool
	ServerSecret          string

	// ClientsFile (OIDC_CLIENTS_FILE) declares the apps that sign people
	// in with Latchkey; empty turns the OpenID Connect provider off. Apps
	// are its clients as auth.CheckApps returns them: checked, with
	// defaults filled and secrets only as hashes.
	ClientsFile string
	Apps        []auth.App
	// KeyEncryptionKey (OIDC_KEY_ENCRYPTION_KEY) seals the signing keys in
	// the database; required with clients, the same on every instance,
	// never logged.
	KeyEncryptionKey string
	// KeyRotation is how long one signing key signs; AccessTokenTTL,
	// IDTokenTTL and RefreshTokenTTL are the lives of what apps receive.
	KeyRotation     time.Duration
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
}

// Secure reports whether cookies must be Secure (and use the __Host- prefix).
func (c *Config) Secure() bool { return c.PublicURL.Scheme == "https" }

// Issuer is the OpenID Connect issuer: PUBLIC_URL as Origin writes it (no
// trailing slash, no default port), the one string every token's iss and
// the discovery document carry, and apps compare exactly.
func (c *Config) Issuer() string { return c.Origin }

// Load reads the configuration through getenv (os.Getenv in production).
// Any variable NAME may instead be given as NAME_FILE, the path of a file
// holding the value, which is how container secrets arrive.
func Load(getenv func(string) string) (*Config, error) {
	e := env{getenv: getenv}
	d := auth.Defaults()
	c := &Config{
		ListenAddr:        e.str("LISTEN_ADDR", ":8080"),
		MetricsAddr:       e.str("METRICS_ADDR", ""),
		DatabaseURL:       e.str("DATABASE_URL", ""),
		DataDir:           e.str("DATA_DIR", "data"),
		DatabaseMaxConns:  e.count("DATABASE_MAX_CONNS", bunstore.DefaultMaxConns(), maxDatabaseConns),
		RedisURL:          e.str("REDIS_URL", ""),
		RedisPrefix:       e.str("REDIS_PREFIX", "latchkey:"),
		WebDir:            e.str("WEB_DIR", "web"),
		LogFormat:         e.str("LOG_FORMAT", "text"),
		UserVerification:  e.str("WEBAUTHN_USER_VERIFICATION", d.UserVerification),
		CeremonyTTL:       e.duration("CEREMONY_TTL", d.CeremonyTTL),
		SessionIdle:       e.duration("SESSION_IDLE_TIMEOUT", d.SessionIdle),
		SessionLifetime:   e.duration("SESSION_LIFETIME", d.SessionLifetime),
		RememberFor:       e.duration("REMEMBER_USER_FOR", 400*24*time.Hour),
		ReauthWindow:      e.duration("REAUTH_WINDOW", d.ReauthWindow),
		ProvisionalPeriod: e.duration("PROVISIONAL_PASSKEY_PERIOD", d.ProvisionalPeriod),
		EmailLinkTTL:      e.duration("EMAIL_LINK_TTL", d.EmailLinkTTL),
		SMTPURL:           e.str("SMTP_URL", ""),
		MailFrom:          e.str("MAIL_FROM", ""),
		ShutdownTimeout:   e.duration("SHUTDOWN_TIMEOUT", 15*time.Second),

		EnumerationProtection: e.boolean("ACCOUNT_ENUMERATION_PROTECTION", false),
		ServerSecret:          e.str("SERVER_SECRET", ""),
	}
	if c.ServerSecret != "" && len(c.ServerSecret) < 32 {
		// Never the value: it is a secret.
		e.fail("SERVER_SECRET", "must be at least 32 characters (e.g. `openssl rand -base64 32`), got %d", len(c.ServerSecret))
	} else if c.EnumerationProtection && c.ServerSecret == "" {
		e.fail("SERVER_SECRET", "is required when ACCOUNT_ENUMERATION_PROTECTION is on (at least 32 random characters, the same on every instance)")
	}

	e.publicURL(c)
	e.serviceURLs(c)
	c.MailLogLinks = e.boolean("MAIL_LOG_LINKS", false)
	if c.SMTPURL == "" && c.PublicURL != nil && c.Secure() && !c.MailLogLinks {
		// Anyone who reads the log could log in as anyone who asked for a
		// link: fine on a laptop, never by accident in production.
		e.fail("SMTP_URL", "is required with an https PUBLIC_URL: without it login links are written to the log (set MAIL_LOG_LINKS=true if that is really wanted)")
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		e.fail("LISTEN_ADDR", "must be host:port or :port, got %q", c.ListenAddr)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			e.fail("METRICS_ADDR", "must be host:port or :port, got %q", c.MetricsAddr)
		} else if c.MetricsAddr == c.ListenAddr {
			// The metrics must not be on the public listener.
			e.fail("METRICS_ADDR", "must differ from LISTEN_ADDR (%s)", c.ListenAddr)
		}
	}
	if c.UserVerification != "required" && c.UserVerification != "preferred" {
		e.fail("WEBAUTHN_USER_VERIFICATION", "must be required or preferred, got %q", c.UserVerification)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		e.fail("LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	if err := c.LogLevel.UnmarshalText([]byte(e.str("LOG_LEVEL", "info"))); err != nil {
		e.fail("LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.RememberFor > 400*24*time.Hour {
		e.fail("REMEMBER_USER_FOR", "may be at most 400 days (browsers cap cookie lifetimes there)")
	}
	if c.SessionIdle > c.SessionLifetime {
		e.fail("SESSION_IDLE_TIMEOUT", "must not exceed SESSION_LIFETIME")
	}
	c.TrustedProxies = e.trustedProxies()
	e.rateLimits(c)
	e.oidc(c, d)
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}
	return c, nil
}

// publicURL reads PUBLIC_URL: the origin people use, which fixes the
// WebAuthn origin and RP ID and whether cookies are Secure.
func (e *env) publicURL(c *Config) {
	raw := e.str("PUBLIC_URL", "http://localhost:8080")
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		e.fail("PUBLIC_URL", "is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		e.fail("PUBLIC_URL", "must start with http:// or https://, got %q", raw)
	case u.Hostname() == "":
		e.fail("PUBLIC_URL", "has no host: %q", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
		e.fail("PUBLIC_URL", "must be an origin only (scheme://host[:port]), got %q", raw)
	default:
		// Browsers leave a scheme's default port out of the origin they
		// report, and WebAuthn compares origins exactly.
		host := u.Host
		if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
			host = u.Hostname()
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
		}
		c.PublicURL = &url.URL{Scheme: u.Scheme, Host: strings.ToLower(host)}
		c.Origin = c.PublicURL.String()
		c.RPID = strings.ToLower(u.Hostname())
	}

}

// trustedProxies reads TRUSTED_PROXIES: addresses or CIDR networks,
// separated by commas or spaces; a bare address is a network of one.
func (e *env) trustedProxies() []*net.IPNet {
	var nets []*net.IPNet
	for _, p := range strings.FieldsFunc(e.str("TRUSTED_PROXIES", ""), func(r rune) bool { return r == ',' || r == ' ' }) {
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			e.fail("TRUSTED_PROXIES", "has %q, which is neither an IP address nor a CIDR network", p)
			continue
		}
		nets = append(nets, n)
	}
	return nets
}

// rateLimits reads RATE_LIMITS and the RATE_LIMIT_* variables over the
// domain's defaults.
func (e *env) rateLimits(c *Config) {
	switch v := e.str("RATE_LIMITS", "on"); v {
	case "on", "off":
		c.RateLimitsOff = v == "off"
	default:
		e.fail("RATE_LIMITS", "must be on or off, got %q", v)
	}
	c.RateLimits = auth.DefaultLimits()
	for _, name := range slices.Sorted(maps.Keys(c.RateLimits)) {
		c.RateLimits[name] = e.rateLimit("RATE_LIMIT_"+name, c.RateLimits[name])
	}
}

// serviceURLs checks DATABASE_URL, REDIS_URL and SMTP_URL with the parsers
// of the adapters that will use them, without connecting: each URL's rules
// are written once, in its adapter, and a bad one still stops the start
// here with one line. The adapters' errors never hold a password.
func (e *env) serviceURLs(c *Config) {
	if c.DatabaseURL != "" {
		if err := bunstore.CheckURL(c.DatabaseURL); err != nil {
			e.fail("DATABASE_URL", "is not usable (%v)", err)
		}
	}
	if c.RedisURL != "" {
		if err := redisstore.CheckURL(c.RedisURL); err != nil {
			e.fail("REDIS_URL", "is not usable (%v)", err)
		}
	}
	switch {
	case c.SMTPURL == "":
	case c.MailFrom == "":
		e.fail("MAIL_FROM", "is required when SMTP_URL is set")
	default:
		if _, err := mail.NewSMTP(c.SMTPURL, c.MailFrom); err != nil {
			e.fail("SMTP_URL", "is not usable (%v)", err)
		}
	}
}

// FromEnvironment loads the configuration of this process.
func FromEnvironment() (*Config, error) { return Load(os.Getenv) }

type env struct {
	getenv func(string) string
	errs   []error
}

func (e *env) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
}

func (e *env) str(name, def string) string {
	v := strings.TrimSpace(e.getenv(name))
	if path := strings.TrimSpace(e.getenv(name + "_FILE")); path != "" {
		if v != "" {
			e.fail(name, "and %s_FILE are both set; use one", name)
			return def
		}
		b, err := os.ReadFile(path)
		if err != nil {
			e.fail(name+"_FILE", "cannot be read: %v", err)
			return def
		}
		v = strings.TrimSpace(string(b))
	}
	if v == "" {
		return def
	}
	return v
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, "must be a positive duration such as 10m or 24h, got %q", v)
		return def
	}
	return d
}

func (e *env) boolean(name string, def bool) bool {
	switch v := strings.ToLower(e.str(name, "")); v {
	case "":
		return def
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	default:
		e.fail(name, "must be true or false, got %q", v)
		return def
	}
}

// maxDatabaseConns bounds DATABASE_MAX_CONNS: Postgres allows 100
// connections by default, and a pool far beyond the CPUs' count only slows
// it down, so more is more likely a typo than a wish.
const maxDatabaseConns = 1000

// count reads a whole number from 1 to max.
func (e *env) count(name string, def, max int) int {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		e.fail(name, "must be a whole number from 1 to %d, got %q", max, v)
		return def
	}
	return n
}

// Bounds of a rate limit: beyond them a value is more likely a typo (1h for
// 1m) than a wish.
const (
	maxLimitEvents = 1_000_000
	minLimitPeriod = time.Second
	maxLimitPeriod = 24 * time.Hour
)

// rateLimit reads a limit written attempts/period, such as 60/1m: that many
// attempts per period, all of which may come at once.
func (e *env) rateLimit(name string, def auth.Limit) auth.Limit {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, p, ok := strings.Cut(v, "/")
	events, err := strconv.Atoi(strings.TrimSpace(n))
	per, perr := time.ParseDuration(strings.TrimSpace(p))
	if !ok || err != nil || perr != nil || events < 1 || events > maxLimitEvents || per < minLimitPeriod || per > maxLimitPeriod {
		e.fail(name, "must be attempts/period such as 60/1m (1 to %d attempts per %s to %s), got %q",
			maxLimitEvents, shortDuration(minLimitPeriod), shortDuration(maxLimitPeriod), v)
		return def
	}
	return auth.Limit{Events: events, Per: per, Burst: events}
}

// shortDuration writes d as people do: 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
