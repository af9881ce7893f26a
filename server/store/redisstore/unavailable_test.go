package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/faultproxy"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/redisstore"
	"github.com/latchkey/latchkey/shared"
)

// A Redis that cannot be reached is auth.StoreUnavailable from every kind
// of call (a command, a pipeline, the limiter's script); a missing key
// stays ErrNotFound; and once Redis is back the same store works again.
func TestUnreachableRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	_, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(opts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	// Without retries, so each call fails at once; the mapping is the same.
	opts.Addr, opts.MaxRetries, opts.DialerRetries = p.Addr(), -1, 1
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	s := redisstore.New(c, prefix)
	ctx := context.Background()
	sess := &auth.Session{ID: "s1", UserID: 7, CreatedAt: time.Now(), LastSeenAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}

	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Get of a missing session: %v, want ErrNotFound", err)
	}

	p.Cut()
	calls := map[string]func() error{
		"Put (command)":    func() error { return s.Put(ctx, "k", []byte("v"), time.Minute) },
		"Take (command)":   func() error { _, err := s.Take(ctx, "k"); return err },
		"Get (command)":    func() error { _, err := s.Get(ctx, "s1"); return err },
		"Start (pipeline)": func() error { _, err := s.Start(ctx, sess, time.Hour, "s0"); return err },
		"ListByUser":       func() error { _, err := s.ListByUser(ctx, 7); return err },
		"Allow (script)": func() error {
			l := auth.Limit{Events: 1, Per: time.Minute, Burst: 1}
			_, _, err := s.Allow(ctx, auth.LimitCheck{Key: "x", Limit: l}, auth.LimitCheck{Key: "y", Limit: l})
			return err
		},
		"Delete (pipeline)": func() error { return s.Delete(ctx, "s1") },
	}
	for name, call := range calls {
		err := call()
		if auth.ErrorCode(err) != shared.CodeUnavailable || errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s with Redis cut: %v, want unavailable", name, err)
		}
	}

	p.Heal()
	if _, err := s.Start(ctx, sess, time.Hour, ""); err != nil {
		t.Fatalf("Start after Redis came back: %v", err)
	}
	if got, err := s.Get(ctx, "s1"); err != nil || got.UserID != 7 {
		t.Fatalf("Get after Redis came back: %v, %v", got, err)
	}
}
