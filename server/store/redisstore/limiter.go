package redisstore

import (
	"context"
	"fmt"
	"time"

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

// gcra is the generic cell rate algorithm over one key or several in turn,
// in whole microseconds (a Lua number holds them exactly until the year
// 2255), so an attempt made exactly retryAfter later is allowed with no
// rounding.
//
//	KEYS[i]      the i-th key, holding its theoretical arrival time (TAT)
//	ARGV[1]      now, µs since the Unix epoch, or "" for Redis's own TIME
//	ARGV[2i]     the i-th key's emission interval: Per/Events, µs
//	ARGV[2i+1]   the i-th key's burst
//
// It returns {#KEYS, 0} when every key allowed the attempt, or {n,
// retryAfter µs} when the key after the first n refused it: those n keys
// were charged, and the refusing key and the ones after it are unchanged.
var gcra = redis.NewScript(`
local now = tonumber(ARGV[1])
if not now then
	local t = redis.call("TIME")
	now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
for i = 1, #KEYS do
	local interval = tonumber(ARGV[2 * i])
	local burst = tonumber(ARGV[2 * i + 1])
	local tat = tonumber(redis.call("GET", KEYS[i])) or now
	if tat < now then
		tat = now
	end
	local new_tat = tat + interval
	local allow_at = new_tat - burst * interval
	if now < allow_at then
		return {i - 1, allow_at - now}
	end
	redis.call("SET", KEYS[i], new_tat, "PX", math.ceil((new_tat - now) / 1000))
end
return {#KEYS, 0}
`)

// Allow implements auth.Limiter with GCRA (the generic cell rate
// algorithm), in one Lua script that reads and updates the keys,
//
//	<prefix>limit:<key>   string: the theoretical arrival time in µs, PX until the key is idle
//
// atomically and against the Redis server's clock, so every process sharing
// the Redis shares the limits (and their clocks need not agree), in one
// round trip. It behaves as a token bucket per key that holds Burst tokens
// and gains Events of them every Per; a refused attempt changes nothing.
//
// On Cluster the keys of one call may live on different nodes, which one
// script cannot reach, so there the script runs once per key, in order,
// until one refuses: each key is still updated atomically.
func (s *Store) Allow(ctx context.Context, checks ...auth.LimitCheck) (int, time.Duration, error) {
	return s.allowAt(ctx, checks, nil)
}

// allowAt is Allow reading the time from now, when it is not nil, instead of
// Redis's TIME: the contract tests drive time with it rather than sleep.
func (s *Store) allowAt(ctx context.Context, checks []auth.LimitCheck, now func() time.Time) (int, time.Duration, error) {
	for _, c := range checks {
		if err := checkLimit(c.Limit); err != nil {
			return 0, 0, err
		}
	}
	if len(checks) == 0 {
		return 0, 0, nil
	}
	var at any = ""
	if now != nil {
		at = now().UnixMicro()
	}
	if !s.perKey {
		return s.runGCRA(ctx, checks, at)
	}
	for i, c := range checks {
		n, retry, err := s.runGCRA(ctx, []auth.LimitCheck{c}, at)
		if err != nil || n == 0 {
			return i, retry, err
		}
	}
	return len(checks), 0, nil
}

// runGCRA runs the script over checks, at the time at (µs, or "" for
// Redis's).
func (s *Store) runGCRA(ctx context.Context, checks []auth.LimitCheck, at any) (int, time.Duration, error) {
	keys := make([]string, len(checks))
	args := make([]any, 0, 1+2*len(checks))
	args = append(args, at)
	for i, c := range checks {
		keys[i] = s.prefix + "limit:" + c.Key
		// At least one µs apart, or a limit finer than that would allow all.
		interval := max(c.Limit.Per.Microseconds()/int64(c.Limit.Events), 1)
		args = append(args, interval, c.Limit.Burst)
	}
	res, err := gcra.Run(ctx, s.c, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	if len(res) != 2 || res[0] < 0 || res[0] > int64(len(checks)) {
		return 0, 0, fmt.Errorf("redisstore: rate limit: the script returned %v", res)
	}
	n := int(res[0])
	if n == len(checks) {
		return n, 0, nil
	}
	// At most one interval while the limit stays the same; Per bounds it
	// when a key's limit shrinks.
	return n, min(time.Duration(res[1])*time.Microsecond, checks[n].Limit.Per), nil
}
