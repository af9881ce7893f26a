package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

// SessionStore runs the auth.SessionStore contract. open must return a
// fresh, empty store for each subtest; the subtests run in parallel.
//
// Times are compared with time.Equal after truncation to the millisecond:
// stores may keep no more (the Redis store keeps unix milliseconds) and may
// return another location (UTC). A zero time must stay zero.
//
// Expiry is tested with real time (a 50ms ttl, then a 150ms wait), since a
// Redis server's clock cannot be injected.
//
// Beyond the interface's own words, the contract says: deleting an unknown
// session is not an error, a non-positive ttl is refused (and Start then
// changes nothing), and ListByUser of a user without sessions returns an
// empty slice (nil is fine) and no error.
func SessionStore(t *testing.T, open func(t *testing.T) auth.SessionStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st auth.SessionStore)
	}{
		{"a saved session reads back with every field", sessRoundTrip},
		{"zero times stay zero", sessZeroTimes},
		{"getting an unknown id is ErrNotFound", sessUnknown},
		{"a deleted session is gone", sessDelete},
		{"deleting an unknown session is not an error", sessDeleteUnknown},
		{"sessions are copied in and out", sessCopies},
		{"list by user returns only live sessions of that user newest first", sessList},
		{"list by user of a user without sessions is empty", sessListEmpty},
		{"saving again updates the session and keeps one entry", sessUpdate},
		{"a session expires after its ttl", sessExpiry},
		{"saving again restarts the ttl", sessExtend},
		{"a non-positive ttl is refused", sessBadTTL},
		{"touch rewrites a live session and restarts its ttl", sessTouch},
		{"touch never brings back a deleted session", sessTouchDeleted},
		{"touch racing delete never brings the session back", sessTouchRace},
		{"start counts the user's live sessions", sessStartCounts},
		{"start ends the session it replaces", sessStartReplaces},
		{"start ends a replaced session of another user", sessStartReplacesOther},
		{"start replacing an unknown session or itself", sessStartReplacesNothing},
		{"start with a bad ttl changes nothing", sessStartBadTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

const sessTTL = time.Hour

func sessCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sessBase is a time with sub-millisecond digits in a zone other than UTC, to
// catch stores that lose more than the contract allows.
var sessBase = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+5:30", 5*3600+1800))

// sessNew returns a session with every field set; n makes it distinct and
// orders CreatedAt (a larger n is newer).
func sessNew(userID int64, n int) *auth.Session {
	at := sessBase.Add(time.Duration(n) * time.Minute)
	return &auth.Session{
		ID:              fmt.Sprintf("sha256-%d-%d", userID, n),
		UserID:          userID,
		UserUID:         fmt.Sprintf("u_%d", userID),
		Method:          auth.MethodPasskey,
		PasskeyUID:      fmt.Sprintf("pk_%d_%d", userID, n),
		UserVerified:    n%2 == 0,
		AuthenticatedAt: at.Add(-time.Second),
		CreatedAt:       at,
		LastSeenAt:      at.Add(30 * time.Second),
		ExpiresAt:       at.Add(30 * 24 * time.Hour),
		UserAgent:       "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" ünïcödé",
		IP:              "2001:db8::1",
	}
}

func sessSave(t *testing.T, st auth.SessionStore, s *auth.Session, ttl time.Duration) {
	t.Helper()
	sessStart(t, st, s, ttl, "")
}

// sessStart starts s, replacing the session replaces names, and returns
// the count.
func sessStart(t *testing.T, st auth.SessionStore, s *auth.Session, ttl time.Duration, replaces string) int {
	t.Helper()
	n, err := st.Start(sessCtx(t), s, ttl, replaces)
	if err != nil {
		t.Fatalf("Start(%s, replacing %q): %v", s.ID, replaces, err)
	}
	return n
}

func sessGet(t *testing.T, st auth.SessionStore, id string) *auth.Session {
	t.Helper()
	s, err := st.Get(sessCtx(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return s
}

func sessWantNotFound(t *testing.T, st auth.SessionStore, id string) {
	t.Helper()
	s, err := st.Get(sessCtx(t), id)
	if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Get(%s) = %+v, %v; want ErrNotFound", id, s, err)
	}
}

func sessList(t *testing.T, st auth.SessionStore) {
	mine := []*auth.Session{sessNew(1, 3), sessNew(1, 1), sessNew(1, 4), sessNew(1, 2), sessNew(1, 5)}
	for _, s := range mine {
		sessSave(t, st, s, sessTTL)
	}
	sessSave(t, st, sessNew(2, 9), sessTTL)
	deleted, expiring := mine[2], mine[3]
	if err := st.Delete(sessCtx(t), deleted.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	sessSave(t, st, expiring, 50*time.Millisecond)
	time.Sleep(150 * time.Millisecond)

	// Newest first: n = 5, 3, 1 (4 deleted, 2 expired).
	sessWantList(t, st, 1, mine[4], mine[0], mine[1])
	sessWantList(t, st, 2, sessNew(2, 9))
}

func sessWantList(t *testing.T, st auth.SessionStore, userID int64, want ...*auth.Session) {
	t.Helper()
	got, err := st.ListByUser(sessCtx(t), userID)
	if err != nil {
		t.Fatalf("ListByUser(%d): %v", userID, err)
	}
	ids := func(ss []auth.Session) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	var wantIDs []string
	for _, s := range want {
		wantIDs = append(wantIDs, s.ID)
	}
	if !slices.Equal(ids(got), wantIDs) {
		t.Fatalf("ListByUser(%d) = %v, want %v", userID, ids(got), wantIDs)
	}
	for i := range got {
		sessCompare(t, &got[i], want[i])
	}
}

// sessCompare checks every field; times only to the millisecond.
func sessCompare(t *testing.T, got, want *auth.Session) {
	t.Helper()
	sameTime := func(a, b time.Time) bool {
		return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond)) && a.IsZero() == b.IsZero()
	}
	for _, f := range []struct {
		name      string
		got, want any
		same      bool
	}{
		{"ID", got.ID, want.ID, got.ID == want.ID},
		{"UserID", got.UserID, want.UserID, got.UserID == want.UserID},
		{"UserUID", got.UserUID, want.UserUID, got.UserUID == want.UserUID},
		{"Method", got.Method, want.Method, got.Method == want.Method},
		{"PasskeyUID", got.PasskeyUID, want.PasskeyUID, got.PasskeyUID == want.PasskeyUID},
		{"UserVerified", got.UserVerified, want.UserVerified, got.UserVerified == want.UserVerified},
		{"AuthenticatedAt", got.AuthenticatedAt, want.AuthenticatedAt, sameTime(got.AuthenticatedAt, want.AuthenticatedAt)},
		{"CreatedAt", got.CreatedAt, want.CreatedAt, sameTime(got.CreatedAt, want.CreatedAt)},
		{"LastSeenAt", got.LastSeenAt, want.LastSeenAt, sameTime(got.LastSeenAt, want.LastSeenAt)},
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt, sameTime(got.ExpiresAt, want.ExpiresAt)},
		{"UserAgent", got.UserAgent, want.UserAgent, got.UserAgent == want.UserAgent},
		{"IP", got.IP, want.IP, got.IP == want.IP},
	} {
		if !f.same {
			t.Errorf("session %s: %s = %v, want %v", want.ID, f.name, f.got, f.want)
		}
	}
}

func sessRoundTrip(t *testing.T, st auth.SessionStore) {
	want := sessNew(7, 0)
	want.Method, want.PasskeyUID = auth.MethodEmail, ""
	sessSave(t, st, want, sessTTL)
	sessCompare(t, sessGet(t, st, want.ID), want)
}

func sessZeroTimes(t *testing.T, st auth.SessionStore) {
	want := sessNew(7, 0)
	want.AuthenticatedAt, want.LastSeenAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}
	want.UserAgent, want.IP = "", ""
	sessSave(t, st, want, sessTTL)
	got := sessGet(t, st, want.ID)
	sessCompare(t, got, want)
	if !got.LastSeenAt.IsZero() {
		t.Errorf("LastSeenAt = %v, want the zero time", got.LastSeenAt)
	}
}

