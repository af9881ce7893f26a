// Package redisstore keeps challenges and sessions in Redis, so that several
// server processes share them. It works against a single node, Sentinel or
// Cluster, and needs Redis 7.0 or later (GETDEL, EXPIRE NX/GT).
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/auth"
)

// Store implements auth.ChallengeStore and auth.SessionStore.
//
// Keys:
//
//	<prefix>challenge:<key>          string, PX ttl
//	<prefix>session:<id>             JSON, PX ttl
//	<prefix>user-sessions:<userID>   sorted set of session ids, score = expiry in unix ms
//
// No command spans keys of different hash slots on Cluster (see perKey), so
// it runs there too.
type Store struct {
	c      redis.UniversalClient
	prefix string
	// perKey: the keys of one call may live on different nodes (Cluster),
	// so a script or transaction must not span them.
	perKey bool
}

var (
	_ auth.ChallengeStore = (*Store)(nil)
	_ auth.SessionStore   = (*Store)(nil)
)

// New returns a Store keeping its keys under prefix (say "latchkey:"), so
// that several applications or test runs can share one Redis. The caller
// owns c and closes it. New adds a hook to c that makes a Redis that cannot
// be reached an auth.StoreUnavailable error (see unavailableHook).
func New(c redis.UniversalClient, prefix string) *Store {
	c.AddHook(unavailableHook{})
	_, cluster := c.(*redis.ClusterClient)
	return &Store{c: c, prefix: prefix, perKey: cluster}
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

func (s *Store) challengeKey(key string) string { return s.prefix + "challenge:" + key }
func (s *Store) sessionKey(id string) string    { return s.prefix + "session:" + id }
func (s *Store) userKey(userID int64) string {
	return s.prefix + "user-sessions:" + strconv.FormatInt(userID, 10)
}

// checkTTL refuses a ttl that would make Redis store the value forever (0)
// or reject the command; PX counts whole milliseconds, so a positive ttl
// below one is rounded up rather than lost.
func checkTTL(ttl time.Duration) (time.Duration, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("redisstore: ttl must be positive, got %v", ttl)
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond), nil
}

// Put stores value under key for ttl, replacing any earlier value.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ttl, err := checkTTL(ttl)
	if err != nil {
		return err
	}
	if err := s.c.Set(ctx, s.challengeKey(key), value, ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: put challenge: %w", err)
	}
	return nil
}

// Take returns the value under key and deletes it. GETDEL does both in one
// command, so of several concurrent callers exactly one gets the value.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := s.c.GetDel(ctx, s.challengeKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: take challenge: %w", err)
	}
	return v, nil
}

// Peek returns the value under key and leaves it in place.
func (s *Store) Peek(ctx context.Context, key string) ([]byte, error) {
	v, err := s.c.Get(ctx, s.challengeKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: peek challenge: %w", err)
	}
	return v, nil
}

// storedSession is the JSON form of auth.Session. It is mapped field by
// field so that renaming a field of auth.Session cannot silently change what
// is already stored. Times are unix milliseconds (0 for the zero time): they
// come back in UTC, truncated to the millisecond. The id is the key, so it is
// not repeated here.
type storedSession struct {
	UserID          int64  `json:"user_id"`
	UserUID         string `json:"user_uid"`
	Method          string `json:"method"`
	PasskeyUID      string `json:"passkey_uid,omitempty"`
	UserVerified    bool   `json:"uv,omitempty"`
	AuthenticatedAt int64  `json:"authenticated_at"`
	CreatedAt       int64  `json:"created_at"`
	LastSeenAt      int64  `json:"last_seen_at"`
	ExpiresAt       int64  `json:"expires_at"`
	UserAgent       string `json:"user_agent,omitempty"`
	IP              string `json:"ip,omitempty"`
}

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func encodeSession(s *auth.Session) ([]byte, error) {
	return json.Marshal(storedSession{
		UserID:          s.UserID,
		UserUID:         s.UserUID,
		Method:          s.Method,
		PasskeyUID:      s.PasskeyUID,
		UserVerified:    s.UserVerified,
		AuthenticatedAt: toMillis(s.AuthenticatedAt),
		CreatedAt:       toMillis(s.CreatedAt),
		LastSeenAt:      toMillis(s.LastSeenAt),
		ExpiresAt:       toMillis(s.ExpiresAt),
		UserAgent:       s.UserAgent,
		IP:              s.IP,
	})
}

func decodeSession(id string, b []byte) (*auth.Session, error) {
	var st storedSession
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("redisstore: decode session: %w", err)
	}
	return &auth.Session{
		ID:              id,
		UserID:          st.UserID,
		UserUID:         st.UserUID,
		Method:          st.Method,
		PasskeyUID:      st.PasskeyUID,
		UserVerified:    st.UserVerified,
		AuthenticatedAt: fromMillis(st.AuthenticatedAt),
		CreatedAt:       fromMillis(st.CreatedAt),
		LastSeenAt:      fromMillis(st.LastSeenAt),
		ExpiresAt:       fromMillis(st.ExpiresAt),
		UserAgent:       st.UserAgent,
		IP:              st.IP,
	}, nil
}

