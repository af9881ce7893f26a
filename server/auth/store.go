package auth

import (
	"context"
	"time"
)

// UserStore persists users and passkeys. Lookups return ErrNotFound when
// nothing matches; usernames match without regard to case, and email
// addresses by EmailKey (an empty address is no address: it matches
// nothing and is never taken).
type UserStore interface {
	// CreateUser stores a user together with its first passkey in one
	// transaction: both or neither. A taken username (in any case) or email
	// (by EmailKey) fails with an *Error coded username_taken or
	// email_taken, and a known credential id with credential_rejected.
	CreateUser(ctx context.Context, u *User, first *Passkey) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByUID(ctx context.Context, uid string) (*User, error)
	UserByHandle(ctx context.Context, handle []byte) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)

	// UserWithPasskeys returns the user ref names together with their
	// passkeys, oldest first, read at once (one query on a SQL store), for
	// a login, which needs both. No such user: ErrNotFound; a ref that sets
	// no field or several is an error.
	UserWithPasskeys(ctx context.Context, ref UserRef) (*User, []Passkey, error)

	// Passkeys lists a user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID int64) ([]Passkey, error)
	// AddPasskey stores another passkey of an existing user; a known
	// credential id fails with credential_rejected.
	AddPasskey(ctx context.Context, p *Passkey) error
	// RecordPasskeyUse stores the outcome of a login with the passkey. It
	// refuses (credential_rejected) unless signCount is above the stored
	// count, or both are zero (an authenticator without a counter), checked
	// in the same write so two racing logins cannot both pass the clone check.
	RecordPasskeyUse(ctx context.Context, passkeyID int64, signCount uint32, backupState bool, at time.Time) error
	// RenamePasskey and DeletePasskey act only on a passkey of userID
	// (ErrNotFound otherwise). DeletePasskey refuses the user's last passkey
	// with last_passkey.
	RenamePasskey(ctx context.Context, userID int64, passkeyUID, name string) (*Passkey, error)
	DeletePasskey(ctx context.Context, userID int64, passkeyUID string) error

	// MarkEmailProven records that mail sent to email reached the user:
	// when the account holds that address unproven, it becomes proven as of
	// at and the answer is true. Anything else changes nothing (false): the
	// address was proven already, or the account no longer holds it.
	MarkEmailProven(ctx context.Context, userID int64, email string, at time.Time) (bool, error)
	// SetEmail gives the user email as a proven address (as of provenAt),
	// replacing any address or pending address it had. Another account
	// holding the address fails with email_taken; no such user, ErrNotFound.
	SetEmail(ctx context.Context, userID int64, email string, provenAt time.Time) error
	// ReleaseUnprovenEmails takes the unproven address (held or pending) off
	// every account created before createdBefore, or, with a non-empty
	// email, off the account holding that address if it qualifies. The
	// accounts keep everything else. It returns how many were released.
	ReleaseUnprovenEmails(ctx context.Context, createdBefore time.Time, email string) (int, error)
	// DeleteUser deletes a user and, with it, their passkeys.
	// No such user: ErrNotFound.
	DeleteUser(ctx context.Context, userID int64) error

	Ping(ctx context.Context) error
}

// UserRef names a user by exactly one of these, matched as the UserBy…
// lookups of a UserStore match them. A Handle is set when it is not empty.
type UserRef struct {
	ID       int64
	Handle   []byte
	Username string
	Email    string
}

// ChallengeStore keeps short-lived, single-use values: WebAuthn ceremony
// state and login-link tokens.
type ChallengeStore interface {
	// Put stores value under key for ttl, replacing any earlier value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Take returns the value and deletes it in one atomic step, so two
	// callers can never both take it. Missing or expired: ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Peek returns the value without consuming it (a login link's page
	// names the account before the person chooses to use the link).
	// Missing or expired: ErrNotFound.
	Peek(ctx context.Context, key string) ([]byte, error)
	Ping(ctx context.Context) error
}