func sessUnknown(t *testing.T, st auth.SessionStore) {
	sessWantNotFound(t, st, "no-such-session")
}

func sessDelete(t *testing.T, st auth.SessionStore) {
	gone, kept := sessNew(1, 1), sessNew(1, 2)
	sessSave(t, st, gone, sessTTL)
	sessSave(t, st, kept, sessTTL)
	if err := st.Delete(sessCtx(t), gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	sessWantNotFound(t, st, gone.ID)
	sessCompare(t, sessGet(t, st, kept.ID), kept)
	sessWantList(t, st, 1, kept)
	if err := st.Delete(sessCtx(t), gone.ID); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func sessDeleteUnknown(t *testing.T, st auth.SessionStore) {
	if err := st.Delete(sessCtx(t), "no-such-session"); err != nil {
		t.Fatalf("Delete of an unknown session: %v", err)
	}
}

func sessCopies(t *testing.T, st auth.SessionStore) {
	s := sessNew(1, 1)
	want := *s
	sessSave(t, st, s, sessTTL)
	s.IP = "mutated after save"

	got := sessGet(t, st, want.ID)
	sessCompare(t, got, &want)
	got.IP = "mutated after get"
	sessCompare(t, sessGet(t, st, want.ID), &want)

	list, err := st.ListByUser(sessCtx(t), 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListByUser = %d sessions, %v; want 1", len(list), err)
	}
	list[0].IP = "mutated after list"
	sessCompare(t, sessGet(t, st, want.ID), &want)
}

func sessListEmpty(t *testing.T, st auth.SessionStore) {
	sessSave(t, st, sessNew(1, 1), sessTTL)
	got, err := st.ListByUser(sessCtx(t), 404)
	if err != nil || len(got) != 0 {
		t.Fatalf("ListByUser(404) = %v, %v; want no sessions", got, err)
	}
}

func sessUpdate(t *testing.T, st auth.SessionStore) {
	s := sessNew(1, 1)
	sessSave(t, st, s, sessTTL)
	s.LastSeenAt = s.LastSeenAt.Add(time.Hour)
	s.AuthenticatedAt = s.AuthenticatedAt.Add(time.Hour)
	s.Method = auth.MethodEmail
	s.IP = "192.0.2.7"
	s.UserAgent = "curl/8"
	sessSave(t, st, s, sessTTL)
	sessCompare(t, sessGet(t, st, s.ID), s)
	sessWantList(t, st, 1, s)
}

func sessExpiry(t *testing.T, st auth.SessionStore) {
	short, long := sessNew(1, 1), sessNew(1, 2)
	sessSave(t, st, short, 50*time.Millisecond)
	sessSave(t, st, long, sessTTL)
	time.Sleep(150 * time.Millisecond)
	sessWantNotFound(t, st, short.ID)
	sessCompare(t, sessGet(t, st, long.ID), long)
	sessWantList(t, st, 1, long)
}

func sessExtend(t *testing.T, st auth.SessionStore) {
	s := sessNew(1, 1)
	sessSave(t, st, s, 50*time.Millisecond)
	sessSave(t, st, s, sessTTL)
	time.Sleep(150 * time.Millisecond)
	sessCompare(t, sessGet(t, st, s.ID), s)
	sessWantList(t, st, 1, s)
}

func sessBadTTL(t *testing.T, st auth.SessionStore) {
	s := sessNew(1, 1)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := st.Start(sessCtx(t), s, ttl, ""); err == nil {
			t.Errorf("Start with ttl %v succeeded; want an error", ttl)
		}
	}
	sessWantNotFound(t, st, s.ID)
}

func sessTouch(t *testing.T, st auth.SessionStore) {
	ctx := sessCtx(t)
	s := sessNew(7, 0)
	sessSave(t, st, s, 50*time.Millisecond)
	s.LastSeenAt = s.LastSeenAt.Add(time.Hour)
	if err := st.Touch(ctx, s, sessTTL); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	time.Sleep(150 * time.Millisecond) // past the first ttl, not the second
	sessCompare(t, sessGet(t, st, s.ID), s)
	sessWantList(t, st, 7, s)
}

func sessTouchDeleted(t *testing.T, st auth.SessionStore) {
	ctx := sessCtx(t)
	s := sessNew(7, 0)
	if err := st.Touch(ctx, s, sessTTL); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Touch of a session never saved: %v, want ErrNotFound", err)
	}
	sessWantNotFound(t, st, s.ID)
	sessSave(t, st, s, sessTTL)
	if err := st.Delete(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Touch(ctx, s, sessTTL); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Touch of a deleted session: %v, want ErrNotFound", err)
	}
	sessWantNotFound(t, st, s.ID)
	sessWantList(t, st, 7)
}