// Start creates or replaces a session, to expire after ttl, records it in
// its user's index, deletes the session replaces names and counts the
// user's index, in one pipeline: one round trip.
//
// The session key and the index key may live on different Cluster nodes, so
// the commands go in a plain pipeline, not a transaction. That is safe
// because the session key is the truth: ListByUser skips index entries whose
// session is gone, and Get never reads the index.
//
// The replaced session is taken out of this user's index in the same
// pipeline, which is right whenever the browser's previous session was the
// same person's; when it was someone else's, a second round trip takes it
// out of theirs.
func (s *Store) Start(ctx context.Context, sess *auth.Session, ttl time.Duration, replaces string) (int, error) {
	ttl, err := checkTTL(ttl)
	if err != nil {
		return 0, err
	}
	if sess.ID == "" {
		return 0, errors.New("redisstore: start session: empty id")
	}
	b, err := encodeSession(sess)
	if err != nil {
		return 0, fmt.Errorf("redisstore: encode session: %w", err)
	}
	userKey := s.userKey(sess.UserID)
	var (
		ended *redis.StringCmd
		count *redis.IntCmd
	)
	cmds, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		// Before the SET, so that replacing a session by itself keeps it.
		if replaces != "" {
			ended = p.GetDel(ctx, s.sessionKey(replaces))
			p.ZRem(ctx, userKey, replaces)
		}
		p.Set(ctx, s.sessionKey(sess.ID), b, ttl)
		s.index(ctx, p, sess.UserID, sess.ID, ttl)
		p.ZRemRangeByScore(ctx, userKey, "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10))
		count = p.ZCard(ctx, userKey)
		return nil
	})
	// GETDEL of a session that is gone answers redis.Nil, which is no error
	// here; any other command's failure is.
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("redisstore: start session: %w", err)
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("redisstore: start session: %w", err)
	}
	if ended != nil && ended.Err() == nil && replaces != sess.ID {
		// The replaced session is gone either way. Should this fail, or
		// the session not decode, its entry is only a stale one, which
		// ListByUser skips and its score removes.
		if old, err := decodeSession(replaces, []byte(ended.Val())); err == nil && old.UserID != sess.UserID {
			_ = s.c.ZRem(ctx, s.userKey(old.UserID), replaces).Err()
		}
	}
	return int(count.Val()), nil
}

// Touch rewrites a session only if its key still exists (SET … XX), so a
// refresh racing with Delete can never bring a deleted session back. The
// index's score then follows; should Delete run in between, the index keeps
// a stale entry that ListByUser skips and its score removes.
func (s *Store) Touch(ctx context.Context, sess *auth.Session, ttl time.Duration) error {
	ttl, err := checkTTL(ttl)
	if err != nil {
		return err
	}
	b, err := encodeSession(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	err = s.c.SetArgs(ctx, s.sessionKey(sess.ID), b, redis.SetArgs{Mode: "XX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return auth.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redisstore: touch session: %w", err)
	}
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.index(ctx, p, sess.UserID, sess.ID, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: touch session: %w", err)
	}
	return nil
}

// index queues the commands that record (or refresh) a session in its
// user's index.
func (s *Store) index(ctx context.Context, p redis.Pipeliner, userID int64, id string, ttl time.Duration) {
	expiry := time.Now().Add(ttl).UnixMilli()
	// EXPIRE counts whole seconds: round up so the index outlives the session.
	indexTTL := (ttl + time.Second - 1).Truncate(time.Second)
	userKey := s.userKey(userID)
	p.ZAdd(ctx, userKey, redis.Z{Score: float64(expiry), Member: id})
	// NX gives the just-created index its first TTL (GT alone never applies
	// to a key without one); GT then only ever lengthens it, so the index
	// lives as long as its longest session.
	p.ExpireNX(ctx, userKey, indexTTL)
	p.ExpireGT(ctx, userKey, indexTTL)
}

// Get returns a live session or auth.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*auth.Session, error) {
	b, err := s.c.Get(ctx, s.sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get session: %w", err)
	}
	return decodeSession(id, b)
}

// Delete removes a session; deleting one that does not exist is not an
// error, so logging out twice is harmless. GETDEL tells which user's index
// holds the id, since only the session knows its user.
func (s *Store) Delete(ctx context.Context, id string) error {
	b, err := s.c.GetDel(ctx, s.sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	sess, err := decodeSession(id, b)
	if err != nil {
		// The session is gone; its index entry expires with its score.
		return nil
	}
	if err := s.c.ZRem(ctx, s.userKey(sess.UserID), id).Err(); err != nil {
		return fmt.Errorf("redisstore: delete session from index: %w", err)
	}
	return nil
}

// ListByUser returns a user's live sessions, newest first (by CreatedAt).
//
// Index entries past their expiry are removed on the way. Entries whose
// session has vanished early are skipped but left alone: on Cluster, Save's
// SET and ZADD are not ordered across nodes, so a missing session may be one
// being saved right now, and dropping its entry would hide it from "log out
// everywhere". Such entries go once their score passes.
func (s *Store) ListByUser(ctx context.Context, userID int64) ([]auth.Session, error) {
	userKey := s.userKey(userID)
	var ids *redis.StringSliceCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, userKey, "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10))
		ids = p.ZRange(ctx, userKey, 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	if len(ids.Val()) == 0 {
		return nil, nil
	}

	// One GET per session rather than MGET: the keys span hash slots, and a
	// Cluster client splits a pipeline by node but cannot split an MGET.
	gets := make([]*redis.StringCmd, len(ids.Val()))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids.Val() {
			gets[i] = p.Get(ctx, s.sessionKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	out := make([]auth.Session, 0, len(gets))
	for i, g := range gets {
		b, err := g.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redisstore: list sessions: %w", err)
		}
		sess, err := decodeSession(ids.Val()[i], b)
		if err != nil {
			return nil, err
		}
		// An index can only point at another user's session if a session
		// was re-saved under a different user; never show it here.
		if sess.UserID != userID {
			continue
		}
		out = append(out, *sess)
	}
	sortNewestFirst(out)
	return out, nil
}

func sortNewestFirst(ss []auth.Session) {
	slices.SortFunc(ss, func(a, b auth.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
