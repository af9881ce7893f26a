package redisstore

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/auth"
)

// trips counts the round trips a client makes to Redis: one per command
// sent alone, one per pipeline.
type trips struct {
	mu   sync.Mutex
	sent []string
}

// countTrips starts counting s's round trips.
func countTrips(s *Store) *trips {
	tr := &trips{}
	s.c.AddHook(tr)
	return tr
}

// take returns what was sent since the last take, one entry per trip.
func (tr *trips) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.sent
	tr.sent = nil
	return out
}

func (tr *trips) add(cmds []redis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sent = append(tr.sent, strings.Join(names, "+"))
}

func (tr *trips) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (tr *trips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		tr.add([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (tr *trips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		tr.add(cmds)
		return next(ctx, cmds)
	}
}

func TestLimiterChecksEveryKeyInOneRoundTrip(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	l := auth.Limit{Events: 10, Per: time.Minute, Burst: 10}
	checks := []auth.LimitCheck{{Key: "email:ip:192.0.2.1", Limit: l}, {Key: "email:name-ip:x", Limit: l}, {Key: "email:name:x", Limit: l}}
	// The first call may load the script (NOSCRIPT, then EVAL).
	if _, _, err := s.Allow(ctx, checks...); err != nil {
		t.Fatal(err)
	}
	tr := countTrips(s)
	n, _, err := s.Allow(ctx, checks...)
	if err != nil || n != len(checks) {
		t.Fatalf("Allow = %d, %v; want all %d charged", n, err, len(checks))
	}
	if sent := tr.take(); len(sent) != 1 {
		t.Fatalf("Allow of %d keys took %d round trips (%v); want 1", len(checks), len(sent), sent)
	}
}

func TestStartIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	mine := func(id string) *auth.Session { return &auth.Session{ID: id, UserID: 1} }
	if err := s.save(ctx, mine("old"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.save(ctx, &auth.Session{ID: "theirs", UserID: 2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	tr := countTrips(s)
	for _, c := range []struct {
		what, replaces string
		trips          int
	}{
		{"replacing none", "", 1},
		{"replacing the user's own session", "old", 1},
		{"replacing an unknown session", "gone", 1},
		// Only the other user's index needs a second trip.
		{"replacing another user's session", "theirs", 2},
	} {
		if _, err := s.Start(ctx, mine("new-"+c.what), time.Hour, c.replaces); err != nil {
			t.Fatalf("Start %s: %v", c.what, err)
		}
		if sent := tr.take(); len(sent) != c.trips {
			t.Errorf("Start %s took %d round trips (%v); want %d", c.what, len(sent), sent, c.trips)
		}
	}
	if n := s.c.ZCard(ctx, s.userKey(2)).Val(); n != 0 {
		t.Fatalf("user 2's index holds %d entries after their session was replaced; want none", n)
	}
}
