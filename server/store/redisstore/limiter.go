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

// gcra is the generic cell rate algorithm over one key, in whole
// microseconds (a Lua number holds them exactly until the year 2255), so
// an attempt made exactly retryAfter later is allowed with no rounding.
//
//	KEYS[1]  the key, holding the theoretical arrival time (TAT)
//	ARGV[1]  emission interval: Per/Events, µs
//	ARGV[2]  burst
//	ARGV[3]  now, µs since the Unix epoch, or "" for Redis's own TIME
//
// It returns {1, 0} for an allowed attempt and {0, retryAfter µs} for a
// refused one, which changes nothing.
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
	local t = redis.call("TIME")
	now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call("GET", KEYS[1])) or now
if tat < now then
	tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
	return {0, allow_at - now}
end
redis.call("SET", KEYS[1], new_tat, "PX", math.ceil((new_tat - now) / 1000))
return {1, 0}
`)

// Allow implements auth.Limiter with GCRA (the generic cell rate
// algorithm), in one Lua script that reads and updates a single key,
//
//	<prefix>limit:<key>   string: the theoretical arrival time in µs, PX until the key is idle
//
// atomically and against the Redis server's clock, so every process sharing
// the Redis shares the limit (and their clocks need not agree), and it runs
// on Cluster. It behaves as a token bucket that holds Burst tokens and gains
// Events of them every Per; a refused attempt changes nothing.
func (s *Store) Allow(ctx context.Context, key string, l auth.Limit) (bool, time.Duration, error) {
	return s.allowAt(ctx, key, l, nil)
}

// allowAt is Allow reading the time from now, when it is not nil, instead of
// Redis's TIME: the contract tests drive time with it rather than sleep.
func (s *Store) allowAt(ctx context.Context, key string, l auth.Limit, now func() time.Time) (bool, time.Duration, error) {
	if err := checkLimit(l); err != nil {
		return false, 0, err
	}
	// At least one µs apart, or a limit finer than that would allow all.
	interval := max(l.Per.Microseconds()/int64(l.Events), 1)
	var at any = ""
	if now != nil {
		at = now().UnixMicro()
	}
	res, err := gcra.Run(ctx, s.c, []string{s.prefix + "limit:" + key}, interval, l.Burst, at).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redisstore: rate limit: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redisstore: rate limit: the script returned %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	// At most one interval while the limit stays the same; Per bounds it
	// when a key's limit shrinks.
	return false, min(time.Duration(res[1])*time.Microsecond, l.Per), nil
}
