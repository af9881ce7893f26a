package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

// Limiter runs the auth.Limiter contract. open must return a fresh limiter,
// with no attempts recorded, for each subtest, and a function that moves
// the limiter's clock forward; the subtests run in parallel.
//
// Time is driven, never slept: on a loaded machine a sleep can last far
// longer than asked, and a refill test that sleeps then flakes.
func Limiter(t *testing.T, open func(t *testing.T) (l auth.Limiter, advance func(time.Duration))) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, l auth.Limiter, advance func(time.Duration))
	}{
		{"a burst is allowed at once, then attempts are refused", limBurst},
		{"keys are limited apart", limKeysApart},
		{"a refused attempt does not count", limRefusalFree},
		{"tokens refill at the rate, up to the burst", limRefill},
		{"an invalid limit is an error", limInvalid},
		{"of concurrent attempts exactly a burst is allowed", limConcurrent},
		{"several keys in one call are all charged", limMultiAllowed},
		{"a refusal stops the call: the keys after it are not charged", limMultiStops},
		{"the retry time is the refusing key's", limMultiRetry},
		{"an invalid limit anywhere in a call charges nothing", limMultiInvalid},
		{"a call without checks allows", limMultiEmpty},
		{"of concurrent calls over two keys exactly the smaller burst passes both", limMultiConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, advance := open(t)
			tc.fn(t, l, advance)
		})
	}
}

// limFast refills a token every 200ms.
var limFast = auth.Limit{Events: 2, Per: 400 * time.Millisecond, Burst: 2}

// limSlow refills a token every 12s.
var limSlow = auth.Limit{Events: 5, Per: time.Minute, Burst: 5}

func limCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func limAllow(t *testing.T, l auth.Limiter, key string, lim auth.Limit) (bool, time.Duration) {
	t.Helper()
	n, retry, err := l.Allow(limCtx(t), auth.LimitCheck{Key: key, Limit: lim})
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, lim, err)
	}
	if n != 0 && n != 1 {
		t.Fatalf("Allow(%q, %+v) charged %d of 1", key, lim, n)
	}
	return n == 1, retry
}

func limWantAllowed(t *testing.T, l auth.Limiter, key string, lim auth.Limit, what string) {
	t.Helper()
	if ok, retry := limAllow(t, l, key, lim); !ok {
		t.Fatalf("%s: Allow(%q) refused, retry after %v; want allowed", what, key, retry)
	}
}

// limWantRefused checks that the attempt is refused with a retryAfter in
// (0, Per] and returns it.
func limWantRefused(t *testing.T, l auth.Limiter, key string, lim auth.Limit, what string) time.Duration {
	t.Helper()
	ok, retry := limAllow(t, l, key, lim)
	if ok {
		t.Fatalf("%s: Allow(%q) allowed; want refused", what, key)
	}
	if retry <= 0 || retry > lim.Per {
		t.Fatalf("%s: Allow(%q) refused with retry after %v; want within (0, %v]", what, key, retry, lim.Per)
	}
	return retry
}

func limBurst(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	for i := range limSlow.Burst {
		limWantAllowed(t, l, "k", limSlow, fmt.Sprintf("attempt %d of the burst", i+1))
	}
	limWantRefused(t, l, "k", limSlow, "attempt past the burst")
	limWantRefused(t, l, "k", limSlow, "another attempt past the burst")
}

func limKeysApart(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	for range limSlow.Burst {
		limWantAllowed(t, l, "login:ip:192.0.2.1", limSlow, "first key")
	}
	limWantRefused(t, l, "login:ip:192.0.2.1", limSlow, "first key exhausted")
	// Neither a different key nor one that extends the exhausted one is
	// affected.
	for _, key := range []string{"login:ip:192.0.2.2", "login:ip:192.0.2.10"} {
		for range limSlow.Burst {
			limWantAllowed(t, l, key, limSlow, "other key")
		}
		limWantRefused(t, l, key, limSlow, "other key exhausted")
	}
}

func limRefusalFree(t *testing.T, l auth.Limiter, advance func(time.Duration)) {
	for range limFast.Burst {
		limWantAllowed(t, l, "k", limFast, "within the burst")
	}
	first := limWantRefused(t, l, "k", limFast, "first refusal")
	// Were refusals counted, each would push the next token further out.
	for range 3 {
		if retry := limWantRefused(t, l, "k", limFast, "repeated refusal"); retry != first {
			t.Fatalf("a repeated refusal at the same time says retry after %v, not the first's %v", retry, first)
		}
	}
	advance(first - time.Microsecond)
	limWantRefused(t, l, "k", limFast, "just before retryAfter")
	advance(time.Microsecond)
	limWantAllowed(t, l, "k", limFast, "after waiting retryAfter")
	limWantRefused(t, l, "k", limFast, "the one refilled token taken")
}

