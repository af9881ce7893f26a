package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// touchEvery limits how often a session's last-seen time is written: once a
// minute is enough for idle expiry and the session list, and keeps reads
// cheap.
const touchEvery = time.Minute

// sessionID is the store key of a session token: its SHA-256, so the store
// never holds a value that works as a cookie.
func sessionID(token string) string { return hashString(token) }

// proof is how a login was proven: with a passkey (and whether the
// authenticator verified the person), or, when nil, with an email link.
type proof struct {
	passkey      *Passkey
	userVerified bool
}

// startSession opens a new session for u and returns it with the token for
// the cookie. Every login gets a new token; an old one is never reused, and
// the session of the browser's old token ends with it (no session id
// survives a login: fixation). by is the passkey that authenticated it, nil
// for an email link.
func (s *Service) startSession(ctx context.Context, u *User, by *proof, client Client) (*Session, string, error) {
	method, passkeyUID, uv := MethodEmail, "", false
	if by != nil {
		method, passkeyUID, uv = MethodPasskey, by.passkey.UID, by.userVerified
	}
	token := randomID(32)
	now := s.opts.Now().UTC()
	sess := &Session{
		ID:              sessionID(token),
		UserID:          u.ID,
		UserUID:         u.UID,
		Method:          method,
		PasskeyUID:      passkeyUID,
		UserVerified:    uv,
		AuthenticatedAt: now,
		CreatedAt:       now,
		LastSeenAt:      now,
		ExpiresAt:       now.Add(s.opts.SessionLifetime),
		UserAgent:       truncate(client.UserAgent, 256),
		IP:              client.IP,
	}
	var replaces string
	if old := client.SessionToken; old != "" && len(old) <= 128 {
		replaces = sessionID(old)
	}
	// One trip to the store: the new session, the old one's end and the
	// count that tells whether the cap needs the list.
	n, err := s.sessions.Start(ctx, sess, s.sessionTTL(sess, now), replaces)
	if err != nil {
		return nil, "", fmt.Errorf("start session: %w", err)
	}
	if n > MaxSessions {
		if err := s.capSessions(ctx, u.ID, sess.ID); err != nil {
			// The login stands; the cap is caught up with on the next one.
			s.log.WarnContext(ctx, "could not cap the user's sessions", "user", u.UID, "err", err)
		}
	}
	return sess, token, nil
}

// capSessions ends the sessions unused the longest while the user has more
// than MaxSessions, never the one just started. The count from Start may
// include sessions that just ended, so the list has the last word.
func (s *Service) capSessions(ctx context.Context, userID int64, keep string) error {
	all, err := s.sessions.ListByUser(ctx, userID)
	if err != nil || len(all) <= MaxSessions {
		return err
	}
	slices.SortFunc(all, func(a, b Session) int { return a.LastSeenAt.Compare(b.LastSeenAt) })
	var errs []error
	for _, old := range all[:len(all)-MaxSessions] {
		if old.ID != keep {
			errs = append(errs, s.sessions.Delete(ctx, old.ID))
		}
	}
	return errors.Join(errs...)
}

// sessionTTL is how long the store keeps a session after activity at now:
// the idle timeout, cut short by the absolute lifetime.
func (s *Service) sessionTTL(sess *Session, now time.Time) time.Duration {
	ttl := s.opts.SessionIdle
	if rest := sess.ExpiresAt.Sub(now); rest < ttl {
		ttl = rest
	}
	return ttl
}

// Authenticate returns the live session a cookie token names, with its
// user.
//
// Errors: unauthenticated (anything but a live session).
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *User, error) {
	unauth := errUnauthenticated()
	if token == "" || len(token) > 128 {
		return nil, nil, unauth
	}
	sess, err := s.sessions.Get(ctx, sessionID(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, unauth
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get session: %w", err)
	}
	now := s.opts.Now().UTC()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.opts.SessionIdle)) {
		_ = s.sessions.Delete(ctx, sess.ID)
		return nil, nil, unauth
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		_ = s.sessions.Delete(ctx, sess.ID)
		return nil, nil, unauth
	}
	if err != nil {
		return nil, nil, fmt.Errorf("session user: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		sess.LastSeenAt = now
		err := s.sessions.Touch(ctx, sess, s.sessionTTL(sess, now))
		switch {
		case errors.Is(err, ErrNotFound):
			// Ended while this request was on its way: it is over.
			return nil, nil, unauth
		case err != nil:
			// The request can go on; the session just looks older than it is.
			s.log.WarnContext(ctx, "could not refresh session", "err", err)
		}
	}
	return sess, u, nil
}

// EndSessionByToken destroys the session a cookie token names, if any.
// The token's hash is the session's id, so nothing needs to be read first.
//
// Errors: none of its own (a store failure only).
func (s *Service) EndSessionByToken(ctx context.Context, token string) error {
	if token == "" || len(token) > 128 {
		return nil
	}
	return s.endSession(ctx, sessionID(token))
}

// endSession destroys a session on the server; its cookie stops working
// even if someone kept a copy.
func (s *Service) endSession(ctx context.Context, id string) error {
	if err := s.sessions.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// EndAllSessions is the one way to cut every tie between a user and the
// browsers and applications they are signed in to: logout
// everywhere, account deletion and "this wasn't me" all end here, so a new
// kind of grant needs adding in this one place.
//
// Errors: none of its own (a store failure only).
func (s *Service) EndAllSessions(ctx context.Context, userID int64) error {
	err := s.endSessionsWhere(ctx, userID, func(Session) bool { return true })
	if s.grants != nil {
		// Apps' refresh and access tokens end too: every grant is revoked.
		if _, gerr := s.grants.RevokeGrants(ctx, userID, "", s.opts.Now().UTC()); gerr != nil {
			err = errors.Join(err, fmt.Errorf("revoke app grants: %w", gerr))
		}
	}
	return err
}

// endSessionsWhere ends the user's sessions that match. It goes on past a
// failure so that one unreachable record does not leave the others alive.
func (s *Service) endSessionsWhere(ctx context.Context, userID int64, match func(Session) bool) error {
	all, err := s.sessions.ListByUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("list sessions to end: %w", err)
	}
	var errs []error
	for _, sess := range all {
		if match(sess) {
			if err := s.sessions.Delete(ctx, sess.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
