package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testclock"
	"github.com/latchkey/latchkey/server/store/storetest"
)

func TestRedisLimiter(t *testing.T) {
	t.Parallel()
	for _, perKey := range []bool{false, true} {
		// perKey is how the store runs on Cluster, one key per script call;
		// a single node runs it just the same.
		t.Run(map[bool]string{false: "one script call", true: "one call per key, as on Cluster"}[perKey], func(t *testing.T) {
			t.Parallel()
			storetest.Limiter(t, func(t *testing.T) (auth.Limiter, func(time.Duration)) {
				// Odd microseconds: a time stored with fewer digits would show.
				clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 987_654_321, time.UTC))
				s := open(t)
				s.perKey = perKey
				return clockedLimiter{s, clk.Now}, clk.Advance
			})
		})
	}
}

// clockedLimiter is the Store's limiter on a test clock instead of Redis's.
type clockedLimiter struct {
	s   *Store
	now func() time.Time
}

func (c clockedLimiter) Allow(ctx context.Context, checks ...auth.LimitCheck) (int, time.Duration, error) {
	return c.s.allowAt(ctx, checks, c.now)
}

// allow1 is Allow of one key on Redis's clock.
func allow1(ctx context.Context, s *Store, key string, l auth.Limit) (bool, time.Duration, error) {
	n, retry, err := s.Allow(ctx, auth.LimitCheck{Key: key, Limit: l})
	return n == 1, retry, err
}

func TestLimiterKeyIsPrefixedAndExpires(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	l := auth.Limit{Events: 10, Per: time.Minute, Burst: 10}
	if ok, _, err := allow1(ctx, s, "login:ip:192.0.2.1", l); err != nil || !ok {
		t.Fatalf("Allow = %v, %v; want allowed", ok, err)
	}
	key := s.prefix + "limit:login:ip:192.0.2.1"
	ttl, err := s.c.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// One attempt of ten per minute is spent for six seconds.
	if ttl <= 0 || ttl > 10*time.Second {
		t.Fatalf("TTL of %s = %v; want the key to exist and expire within seconds", key, ttl)
	}
	if n, err := s.c.Exists(ctx, "limit:"+s.prefix+"login:ip:192.0.2.1").Result(); err != nil || n != 0 {
		t.Fatalf("unprefixed key exists: %d, %v", n, err)
	}
}

// TestLimiterUsesRedisTime covers what the contract suite cannot: Allow
// without a test clock reads Redis's TIME. A refusal after a burst of one
// at one per hour waits about an hour, whatever the load.
func TestLimiterUsesRedisTime(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	l := auth.Limit{Events: 1, Per: time.Hour, Burst: 1}
	if ok, _, err := allow1(ctx, s, "k", l); err != nil || !ok {
		t.Fatalf("Allow = %v, %v; want allowed", ok, err)
	}
	ok, retry, err := allow1(ctx, s, "k", l)
	if err != nil || ok || retry <= 59*time.Minute || retry > time.Hour {
		t.Fatalf("Allow = %v, %v, %v; want refused for about an hour", ok, retry, err)
	}
}