// sessTouchRace is logout racing a request in flight: whichever runs first,
// the session must end up deleted.
func sessTouchRace(t *testing.T, st auth.SessionStore) {
	ctx := sessCtx(t)
	for i := range 50 {
		s := sessNew(9, i)
		sessSave(t, st, s, sessTTL)
		del := func() {
			if err := st.Delete(ctx, s.ID); err != nil {
				t.Errorf("Delete: %v", err)
			}
		}
		touch := func() {
			if err := st.Touch(ctx, s, sessTTL); err != nil && !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("Touch: %v", err)
			}
		}
		// Start them in both orders: the scheduler tends to run the
		// goroutine started last first.
		first, second := del, touch
		if i%2 == 1 {
			first, second = touch, del
		}
		var wg sync.WaitGroup
		wg.Go(first)
		wg.Go(second)
		wg.Wait()
		sessWantNotFound(t, st, s.ID)
	}
	sessWantList(t, st, 9)
}

func sessStartCounts(t *testing.T, st auth.SessionStore) {
	for i := range 3 {
		if n := sessStart(t, st, sessNew(1, i), sessTTL, ""); n != i+1 {
			t.Fatalf("Start of user 1's session %d counted %d; want %d", i+1, n, i+1)
		}
	}
	if n := sessStart(t, st, sessNew(2, 0), sessTTL, ""); n != 1 {
		t.Fatalf("Start of user 2's first session counted %d; want 1", n)
	}
	// Starting a session again replaces it and counts it once.
	if n := sessStart(t, st, sessNew(1, 0), sessTTL, ""); n != 3 {
		t.Fatalf("Start of a session again counted %d; want 3", n)
	}
	// Ended sessions are not counted: deleted, or expired.
	if err := st.Delete(sessCtx(t), sessNew(1, 1).ID); err != nil {
		t.Fatal(err)
	}
	sessStart(t, st, sessNew(1, 2), 50*time.Millisecond, "")
	time.Sleep(150 * time.Millisecond)
	if n := sessStart(t, st, sessNew(1, 3), sessTTL, ""); n != 2 {
		t.Fatalf("Start after one deleted and one expired counted %d; want 2", n)
	}
	sessWantList(t, st, 1, sessNew(1, 3), sessNew(1, 0))
}

