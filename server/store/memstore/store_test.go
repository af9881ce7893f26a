package memstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/internal/testclock"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/store/storetest"
)

func open(t *testing.T) *Store {
	s := New()
	t.Cleanup(func() { s.Close() })
	return s
}

func TestInProcessChallengeStore(t *testing.T) {
	t.Parallel()
	storetest.ChallengeStore(t, func(t *testing.T) auth.ChallengeStore { return open(t) })
}

func TestInProcessSessionStore(t *testing.T) {
	t.Parallel()
	storetest.SessionStore(t, func(t *testing.T) auth.SessionStore { return open(t) })
}

func TestInjectedClockExpiresEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	// A janitor that never runs in the test: expiry must hold without it.
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour))
	t.Cleanup(func() { s.Close() })

	must(t, s.Put(ctx, "c", []byte("v"), time.Minute))
	sess := &auth.Session{ID: "s", UserID: 1, CreatedAt: clk.Now()}
	must(t, s.save(ctx, sess, time.Hour))

	clk.Advance(time.Minute - time.Nanosecond)
	if _, err := s.Get(ctx, "s"); err != nil {
		t.Fatalf("Get before expiry: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := s.Take(ctx, "c"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Take at expiry: %v, want ErrNotFound", err)
	}

	clk.Advance(time.Hour)
	if _, err := s.Get(ctx, "s"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Get after expiry: %v, want ErrNotFound", err)
	}
	if l, err := s.ListByUser(ctx, 1); err != nil || len(l) != 0 {
		t.Fatalf("ListByUser after expiry = %v, %v; want none", l, err)
	}
	if _, n, _ := s.size(); n != 1 {
		t.Fatalf("%d sessions held; want the expired one still there, waiting for the janitor", n)
	}
}

func TestJanitorPurgesExpiredEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Millisecond))
	t.Cleanup(func() { s.Close() })

	must(t, s.Put(ctx, "short", []byte("v"), time.Minute))
	must(t, s.Put(ctx, "long", []byte("v"), time.Hour))
	must(t, s.save(ctx, &auth.Session{ID: "a", UserID: 1}, time.Minute))
	must(t, s.save(ctx, &auth.Session{ID: "b", UserID: 2}, time.Minute))
	must(t, s.save(ctx, &auth.Session{ID: "c", UserID: 2}, time.Hour))

	// The janitor runs every millisecond but nothing has expired yet.
	time.Sleep(20 * time.Millisecond)
	if c, n, u := s.size(); c != 2 || n != 3 || u != 2 {
		t.Fatalf("before expiry: %d challenges, %d sessions, %d users; want 2, 3, 2", c, n, u)
	}

	clk.Advance(2 * time.Minute)
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, n, u := s.size()
		if c == 1 && n == 1 && u == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after expiry: %d challenges, %d sessions, %d users; want 1, 1, 1", c, n, u)
		}
		time.Sleep(time.Millisecond)
	}
	if l, err := s.ListByUser(ctx, 2); err != nil || len(l) != 1 || l[0].ID != "c" {
		t.Fatalf("ListByUser(2) = %v, %v; want session c", l, err)
	}
}

func TestCloseStopsTheJanitor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Millisecond))
	must(t, s.Close())
	must(t, s.Close())

	must(t, s.Put(ctx, "c", []byte("v"), time.Minute))
	clk.Advance(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if c, _, _ := s.size(); c != 1 {
		t.Fatalf("%d challenges held after Close; want the expired one left alone", c)
	}
	if _, err := s.Take(ctx, "c"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Take of an expired value after Close: %v, want ErrNotFound", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestChallengesAreCappedSessionsAreNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := testclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(WithClock(clk.Now), WithPurgeInterval(time.Hour), WithMaxChallenges(3))
	t.Cleanup(func() { s.Close() })

	for _, k := range []string{"a", "b", "c"} {
		must(t, s.Put(ctx, k, []byte("v"), time.Minute))
	}
	if err := s.Put(ctx, "d", []byte("v"), time.Minute); !errors.Is(err, auth.ErrFull) {
		t.Fatalf("Put into a full store: %v, want ErrFull", err)
	}
	// Replacing a held key does not grow the store.
	must(t, s.Put(ctx, "a", []byte("w"), time.Minute))
	// Sessions are never refused.
	for i := range 10 {
		must(t, s.save(ctx, &auth.Session{ID: string(rune('s' + i)), UserID: 1}, time.Hour))
	}
	// Taking one makes room; so does expiry, without waiting for the janitor.
	if _, err := s.Take(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	must(t, s.Put(ctx, "d", []byte("v"), time.Minute))
	clk.Advance(time.Minute)
	must(t, s.Put(ctx, "e", []byte("v"), time.Minute))
	if c, _, _ := s.size(); c > 3 {
		t.Fatalf("%d challenges held, more than the cap", c)
	}
}

// save starts a session replacing none.
func (s *Store) save(ctx context.Context, sess *auth.Session, ttl time.Duration) error {
	_, err := s.Start(ctx, sess, ttl, "")
	return err
}
