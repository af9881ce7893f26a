package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/auth"
)

var _ auth.Limiter = (*Store)(nil)

// checkLimit refuses a limit that would allow nothing or everything.
func checkLimit(l auth.Limit) error {
	if l.Events <= 0 || l.Per <= 0 || l.Burst <= 0 {
		return fmt.Errorf("redisstore: invalid limit %d per %v, burst %d: all must be positive", l.Events, l.Per, l.Burst)
	}
	return nil
}

// Allow implements auth.Limiter with redis_rate's GCRA (generic cell rate
// algorithm): one Lua script reads and updates a single key,
//
//	<prefix>rate:<key>   string: the theoretical arrival time, EX until the key is idle
//
// atomically and against the Redis server's clock, so every process sharing
// the Redis shares the limit, and it runs on Cluster. A refused attempt
// changes nothing. retryAfter is rounded up to the next whole millisecond, so
// that an attempt made after waiting it is allowed despite the script's
// float arithmetic.
func (s *Store) Allow(ctx context.Context, key string, l auth.Limit) (bool, time.Duration, error) {
	if err := checkLimit(l); err != nil {
		return false, 0, err
	}
	// redis_rate puts its own "rate:" in front of key; prefixed puts the
	// store's prefix in front of that.
	lim := redis_rate.NewLimiter(prefixed{c: s.c, prefix: s.prefix})
	res, err := lim.Allow(ctx, key, redis_rate.Limit{Rate: l.Events, Period: l.Per, Burst: l.Burst})
	if err != nil {
		return false, 0, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	if res.Allowed > 0 {
		return true, 0, nil
	}
	// Up to the next whole millisecond, strictly above: the script's
	// times are floats good to some microseconds. It is never more than
	// Per/Events, so Per bounds it still.
	retry := max(res.RetryAfter, 0).Truncate(time.Millisecond) + time.Millisecond
	return false, min(retry, l.Per), nil
}

// prefixed is the client as redis_rate sees it: every key gets the store's
// prefix. It implements only what redis_rate calls, so nothing can reach
// Redis unprefixed.
type prefixed struct {
	c      redis.UniversalClient
	prefix string
}

func (p prefixed) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + k
	}
	return out
}

func (p prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.c.Eval(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.c.EvalSha(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.c.EvalRO(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.c.EvalShaRO(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.c.ScriptExists(ctx, hashes...)
}

func (p prefixed) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.c.ScriptLoad(ctx, script)
}

func (p prefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return p.c.Del(ctx, p.keys(keys)...)
}
