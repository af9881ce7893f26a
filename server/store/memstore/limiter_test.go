package memstore

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/internal/testclock"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/store/storetest"
)

func TestInProcessLimiter(t *testing.T) {
	t.Parallel()
	storetest.Limiter(t, func(t *testing.T) (auth.Limiter, func(time.Duration)) {
		clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour))
		t.Cleanup(func() { s.Close() })
		return s, clk.Advance
	})
}

func allow(t *testing.T, s *Store, key string, l auth.Limit) (bool, time.Duration) {
	t.Helper()
	n, retry, err := s.Allow(context.Background(), auth.LimitCheck{Key: key, Limit: l})
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return n == 1, retry
}

func TestLimiterRefillsWithTheInjectedClock(t *testing.T) {
	t.Parallel()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour))
	t.Cleanup(func() { s.Close() })
	// A token every 20s, up to 3.
	l := auth.Limit{Events: 3, Per: time.Minute, Burst: 3}

	for i := range 3 {
		if ok, retry := allow(t, s, "k", l); !ok {
			t.Fatalf("attempt %d refused, retry after %v", i+1, retry)
		}
	}
	if ok, retry := allow(t, s, "k", l); ok || retry != 20*time.Second {
		t.Fatalf("attempt past the burst = %v, %v; want refused, retry after 20s", ok, retry)
	}

	clk.Advance(15 * time.Second)
	if ok, retry := allow(t, s, "k", l); ok || retry != 5*time.Second {
		t.Fatalf("after 15s = %v, %v; want refused, retry after 5s", ok, retry)
	}
	clk.Advance(5 * time.Second)
	if ok, retry := allow(t, s, "k", l); !ok {
		t.Fatalf("after 20s refused, retry after %v; want allowed", retry)
	}
	if ok, retry := allow(t, s, "k", l); ok || retry != 20*time.Second {
		t.Fatalf("right after the refill = %v, %v; want refused, retry after 20s", ok, retry)
	}

	// A long pause refills up to the burst, not beyond.
	clk.Advance(time.Hour)
	for i := range 3 {
		if ok, retry := allow(t, s, "k", l); !ok {
			t.Fatalf("after an hour, attempt %d refused, retry after %v", i+1, retry)
		}
	}
	if ok, _ := allow(t, s, "k", l); ok {
		t.Fatal("after an hour, a fourth attempt allowed; want the burst to cap the refill")
	}
}

func TestLimiterFollowsAChangedLimit(t *testing.T) {
	t.Parallel()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour))
	t.Cleanup(func() { s.Close() })

	tight := auth.Limit{Events: 1, Per: time.Minute, Burst: 1}
	if ok, _ := allow(t, s, "k", tight); !ok {
		t.Fatal("first attempt refused")
	}
	if ok, retry := allow(t, s, "k", tight); ok || retry != time.Minute {
		t.Fatalf("second attempt = %v, %v; want refused, retry after 1m", ok, retry)
	}
	// A token every second: the next one is a second away, not a minute.
	loose := auth.Limit{Events: 60, Per: time.Minute, Burst: 60}
	if ok, retry := allow(t, s, "k", loose); ok || retry != time.Second {
		t.Fatalf("with a looser limit = %v, %v; want refused, retry after 1s", ok, retry)
	}
	clk.Advance(time.Second)
	if ok, retry := allow(t, s, "k", loose); !ok {
		t.Fatalf("a second later refused, retry after %v", retry)
	}
}

func TestPurgeDropsIdleLimiters(t *testing.T) {
	t.Parallel()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour))
	t.Cleanup(func() { s.Close() })
	// A token every 10s, up to 2.
	l := auth.Limit{Events: 6, Per: time.Minute, Burst: 2}

	allow(t, s, "one", l)
	allow(t, s, "two", l)
	allow(t, s, "two", l)
	if n := s.limits.len(); n != 2 {
		t.Fatalf("%d limiters held; want 2", n)
	}

	// "one" is full again after 10s, "two" only after 20s.
	clk.Advance(10*time.Second - time.Nanosecond)
	s.purge()
	if n := s.limits.len(); n != 2 {
		t.Fatalf("before any refilled: %d limiters held; want 2", n)
	}
	clk.Advance(time.Nanosecond)
	s.purge()
	if n := s.limits.len(); n != 1 {
		t.Fatalf("once one refilled: %d limiters held; want 1", n)
	}
	// Dropping a full bucket changes nothing for its key.
	for i := range 2 {
		if ok, retry := allow(t, s, "one", l); !ok {
			t.Fatalf("purged key, attempt %d refused, retry after %v", i+1, retry)
		}
	}
	if ok, _ := allow(t, s, "one", l); ok {
		t.Fatal("purged key allowed past its burst")
	}
	// A bucket still short of full keeps what it has spent.
	if ok, retry := allow(t, s, "two", l); !ok || retry != 0 {
		t.Fatalf("two after 10s = %v, %v; want allowed (one token back)", ok, retry)
	}
	if ok, _ := allow(t, s, "two", l); ok {
		t.Fatal("two allowed a second time after 10s; want its spending remembered")
	}
}

func TestJanitorPurgesIdleLimiters(t *testing.T) {
	t.Parallel()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Millisecond))
	t.Cleanup(func() { s.Close() })
	l := auth.Limit{Events: 1, Per: time.Minute, Burst: 1}
	for i := range 100 {
		allow(t, s, "ip:"+strconv.Itoa(i), l)
	}
	time.Sleep(20 * time.Millisecond)
	if n := s.limits.len(); n != 100 {
		t.Fatalf("before refill: %d limiters held; want 100", n)
	}
	clk.Advance(time.Minute)
	deadline := time.Now().Add(2 * time.Second)
	for s.limits.len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after refill: %d limiters held; want none", s.limits.len())
		}
		time.Sleep(time.Millisecond)
	}
}

// Reserving and cancelling happen under one lock; interleaved, a refusal
// could fail to give its token back.
func TestConcurrentRefusalsSpendNothing(t *testing.T) {
	t.Parallel()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour))
	t.Cleanup(func() { s.Close() })
	l := auth.Limit{Events: 1, Per: time.Minute, Burst: 1}
	allow(t, s, "k", l)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			if n, _, err := s.Allow(context.Background(), auth.LimitCheck{Key: "k", Limit: l}); n != 0 || err != nil {
				t.Errorf("Allow charged %d, %v; want refused", n, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok, retry := allow(t, s, "k", l); ok || retry != time.Minute {
		t.Fatalf("after 200 concurrent refusals = %v, %v; want refused, retry after 1m", ok, retry)
	}
	clk.Advance(time.Minute)
	if ok, retry := allow(t, s, "k", l); !ok {
		t.Fatalf("a minute later refused, retry after %v", retry)
	}
}
