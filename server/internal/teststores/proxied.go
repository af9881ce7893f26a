package teststores

import (
	"context"
	"net/url"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/internal/faultproxy"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/redisstore"
)

// Proxied is a production deployment's stores whose Postgres and Redis are
// reached through fault proxies, so a test can cut either off and heal it
// without touching the machine's services.
type Proxied struct {
	Stores
	DB              *bunstore.Store
	Postgres, Redis *faultproxy.Proxy
}

// PostgresRedisBehindProxies is PostgresRedis (a private schema and key
// prefix) with each service behind a proxy of its own; the Postgres pool
// holds maxConns connections (0: the default). It skips (or, in CI, fails)
// when either service is unreachable.
func PostgresRedisBehindProxies(t testing.TB, maxConns int) *Proxied {
	t.Helper()
	p := &Proxied{}

	u, err := url.Parse(testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Postgres = startProxy(t, u.Host)
	u.Host = p.Postgres.Addr()
	p.DB, err = bunstore.Open(context.Background(), u.String(), "", bunstore.MaxConns(maxConns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.DB.Close() })

	// testenv's client, on the real address, deletes the prefix's keys
	// when the test ends; the store's own client goes through the proxy,
	// with go-redis's default timeouts and retries.
	_, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	p.Redis = startProxy(t, opts.Addr)
	opts.Addr = p.Redis.Addr()
	rc := redis.NewClient(opts)
	t.Cleanup(func() { rc.Close() })
	rs := redisstore.New(rc, prefix)

	p.Stores = Stores{"Postgres+Redis behind proxies", p.DB, rs, rs, rs}
	return p
}

func startProxy(t testing.TB, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
