package redisstore

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/storetest"
)

func open(t *testing.T) *Store {
	c, prefix := testenv.Redis(t)
	return New(c, prefix)
}

func TestRedisChallengeStore(t *testing.T) {
	t.Parallel()
	storetest.ChallengeStore(t, func(t *testing.T) auth.ChallengeStore { return open(t) })
}

func TestRedisSessionStore(t *testing.T) {
	t.Parallel()
	storetest.SessionStore(t, func(t *testing.T) auth.SessionStore { return open(t) })
}

func TestUserIndexOutlivesItsLongestSession(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	key := s.userKey(1)
	ttl := func() time.Duration {
		t.Helper()
		d, err := s.c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		id      string
		ttl     time.Duration
		atLeast time.Duration
	}{
		{"a", 10 * time.Minute, 10 * time.Minute},
		{"b", time.Hour, time.Hour},
		// A shorter session must not shorten the index.
		{"c", time.Minute, time.Hour},
	} {
		if err := s.save(ctx, &auth.Session{ID: c.id, UserID: 1}, c.ttl); err != nil {
			t.Fatal(err)
		}
		// Allow for the time the test itself takes.
		if got := ttl(); got < c.atLeast-5*time.Second {
			t.Fatalf("after saving %s for %v: index TTL %v, want at least %v", c.id, c.ttl, got, c.atLeast)
		}
	}
}

func TestListByUserPrunesTheIndex(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	key := s.userKey(1)
	for i, ttl := range []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, time.Hour} {
		if err := s.save(ctx, &auth.Session{ID: strconv.Itoa(i), UserID: 1}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	l, err := s.ListByUser(ctx, 1)
	if err != nil || len(l) != 1 {
		t.Fatalf("ListByUser = %v, %v; want one session", l, err)
	}
	if n := s.c.ZCard(ctx, key).Val(); n != 1 {
		t.Fatalf("index holds %d entries after listing; want the expired ones gone", n)
	}
	if err := s.Delete(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	if n := s.c.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("index still exists after its last session was deleted")
	}
}

// A session whose key vanished early (evicted, say) is skipped, and one
// re-saved under another user never shows up in the old user's list.
func TestListByUserSkipsStrayEntries(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	for _, id := range []string{"evicted", "moved", "kept"} {
		if err := s.save(ctx, &auth.Session{ID: id, UserID: 1}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.c.Del(ctx, s.sessionKey("evicted")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.save(ctx, &auth.Session{ID: "moved", UserID: 2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	l, err := s.ListByUser(ctx, 1)
	if err != nil || len(l) != 1 || l[0].ID != "kept" {
		t.Fatalf("ListByUser(1) = %v, %v; want only session kept", l, err)
	}
}

func TestKeysStayUnderThePrefix(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.save(ctx, &auth.Session{ID: "s", UserID: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, err := s.c.Keys(ctx, s.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys under the prefix: %v; want challenge, session and user index", keys)
	}
	other := New(s.c, s.prefix+"other:")
	if _, err := other.Take(ctx, "k"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Take under another prefix: %v, want ErrNotFound", err)
	}
}

// save starts a session replacing none.
func (s *Store) save(ctx context.Context, sess *auth.Session, ttl time.Duration) error {
	_, err := s.Start(ctx, sess, ttl, "")
	return err
}