func limRefill(t *testing.T, l auth.Limiter, advance func(time.Duration)) {
	interval := limSlow.Per / time.Duration(limSlow.Events)
	for range limSlow.Burst {
		limWantAllowed(t, l, "k", limSlow, "within the burst")
	}
	if retry := limWantRefused(t, l, "k", limSlow, "past the burst"); retry != interval {
		t.Fatalf("retry after %v at once after the burst; want one interval, %v", retry, interval)
	}
	// Half an interval later, half as long to wait.
	advance(interval / 2)
	if retry := limWantRefused(t, l, "k", limSlow, "half an interval on"); retry != interval/2 {
		t.Fatalf("retry after %v half an interval on; want %v", retry, interval/2)
	}
	// Two intervals: two tokens, no more.
	advance(interval/2 + interval)
	limWantAllowed(t, l, "k", limSlow, "first refilled token")
	limWantAllowed(t, l, "k", limSlow, "second refilled token")
	limWantRefused(t, l, "k", limSlow, "after the refilled tokens")
	// A long idle time refills the bucket to the burst and not beyond.
	advance(time.Hour)
	for range limSlow.Burst {
		limWantAllowed(t, l, "k", limSlow, "after an idle hour")
	}
	limWantRefused(t, l, "k", limSlow, "past the burst after an idle hour")
}

func limInvalid(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	for _, lim := range []auth.Limit{
		{},
		{Events: 0, Per: time.Minute, Burst: 5},
		{Events: -1, Per: time.Minute, Burst: 5},
		{Events: 5, Per: 0, Burst: 5},
		{Events: 5, Per: -time.Minute, Burst: 5},
		{Events: 5, Per: time.Minute, Burst: 0},
		{Events: 5, Per: time.Minute, Burst: -1},
	} {
		n, _, err := l.Allow(limCtx(t), auth.LimitCheck{Key: "k", Limit: lim})
		if err == nil {
			t.Errorf("Allow with %+v charged %d, nil; want an error", lim, n)
		} else if n != 0 {
			t.Errorf("Allow with %+v charged %d, %v; want 0 with the error", lim, n, err)
		}
	}
	// None of that counted against the key.
	for range limSlow.Burst {
		limWantAllowed(t, l, "k", limSlow, "after invalid limits")
	}
}

func limConcurrent(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	const attempts = 20
	ctx := limCtx(t)
	start := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		allowed  int
		failures []error
	)
	for range attempts {
		wg.Go(func() {
			<-start
			n, _, err := l.Allow(ctx, auth.LimitCheck{Key: "contested", Limit: limSlow})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err)
			} else if n == 1 {
				allowed++
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("Allow: %v", err)
	}
	if allowed != limSlow.Burst {
		t.Fatalf("%d of %d concurrent attempts allowed; want exactly %d", allowed, attempts, limSlow.Burst)
	}
}

// limCall makes one call over checks and fails the test on an error.
func limCall(t *testing.T, l auth.Limiter, checks ...auth.LimitCheck) (int, time.Duration) {
	t.Helper()
	n, retry, err := l.Allow(limCtx(t), checks...)
	if err != nil {
		t.Fatalf("Allow(%+v): %v", checks, err)
	}
	if n < 0 || n > len(checks) {
		t.Fatalf("Allow(%+v) charged %d of %d", checks, n, len(checks))
	}
	return n, retry
}

// limLeft reports how many attempts key allows before a refusal, using
// them up.
func limLeft(t *testing.T, l auth.Limiter, key string, lim auth.Limit) int {
	t.Helper()
	for n := 0; ; n++ {
		if ok, _ := limAllow(t, l, key, lim); !ok {
			return n
		}
		if n+1 > lim.Burst {
			t.Fatalf("%s allows more than its burst of %d", key, lim.Burst)
		}
	}
}

func limMultiAllowed(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	a, b := auth.LimitCheck{Key: "a", Limit: limSlow}, auth.LimitCheck{Key: "b", Limit: limFast}
	if n, retry := limCall(t, l, a, b); n != 2 || retry != 0 {
		t.Fatalf("Allow(a, b) charged %d, retry after %v; want both charged", n, retry)
	}
	if n, _ := limCall(t, l, a, b); n != 2 {
		t.Fatalf("second Allow(a, b) charged %d; want both", n)
	}
	// Each key lost exactly the two attempts.
	if left := limLeft(t, l, "a", limSlow); left != limSlow.Burst-2 {
		t.Errorf("a allows %d more; want %d", left, limSlow.Burst-2)
	}
	if left := limLeft(t, l, "b", limFast); left != limFast.Burst-2 {
		t.Errorf("b allows %d more; want %d", left, limFast.Burst-2)
	}
}

