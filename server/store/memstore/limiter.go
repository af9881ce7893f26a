package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/latchkey/latchkey/server/auth"
)

var _ auth.Limiter = (*Store)(nil)

// limiters holds one token bucket per key. The zero value is ready to use.
// Its lock is apart from the store's, so throttling never waits on
// challenges and sessions; purge takes both, always the store's first.
type limiters struct {
	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	lim   *rate.Limiter
	limit auth.Limit
}

// checkLimit refuses a limit that would allow nothing or everything.
func checkLimit(l auth.Limit) error {
	if l.Events <= 0 || l.Per <= 0 || l.Burst <= 0 {
		return fmt.Errorf("memstore: invalid limit %d per %v, burst %d: all must be positive", l.Events, l.Per, l.Burst)
	}
	return nil
}

// every is l as a rate.Limit: events per second.
func every(l auth.Limit) rate.Limit {
	return rate.Limit(float64(l.Events) / l.Per.Seconds())
}

// Allow implements auth.Limiter with a token bucket per key, read against
// the store's clock: a bucket holds up to Burst tokens and gains Events of
// them every Per. An attempt takes a token from each key's bucket in turn
// or, at the first without one, stops there, takes nothing from it or the
// keys after it, and learns when its next token is due. All of that happens
// under one lock, against one reading of the clock.
//
// A key that is called with a different limit than before keeps its tokens
// and continues at the new rate and burst.
func (s *Store) Allow(ctx context.Context, checks ...auth.LimitCheck) (int, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	for _, c := range checks {
		if err := checkLimit(c.Limit); err != nil {
			return 0, 0, err
		}
	}
	t := &s.limits
	// The reservations and their cancellation happen under one lock: a
	// refused attempt interleaved with another one could otherwise fail to
	// give its token back.
	t.mu.Lock()
	defer t.mu.Unlock()
	now := s.now()
	for i, c := range checks {
		if ok, retry := t.take(now, c.Key, c.Limit); !ok {
			return i, retry, nil
		}
	}
	return len(checks), 0, nil
}

// take takes a token from key's bucket, or reports how long until one is
// due; t.mu must be held.
func (t *limiters) take(now time.Time, key string, l auth.Limit) (bool, time.Duration) {
	b := t.m[key]
	switch {
	case b == nil:
		if t.m == nil {
			t.m = make(map[string]*bucket)
		}
		// A new bucket starts full.
		b = &bucket{lim: rate.NewLimiter(every(l), l.Burst), limit: l}
		t.m[key] = b
	case b.limit != l:
		b.lim.SetLimitAt(now, every(l))
		b.lim.SetBurstAt(now, l.Burst)
		b.limit = l
	}
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		// Cannot happen with Burst >= 1, but never allow on a surprise.
		return false, l.Per
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// purge deletes the buckets that have been idle long enough to be full
// again: a fresh bucket would behave exactly the same.
func (t *limiters) purge(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, b := range t.m {
		if b.lim.TokensAt(now) >= float64(b.limit.Burst) {
			delete(t.m, k)
		}
	}
}

// len reports how many buckets are held, full or not, for tests.
func (t *limiters) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
