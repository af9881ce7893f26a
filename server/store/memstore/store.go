// Package memstore keeps challenges and sessions in process memory: the
// default when a single server process runs without Redis. Everything is
// lost on restart, and several processes do not share it.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

// Store implements auth.ChallengeStore and auth.SessionStore. Expired
// entries are never returned; a janitor goroutine deletes them so memory
// does not grow without bound. Call Close to stop it.
type Store struct {
	now func() time.Time

	mu         sync.Mutex
	challenges map[string]challenge
	// maxChallenges bounds len(challenges); lastSweep rate-limits the sweeps
	// of expired ones that a full store makes before refusing.
	maxChallenges int
	lastSweep     time.Time
	sessions      map[string]session
	// byUser indexes sessions by user for ListByUser.
	byUser map[int64]map[string]struct{}
	// limits backs Allow; see limiter.go.
	limits limiters

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var (
	_ auth.ChallengeStore = (*Store)(nil)
	_ auth.SessionStore   = (*Store)(nil)
)

type challenge struct {
	value   []byte
	expires time.Time
}

type session struct {
	s       auth.Session
	expires time.Time
}

// DefaultPurgeInterval is how often the janitor runs unless WithPurgeInterval
// says otherwise. Challenges live minutes, so a minute bounds what expired
// ones can pile up to.
const DefaultPurgeInterval = time.Minute

// DefaultMaxChallenges caps the ceremonies and login links held at once
// (about 1 KB each), unless WithMaxChallenges says otherwise: far more than
// one process signs people in within a ceremony's lifetime, and a bound on
// what a flood of begins can make the process hold.
const DefaultMaxChallenges = 50_000

type config struct {
	now           func() time.Time
	purgeInterval time.Duration
	maxChallenges int
}

// Option configures New.
type Option func(*config)

// WithClock makes the store read the time from now instead of time.Now, so
// tests can expire entries without sleeping. now must be safe for concurrent
// use: the janitor calls it too.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithPurgeInterval sets how often the janitor deletes expired entries.
func WithPurgeInterval(d time.Duration) Option {
	return func(c *config) { c.purgeInterval = d }
}

// WithMaxChallenges sets how many challenges the store holds at most; Put
// beyond that fails with auth.ErrFull. Sessions are never capped here.
func WithMaxChallenges(n int) Option {
	return func(c *config) { c.maxChallenges = n }
}

// New returns an empty Store and starts its janitor.
func New(opts ...Option) *Store {
	cfg := config{now: time.Now, purgeInterval: DefaultPurgeInterval, maxChallenges: DefaultMaxChallenges}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.purgeInterval <= 0 {
		cfg.purgeInterval = DefaultPurgeInterval
	}
	if cfg.maxChallenges <= 0 {
		cfg.maxChallenges = DefaultMaxChallenges
	}
	s := &Store{
		now:           cfg.now,
		maxChallenges: cfg.maxChallenges,
		challenges:    make(map[string]challenge),
		sessions:      make(map[string]session),
		byUser:        make(map[int64]map[string]struct{}),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
	}
	go s.janitor(cfg.purgeInterval)
	return s
}

// Close stops the janitor and waits for it to finish. The store stays
// usable, but expired entries are no longer purged. Close may be called more
// than once.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Store) janitor(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.purge()
		}
	}
}

// purge deletes every expired entry.
func (s *Store) purge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.purgeChallenges(now)
	for id, e := range s.sessions {
		if !now.Before(e.expires) {
			s.removeSession(id, e.s.UserID)
		}
	}
	s.limits.purge(now)
}

// Ping always succeeds unless ctx is done: there is nothing to reach.
func (s *Store) Ping(ctx context.Context) error {
	return ctx.Err()
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memstore: ttl must be positive, got %v", ttl)
	}
	return nil
}

