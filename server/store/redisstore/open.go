package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/internal/urlsecret"
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
				urlsecret.Redacted(redisURL, secretParams...), urlsecret.Scrub(err.Error(), urlsecret.Secrets(redisURL, secretParams...))),
			err: err,
		}
	}
	return c, nil
}

// secretParams are the query parameters of a Redis URL that hold passwords
// (Sentinel's master and sentinels).
var secretParams = []string{"password", "sentinel_password"}

// CheckURL reports whether redisURL is a REDIS_URL Open accepts, without
// connecting: the configuration checks it at start with this, so the rules
// are written once.
func CheckURL(redisURL string) error {
	_, err := parseURL(redisURL)
	return err
}

// parseURL returns *redis.Options, *redis.FailoverOptions or
// *redis.ClusterOptions. It is apart from newClient so that the choice can be
// tested without a server.
func parseURL(raw string) (any, error) {
	fail := func(err error) error {
		return fmt.Errorf("redisstore: invalid REDIS_URL %s: %s", urlsecret.Redacted(raw, secretParams...), urlsecret.Scrub(err.Error(), urlsecret.Secrets(raw, secretParams...)))
	}
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("redisstore: REDIS_URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the raw URL, password and all; keep only the
		// reason, minus whatever could be part of the userinfo.
		return nil, fmt.Errorf("redisstore: invalid REDIS_URL: %s", urlsecret.Scrub(urlsecret.ParseError(err).Error(), urlsecret.Secrets(raw)))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("redisstore: invalid REDIS_URL %s: scheme must be redis:// or rediss://", urlsecret.Redacted(raw, secretParams...))
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
