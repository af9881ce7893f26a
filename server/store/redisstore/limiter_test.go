package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/store/storetest"
)

func TestRedisLimiter(t *testing.T) {
	t.Parallel()
	storetest.Limiter(t, func(t *testing.T) auth.Limiter { return open(t) })
}

func TestLimiterKeyIsPrefixedAndExpires(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	l := auth.Limit{Events: 10, Per: time.Minute, Burst: 10}
	if ok, _, err := s.Allow(ctx, "login:ip:192.0.2.1", l); err != nil || !ok {
		t.Fatalf("Allow = %v, %v; want allowed", ok, err)
	}
	key := s.prefix + "rate:login:ip:192.0.2.1"
	ttl, err := s.c.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// One attempt of ten per minute is spent for six seconds.
	if ttl <= 0 || ttl > 10*time.Second {
		t.Fatalf("TTL of %s = %v; want the key to exist and expire within seconds", key, ttl)
	}
	if n, err := s.c.Exists(ctx, "rate:"+s.prefix+"login:ip:192.0.2.1").Result(); err != nil || n != 0 {
		t.Fatalf("unprefixed key exists: %d, %v", n, err)
	}
}
