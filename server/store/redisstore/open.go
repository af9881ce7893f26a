package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open connects to the Redis that redisURL (REDIS_URL) names and pings it
// within ctx. The URL picks the kind of client:
//
//	redis://[user:password@]host:port/db          one node (rediss:// for TLS)
//	redis://...?master_name=mymaster&addr=h2:p2   Sentinel: host and each addr are sentinels
//	redis://...?addr=h2:p2&addr=h3:p3             Cluster: host and each addr are seed nodes
//
// Other query parameters are go-redis options (dial_timeout=3s, ...). For
// Sentinel, go-redis uses the URL's user and password for the sentinels and
// the username= and password= parameters for the master.
//
// Errors never contain a password.
func Open(ctx context.Context, redisURL string) (redis.UniversalClient, error) {
	opts, err := parseURL(redisURL)
	if err != nil {
		return nil, err
	}
	c := newClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, &redactedError{
			msg: fmt.Sprintf("redisstore: cannot reach Redis at %s: %s",
				redactURL(redisURL), redact(err.Error(), secrets(redisURL))),
			err: err,
		}
	}
	return c, nil
}

// parseURL returns *redis.Options, *redis.FailoverOptions or
// *redis.ClusterOptions. It is apart from newClient so that the choice can be
// tested without a server.
func parseURL(raw string) (any, error) {
	fail := func(err error) error {
		return fmt.Errorf("redisstore: invalid REDIS_URL %s: %s", redactURL(raw), redact(err.Error(), secrets(raw)))
	}
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("redisstore: REDIS_URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the raw URL, password and all; keep only the
		// reason, minus whatever could be part of the userinfo.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redisstore: invalid REDIS_URL: %s", redact(err.Error(), rawUserinfo(raw)))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("redisstore: invalid REDIS_URL %s: scheme must be redis:// or rediss://", redactURL(raw))
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fail(err)
		}
		if o.MasterName == "" {
			return nil, fail(errors.New("empty master_name"))
		}
		// NewFailoverClient panics on these; they need a failover cluster
		// client, whose reads from replicas could miss a just-saved session.
		if o.RouteByLatency || o.RouteRandomly {
			return nil, fail(errors.New("route_by_latency and route_randomly are not supported with Sentinel"))
		}
		return o, nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fail(err)
		}
		return o, nil
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fail(err)
		}
		return o, nil
	}
}

func newClient(opts any) redis.UniversalClient {
	switch o := opts.(type) {
	case *redis.FailoverOptions:
		return redis.NewFailoverClient(o)
	case *redis.ClusterOptions:
		return redis.NewClusterClient(o)
	case *redis.Options:
		return redis.NewClient(o)
	}
	panic(fmt.Sprintf("redisstore: unexpected options %T", opts))
}

// secrets lists the passwords a Redis URL may carry: in the userinfo and,
// for Sentinel, in the password parameter, and whatever looks like a
// userinfo where url.Parse saw none (a mistyped scheme or a missing slash
// turns it into a path or an opaque part that errors would repeat).
func secrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return rawUserinfo(raw)
	}
	var s []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p)
		}
	} else {
		s = rawUserinfo(raw)
	}
	for _, name := range []string{"password", "sentinel_password"} {
		s = append(s, u.Query()[name]...)
	}
	return s
}

// rawUserinfo finds what would be the userinfo of raw, however malformed:
// whatever comes before an @ in the authority, counted from the first // or,
// for one slash too few, from the first colon; and its password.
func rawUserinfo(raw string) []string {
	var s []string
	if _, rest, ok := strings.Cut(raw, "//"); ok {
		s = append(s, userinfoIn(rest)...)
	}
	if _, rest, ok := strings.Cut(raw, ":"); ok {
		s = append(s, userinfoIn(strings.TrimLeft(rest, ":/"))...)
	}
	return s
}

// userinfoIn returns the userinfo before the last @ of an authority that
// ends at the first / ? or #, and the password after its first colon.
func userinfoIn(rest string) []string {
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return nil
	}
	info := rest[:i]
	s := []string{info}
	if _, pw, ok := strings.Cut(info, ":"); ok {
		s = append(s, pw)
	}
	// And as an error may quote them, percent-decoded.
	for _, v := range s {
		if d, err := url.PathUnescape(v); err == nil && d != v {
			s = append(s, d)
		}
	}
	return s
}

func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxx")
		}
	}
	return msg
}

// redactURL returns raw with its passwords replaced, for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
	}
	q := u.Query()
	changed := false
	for _, name := range []string{"password", "sentinel_password"} {
		if q.Has(name) {
			q.Set(name, "xxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	if u.User == nil && strings.Contains(raw, "@") {
		// An @ where url.Parse saw no userinfo (a mistyped scheme, one
		// slash too few): it may be one all the same, and String
		// re-encodes it, so no redaction can be sure to catch it.
		return "(URL withheld)"
	}
	return u.String()
}

// redactedError keeps the cause for errors.Is (a context deadline, say)
// while its message has the passwords taken out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// RouteLogs sends go-redis's own log lines (connection retries) to log at
// debug level. go-redis has one logger per process, so only a program's
// main calls this, once; tests and several instances in one process leave
// it alone.
func RouteLogs(log *slog.Logger) { redis.SetLogger(redisLog{log}) }

type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