func sessStartReplaces(t *testing.T, st auth.SessionStore) {
	old, kept, next := sessNew(1, 1), sessNew(1, 2), sessNew(1, 3)
	sessSave(t, st, old, sessTTL)
	sessSave(t, st, kept, sessTTL)
	if n := sessStart(t, st, next, sessTTL, old.ID); n != 2 {
		t.Fatalf("Start replacing a session counted %d; want 2 (the new one and the one kept)", n)
	}
	sessWantNotFound(t, st, old.ID)
	sessCompare(t, sessGet(t, st, next.ID), next)
	sessWantList(t, st, 1, next, kept)
}

func sessStartReplacesOther(t *testing.T, st auth.SessionStore) {
	theirs, theirOther, mine := sessNew(2, 1), sessNew(2, 2), sessNew(1, 3)
	sessSave(t, st, theirs, sessTTL)
	sessSave(t, st, theirOther, sessTTL)
	if n := sessStart(t, st, mine, sessTTL, theirs.ID); n != 1 {
		t.Fatalf("Start replacing another user's session counted %d; want 1", n)
	}
	sessWantNotFound(t, st, theirs.ID)
	sessWantList(t, st, 2, theirOther)
	sessWantList(t, st, 1, mine)
	if n := sessStart(t, st, sessNew(2, 4), sessTTL, ""); n != 2 {
		t.Fatalf("the other user's next Start counted %d; want 2", n)
	}
}

func sessStartReplacesNothing(t *testing.T, st auth.SessionStore) {
	s := sessNew(1, 1)
	if n := sessStart(t, st, s, sessTTL, "no-such-session"); n != 1 {
		t.Fatalf("Start replacing an unknown session counted %d; want 1", n)
	}
	sessCompare(t, sessGet(t, st, s.ID), s)
	s.IP = "192.0.2.9"
	if n := sessStart(t, st, s, sessTTL, s.ID); n != 1 {
		t.Fatalf("Start replacing itself counted %d; want 1", n)
	}
	sessCompare(t, sessGet(t, st, s.ID), s)
	sessWantList(t, st, 1, s)
}

func sessStartBadTTL(t *testing.T, st auth.SessionStore) {
	old := sessNew(1, 1)
	sessSave(t, st, old, sessTTL)
	s := sessNew(1, 2)
	if _, err := st.Start(sessCtx(t), s, 0, old.ID); err == nil {
		t.Fatal("Start with a zero ttl succeeded; want an error")
	}
	sessWantNotFound(t, st, s.ID)
	sessCompare(t, sessGet(t, st, old.ID), old)
}