// Put stores a copy of value under key for ttl, replacing any earlier value.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, replacing := s.challenges[key]; !replacing && len(s.challenges) >= s.maxChallenges {
		// Expired entries may still be waiting for the janitor. Sweeping
		// costs a pass over the map, so a flood gets at most one a second.
		if now.Sub(s.lastSweep) >= time.Second {
			s.lastSweep = now
			s.purgeChallenges(now)
		}
		if len(s.challenges) >= s.maxChallenges {
			return fmt.Errorf("memstore: %d challenges held: %w", len(s.challenges), auth.ErrFull)
		}
	}
	// Never nil, so an empty value comes back non-nil, as from Redis.
	v := append([]byte{}, value...)
	s.challenges[key] = challenge{value: v, expires: now.Add(ttl)}
	return nil
}

// purgeChallenges deletes expired challenges; s.mu must be held.
func (s *Store) purgeChallenges(now time.Time) {
	for k, c := range s.challenges {
		if !now.Before(c.expires) {
			delete(s.challenges, k)
		}
	}
}

// Take returns the value under key and deletes it, both under the lock, so
// of several concurrent callers exactly one gets it.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[key]
	if !ok {
		return nil, auth.ErrNotFound
	}
	delete(s.challenges, key)
	if !s.now().Before(c.expires) {
		return nil, auth.ErrNotFound
	}
	// The entry is gone, so the stored slice can be handed out as is.
	return c.value, nil
}

// Peek returns a copy of the value under key and leaves it in place.
func (s *Store) Peek(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[key]
	if !ok || !s.now().Before(c.expires) {
		return nil, auth.ErrNotFound
	}
	// The entry stays, so the caller gets its own copy.
	return append([]byte{}, c.value...), nil
}

// Start stores a copy of sess, to expire after ttl, deletes the session
// replaces names, and counts the user's live sessions, all under the lock.
func (s *Store) Start(ctx context.Context, sess *auth.Session, ttl time.Duration, replaces string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	if sess.ID == "" {
		return 0, errors.New("memstore: start session: empty id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.sessions[replaces]; ok && replaces != sess.ID {
		s.removeSession(replaces, old.s.UserID)
	}
	if old, ok := s.sessions[sess.ID]; ok && old.s.UserID != sess.UserID {
		s.removeSession(sess.ID, old.s.UserID)
	}
	now := s.now()
	// auth.Session holds no slices or pointers, so copying the struct
	// copies it all.
	s.sessions[sess.ID] = session{s: *sess, expires: now.Add(ttl)}
	ids := s.byUser[sess.UserID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.byUser[sess.UserID] = ids
	}
	ids[sess.ID] = struct{}{}
	n := 0
	for id := range ids {
		if now.Before(s.sessions[id].expires) {
			n++
		}
	}
	return n, nil
}

// Touch replaces a live session and restarts its ttl; a session that is
// gone (deleted or expired) stays gone. The check and the write share the
// lock, so a Delete cannot slip in between.
func (s *Store) Touch(ctx context.Context, sess *auth.Session, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	old, ok := s.sessions[sess.ID]
	if !ok || !now.Before(old.expires) || old.s.UserID != sess.UserID {
		return auth.ErrNotFound
	}
	s.sessions[sess.ID] = session{s: *sess, expires: now.Add(ttl)}
	return nil
}

// Get returns a copy of a live session or auth.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*auth.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[id]
	if !ok || !s.now().Before(e.expires) {
		return nil, auth.ErrNotFound
	}
	out := e.s
	return &out, nil
}

// Delete removes a session; deleting one that does not exist is not an
// error, so logging out twice is harmless.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.sessions[id]; ok {
		s.removeSession(id, e.s.UserID)
	}
	return nil
}

// ListByUser returns copies of a user's live sessions, newest first (by
// CreatedAt).
func (s *Store) ListByUser(ctx context.Context, userID int64) ([]auth.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []auth.Session
	for id := range s.byUser[userID] {
		if e := s.sessions[id]; now.Before(e.expires) {
			out = append(out, e.s)
		}
	}
	slices.SortFunc(out, func(a, b auth.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// removeSession deletes a session and its index entry; s.mu must be held.
func (s *Store) removeSession(id string, userID int64) {
	delete(s.sessions, id)
	if ids := s.byUser[userID]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.byUser, userID)
		}
	}
}

// size reports how many entries the maps hold, expired or not, so tests can
// see what the janitor left.
func (s *Store) size() (challenges, sessions, users int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.challenges), len(s.sessions), len(s.byUser)
}