func limMultiStops(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	for range limFast.Burst {
		limWantAllowed(t, l, "b", limFast, "using up b")
	}
	a := auth.LimitCheck{Key: "a", Limit: limSlow}
	b := auth.LimitCheck{Key: "b", Limit: limFast}
	c := auth.LimitCheck{Key: "c", Limit: limSlow}
	n, retry := limCall(t, l, a, b, c)
	if n != 1 {
		t.Fatalf("Allow(a, b, c) with b used up charged %d; want 1 (a, then b refused)", n)
	}
	if retry <= 0 || retry > limFast.Per {
		t.Fatalf("refused with retry after %v; want within (0, %v]", retry, limFast.Per)
	}
	// a was charged before b refused; c, after it, was never reached.
	if left := limLeft(t, l, "a", limSlow); left != limSlow.Burst-1 {
		t.Errorf("a allows %d more; want %d (charged once)", left, limSlow.Burst-1)
	}
	if left := limLeft(t, l, "c", limSlow); left != limSlow.Burst {
		t.Errorf("c allows %d more; want its whole burst, %d", left, limSlow.Burst)
	}
	// A refusal in first place charges nothing at all.
	if n, _ := limCall(t, l, b, c); n != 0 {
		t.Fatalf("Allow(b, c) with b used up charged %d; want 0", n)
	}
}

func limMultiRetry(t *testing.T, l auth.Limiter, advance func(time.Duration)) {
	// b refills a token every 200ms, a every 12s: a refused call waits for
	// b's, whatever a's state.
	for range limFast.Burst {
		limWantAllowed(t, l, "b", limFast, "using up b")
	}
	a, b := auth.LimitCheck{Key: "a", Limit: limSlow}, auth.LimitCheck{Key: "b", Limit: limFast}
	n, retry := limCall(t, l, a, b)
	if n != 1 || retry != limFast.Per/time.Duration(limFast.Events) {
		t.Fatalf("Allow(a, b) = %d, retry after %v; want 1, retry after b's interval %v", n, retry, limFast.Per/time.Duration(limFast.Events))
	}
	advance(retry)
	if n, _ := limCall(t, l, a, b); n != 2 {
		t.Fatalf("Allow(a, b) after waiting charged %d; want both", n)
	}
}

func limMultiInvalid(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	a := auth.LimitCheck{Key: "a", Limit: limSlow}
	bad := auth.LimitCheck{Key: "bad", Limit: auth.Limit{Events: 5, Per: time.Minute}}
	for _, checks := range [][]auth.LimitCheck{{a, bad}, {bad, a}} {
		n, _, err := l.Allow(limCtx(t), checks...)
		if err == nil || n != 0 {
			t.Errorf("Allow(%+v) = %d, %v; want 0 and an error", checks, n, err)
		}
	}
	if left := limLeft(t, l, "a", limSlow); left != limSlow.Burst {
		t.Errorf("a allows %d more; want its whole burst, %d", left, limSlow.Burst)
	}
}

func limMultiEmpty(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	if n, retry := limCall(t, l); n != 0 || retry != 0 {
		t.Fatalf("Allow() = %d, %v; want 0, 0", n, retry)
	}
}

func limMultiConcurrent(t *testing.T, l auth.Limiter, _ func(time.Duration)) {
	const attempts = 20
	wide := auth.Limit{Events: 10, Per: time.Minute, Burst: 10}
	checks := []auth.LimitCheck{{Key: "wide", Limit: wide}, {Key: "narrow", Limit: limSlow}}
	ctx := limCtx(t)
	start := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		passed   int
		charged  int
		failures []error
	)
	for range attempts {
		wg.Go(func() {
			<-start
			n, _, err := l.Allow(ctx, checks...)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failures = append(failures, err)
			case n == len(checks):
				passed++
			}
			if n > 0 {
				charged++
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("Allow: %v", err)
	}
	if passed != limSlow.Burst || charged != wide.Burst {
		t.Fatalf("%d of %d concurrent calls passed both keys and %d were charged to the first; want %d and %d",
			passed, attempts, charged, limSlow.Burst, wide.Burst)
	}
}
