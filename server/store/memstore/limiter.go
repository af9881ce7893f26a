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
// them every Per. An attempt takes a token or, when there is none, is
// refused without taking anything and learns when the next one is due.
//
// A key that is called with a different limit than before keeps its tokens
// and continues at the new rate and burst.
func (s *Store) Allow(ctx context.Context, key string, l auth.Limit) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	if err := checkLimit(l); err != nil {
		return false, 0, err
	}
	t := &s.limits
	// The reservation and its cancellation happen under one lock: a
	// refused attempt interleaved with another one could otherwise fail to
	// give its token back.
	t.mu.Lock()
	defer t.mu.Unlock()
	now := s.now()
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
		return false, l.Per, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
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