// SessionStore keeps server-side sessions; each expires on its own.
type SessionStore interface {
	// Start creates (or replaces) a session, to expire after ttl, and, in
	// the same trip to the store, deletes the session replaces names (the
	// one the browser had, whoever's it was; none when empty, and an
	// unknown one is no error) and counts the user's sessions. The count
	// includes every live session of the user and may include some that
	// ended moments ago, so a count within a cap shows the cap holds
	// without listing the sessions.
	Start(ctx context.Context, s *Session, ttl time.Duration, replaces string) (sessions int, err error)
	// Touch rewrites a session that still exists (its LastSeenAt, say) and
	// restarts its ttl, atomically with respect to Delete: a session deleted
	// before or while it runs stays deleted, and the answer is ErrNotFound.
	// Start must never be used to refresh, since a request in flight while
	// the session ends would bring it back.
	Touch(ctx context.Context, s *Session, ttl time.Duration) error
	// Get returns a live session or ErrNotFound.
	Get(ctx context.Context, id string) (*Session, error)
	Delete(ctx context.Context, id string) error
	// ListByUser returns a user's live sessions, newest first.
	ListByUser(ctx context.Context, userID int64) ([]Session, error)
	Ping(ctx context.Context) error
}

// Limit is a rate: Events per Per on average, with bursts of up to Burst.
type Limit struct {
	Events int
	Per    time.Duration
	Burst  int
}

// LimitCheck is one limit charged under one key.
type LimitCheck struct {
	Key   string
	Limit Limit
}

// Limiter counts attempts per key (a client address, a name, a user) so that
// a Throttle can limit sign-up, login, login-link and add-passkey requests
// across all instances that share the store.
type Limiter interface {
	// Allow records one attempt under each check's key, in order, and stops
	// at the first whose limit is exhausted: that key and the ones after it
	// are not charged. It answers how many were charged, so the attempt is
	// allowed when that is len(checks); otherwise retryAfter is how long
	// until the refusing key would allow the next attempt. An invalid limit
	// anywhere is an error, and nothing is charged. The checks are one call
	// so that a store across the network answers them in one round trip.
	Allow(ctx context.Context, checks ...LimitCheck) (charged int, retryAfter time.Duration, err error)
}

// Message is an email: a plain-text and an HTML body of the same content.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email. Without SMTP settings the server uses one that writes
// messages to the log, for development.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// GrantStore persists what applications signing people in with Latchkey
// (OpenID Connect) hold: the person's consents, the grants behind refresh
// and access tokens, and the provider's signing keys. Lookups return
// ErrNotFound when nothing matches.
type GrantStore interface {
	// SaveConsent records (or replaces) a user's consent to an app.
	SaveConsent(ctx context.Context, c *Consent) error
	// Consent returns the user's consent to the app.
	Consent(ctx context.Context, userID int64, appID string) (*Consent, error)
	// Consents lists the user's consents, oldest first.
	Consents(ctx context.Context, userID int64) ([]Consent, error)
	// DeleteConsent forgets a consent; none is no error.
	DeleteConsent(ctx context.Context, userID int64, appID string) error

	// CreateGrant stores a new grant.
	CreateGrant(ctx context.Context, g *Grant) error
	// Grant returns a grant, revoked or not.
	Grant(ctx context.Context, id string) (*Grant, error)
	// RotateRefresh moves a live grant's refresh token from generation
	// from to from+1 and its refresh expiry to expires, in one conditional
	// write: when the grant is revoked or no longer at generation from (a
	// racing rotation won), nothing changes and the answer is ErrNotFound.
	RotateRefresh(ctx context.Context, id string, from int, expires time.Time) error
	// RevokeGrant revokes one grant as of at; an unknown or already revoked
	// grant is no error.
	RevokeGrant(ctx context.Context, id string, at time.Time) error
	// RevokeGrants revokes every live grant of the user as of at, or, with
	// a non-empty appID, those of that app only. It returns how many.
	RevokeGrants(ctx context.Context, userID int64, appID string, at time.Time) (int, error)
	// RevokePasskeyGrants revokes the user's live grants that came from a
	// login with that passkey, as of at, and returns how many.
	RevokePasskeyGrants(ctx context.Context, userID int64, passkeyUID string, at time.Time) (int, error)
	// DeleteGrantsBefore deletes grants that ended before t, and returns
	// how many. A grant ends when it is revoked or at its RefreshExpiresAt,
	// which for a grant without a refresh token (RefreshGen 0) must be its
	// access tokens' expiry, so that it outlives them.
	DeleteGrantsBefore(ctx context.Context, t time.Time) (int, error)

	// SigningKeys lists the stored signing keys, newest epoch first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores k unless a key of the same Alg and Epoch exists
	// (another instance made it first); either way it answers the stored
	// key of that Alg and Epoch, so every instance signs with the same one.
	AddSigningKey(ctx context.Context, k *SigningKey) (*SigningKey, error)
	// DeleteSigningKeys deletes the keys of epochs before epoch.
	DeleteSigningKeys(ctx context.Context, beforeEpoch int64) error

	Ping(ctx context.Context) error
}
