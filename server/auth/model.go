package auth

import (
	"time"

	"github.com/latchkey/latchkey/shared"
)

// User is an account. It never exists without at least one passkey.
type User struct {
	ID int64
	// UID is the public, opaque identifier (API, remembered-user cookie).
	UID string
	// Handle is the WebAuthn user handle: random bytes, no personal data.
	Handle   []byte
	Username string
	// Email is the address the account holds, "" when it has none (never
	// given, or released because nobody proved it in time). Lookups by
	// address find only held addresses.
	Email string
	// EmailVerifiedAt is when a login link sent to Email was first used;
	// zero while the address is unproven.
	EmailVerifiedAt time.Time
	// EmailPending is an address shown to the account but not held by it:
	// a sign-up gave an address another account holds while account
	// enumeration protection was on. It finds nobody and receives nothing.
	EmailPending string
	DisplayName  string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Passkey is a WebAuthn credential registered to a user.
type Passkey struct {
	ID int64
	// UID is the public identifier used by the passkey API.
	UID             string
	UserID          int64
	CredentialID    []byte
	PublicKey       []byte
	AAGUID          []byte
	SignCount       uint32
	Transports      []string
	BackupEligible  bool
	BackupState     bool
	AttestationType string
	Name            string
	CreatedAt       time.Time
	// LastUsedAt is zero until the passkey is first used to log in.
	LastUsedAt time.Time
	// ProvisionalUntil is set on a passkey added by a session that did not
	// begin with a trusted passkey (an email link, say): until then it logs
	// in, but a login with it does not authorise removing the account's
	// other ways in. Zero for every other passkey.
	ProvisionalUntil time.Time
}

// Provisional reports whether the passkey is still in its cooling-off
// period at now.
func (p *Passkey) Provisional(now time.Time) bool {
	return now.Before(p.ProvisionalUntil)
}

// Session is a server-side login session. The cookie carries a random token;
// ID is that token's SHA-256, so the store never holds a usable cookie value.
type Session struct {
	ID      string
	UserID  int64
	UserUID string
	// Method is how the session was authenticated: "passkey" or "email".
	Method string
	// PasskeyUID names the passkey that authenticated the session (empty for
	// an email link): deleting that passkey ends the session, and a
	// provisional one does not count as a recent passkey login.
	PasskeyUID string
	// UserVerified: the passkey login verified the person (fingerprint,
	// face, PIN), not only their presence; applications read it as
	// multi-factor (amr "mfa").
	UserVerified bool
	// AuthenticatedAt is the last time the person proved possession of a
	// passkey or an email link; recent-authentication checks read it.
	AuthenticatedAt time.Time
	CreatedAt       time.Time
	LastSeenAt      time.Time
	// ExpiresAt is the absolute end of the session, whatever its activity.
	ExpiresAt time.Time
	UserAgent string
	IP        string
}

// Authentication methods of a session; the API carries them as they are.
const (
	MethodPasskey = shared.MethodPasskey
	MethodEmail   = shared.MethodEmail
)

// Login is a finished login (or sign-up): the user, their new session and
// the token for the session cookie.
type Login struct {
	User    *User
	Session *Session
	Token   string
	// MayDisown: the login proved the account's address for the first time,
	// so for a few minutes the session may disown the account (see Disown).
	MayDisown bool
	// Continue is where an application's sign-in continues, after a login
	// link asked for during one.
	Continue string
}
