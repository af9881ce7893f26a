package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/internal/testenv"
)

func TestParseURLPicksTheClient(t *testing.T) {
	t.Parallel()

	o, err := parseURL("redis://:s3cret@cache.internal:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	single, ok := o.(*redis.Options)
	if !ok || single.Addr != "cache.internal:6380" || single.DB != 2 || single.Password != "s3cret" || single.TLSConfig != nil {
		t.Fatalf("single node: %T %+v", o, o)
	}

	o, err = parseURL("rediss://cache.internal")
	if err != nil {
		t.Fatal(err)
	}
	if tlsOpts, ok := o.(*redis.Options); !ok || tlsOpts.TLSConfig == nil || tlsOpts.Addr != "cache.internal:6379" {
		t.Fatalf("TLS single node: %T %+v", o, o)
	}

	o, err = parseURL("redis://:sentinelpw@s1:26379/0?master_name=mymaster&addr=s2:26379&password=masterpw")
	if err != nil {
		t.Fatal(err)
	}
	sentinel, ok := o.(*redis.FailoverOptions)
	if !ok || sentinel.MasterName != "mymaster" || len(sentinel.SentinelAddrs) != 2 ||
		sentinel.SentinelPassword != "sentinelpw" || sentinel.Password != "masterpw" {
		t.Fatalf("sentinel: %T %+v", o, o)
	}

	o, err = parseURL("redis://:s3cret@n1:7000?addr=n2:7000&addr=n3:7000")
	if err != nil {
		t.Fatal(err)
	}
	cluster, ok := o.(*redis.ClusterOptions)
	if !ok || len(cluster.Addrs) != 3 || cluster.Password != "s3cret" {
		t.Fatalf("cluster: %T %+v", o, o)
	}

	// The client Open builds matches the options.
	for _, c := range []struct {
		opts any
		want string
	}{
		{single, "*redis.Client"},
		{sentinel, "*redis.Client"}, // NewFailoverClient returns a *redis.Client too
		{cluster, "*redis.ClusterClient"},
	} {
		cl := newClient(c.opts)
		if _, isCluster := cl.(*redis.ClusterClient); isCluster != (c.want == "*redis.ClusterClient") {
			t.Errorf("newClient(%T) = %T, want %s", c.opts, cl, c.want)
		}
		cl.Close()
	}
}

func TestParseURLRejectsBadURLsWithoutThePassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"",
		"cache.internal:6379",
		"http://:s3cret@cache.internal",
		"redis://:s3cret@cache.internal:port",
		"redis://:s3cret@cache.internal/x",
		"redis://:s3cret@cache.internal/0?bogus=1",
		"redis://:s3cret@cache.internal/0?dial_timeout=soon",
		"redis://:s3%zzcret@cache.internal",
		"redis://:s3cret@s1?master_name=",
		"redis://:s3cret@s1?master_name=m&route_randomly=true",
		"redis://:s3cret@s1?master_name=m&password=s3cret&bogus=1",
		"redis://:s3cret@n1:7000?addr=n2",
	} {
		_, err := parseURL(raw)
		if err == nil {
			t.Errorf("parseURL(%q) succeeded; want an error", raw)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cret") || strings.Contains(msg, "zzcret") {
			t.Errorf("parseURL(%q) error shows the password: %s", raw, msg)
		}
		if !strings.HasPrefix(msg, "redisstore: invalid REDIS_URL") && !strings.HasPrefix(msg, "redisstore: REDIS_URL is empty") {
			t.Errorf("parseURL(%q) error = %q; want it to name REDIS_URL", raw, msg)
		}
	}
}

func TestOpenUnreachableHidesThePassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Port 1 on loopback refuses at once; no retries keep the test short (go-redis still redials a few times).
	c, err := Open(ctx, "redis://user:s3cret@127.0.0.1:1/0?max_retries=-1")
	if err == nil {
		c.Close()
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open error = %q; want the address and no password", err)
	}
	if errors.Unwrap(err) == nil {
		t.Fatalf("Open error %q does not wrap its cause", err)
	}
}

func TestOpenConnects(t *testing.T) {
	t.Parallel()
	testenv.Redis(t) // skips, or fails under CI, when Redis is down
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Open(ctx, testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := New(c, "test:").Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
