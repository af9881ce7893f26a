package shared

import (
	"encoding/json"
	"time"
)

// User is the account as the API shows it to its owner.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	// Email is the account's address, "" when it has none (then /account
	// asks for one). EmailVerified says whether a link sent to it was used;
	// an unproven address is removed after a week.
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	DisplayName   string `json:"display_name"`
}

// How a session was authenticated, as UserResponse.Method and Session.Method
// say.
const (
	MethodPasskey = "passkey"
	MethodEmail   = "email"
)

// UserResponse answers sign-up, login, email verification and /api/me.
type UserResponse struct {
	User User `json:"user"`
	// Method says how this session was authenticated: "passkey" or "email".
	Method string `json:"method,omitempty"`
	// ConfirmOwner: this session's login link just proved the address for
	// the first time; the page asks whether the account is the person's, and
	// for a few minutes this session may delete it (APIAccountDisown).
	ConfirmOwner bool `json:"confirm_owner,omitempty"`
	// Continue, after a login link asked for during an application's
	// sign-in, is where that sign-in continues (a full page load).
	Continue string `json:"continue,omitempty"`
}

// SignupBeginRequest starts a sign-up ceremony.
type SignupBeginRequest struct {
	Username    string `json:"username"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name,omitempty"`
}

// CeremonyResponse carries a ceremony id and the WebAuthn options as
// WebAuthn Level 3 defines their JSON form: PublicKeyCredentialCreationOptionsJSON
// for registrations, PublicKeyCredentialRequestOptionsJSON for logins. They stay
// raw JSON so the wasm never links a WebAuthn library.
type CeremonyResponse struct {
	Ceremony string          `json:"ceremony"`
	Username string          `json:"username,omitempty"`
	Options  json.RawMessage `json:"options"`
}

// SignupFinishRequest completes a sign-up with the browser's
// RegistrationResponseJSON (PublicKeyCredential.toJSON()).
type SignupFinishRequest struct {
	Ceremony    string          `json:"ceremony"`
	Credential  json.RawMessage `json:"credential"`
	PasskeyName string          `json:"passkey_name,omitempty"`
}

// LoginBeginRequest starts a login; an empty UsernameOrEmail starts a
// discoverable-credential login.
type LoginBeginRequest struct {
	UsernameOrEmail string `json:"username_or_email"`
}

// LoginFinishRequest completes a login with AuthenticationResponseJSON.
type LoginFinishRequest struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
}

// RememberedResponse names the user this device remembers.
type RememberedResponse struct {
	Username string `json:"username"`
}

// EmailLoginRequest asks for a login link.
type EmailLoginRequest struct {
	UsernameOrEmail string `json:"username_or_email"`
	// Authorize is the application sign-in (QueryAuthorize) the login is
	// part of, if any: using the link then continues it.
	Authorize string `json:"authorize,omitempty"`
}

// EmailLoginResponse answers a request for a login link (202, the same
// whether or not the account exists): how long a link sent now works, so
// the page can say so (EMAIL_LINK_TTL).
type EmailLoginResponse struct {
	ExpiresInSeconds int `json:"expires_in_seconds"`
}

// EmailVerifyRequest redeems a login link's token.
type EmailVerifyRequest struct {
	Token string `json:"token"`
}

// EmailLinkResponse names the account a login link belongs to, read
// without using the link.
type EmailLinkResponse struct {
	Username string `json:"username"`
}

// AccountEmailRequest asks for an address to be given to the account; a
// link goes to it, and the address is the account's once the link is used.
type AccountEmailRequest struct {
	Email string `json:"email"`
}

// Passkey is one of the user's credentials as /account lists it.
type Passkey struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	AuthenticatorName string     `json:"authenticator_name,omitempty"`
	AuthenticatorIcon string     `json:"authenticator_icon,omitempty"`
	Synced            bool       `json:"synced"`
	BackupEligible    bool       `json:"backup_eligible"`
	Transports        []string   `json:"transports"`
	CreatedAt         time.Time  `json:"created_at"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
	// ProvisionalUntil is set while the passkey, added after an email-link
	// login, cannot yet authorise deleting passkeys or ending other sessions.
	ProvisionalUntil *time.Time `json:"provisional_until,omitempty"`
}

// PasskeysResponse lists the user's passkeys.
type PasskeysResponse struct {
	Passkeys []Passkey `json:"passkeys"`
}

// PasskeyFinishRequest adds a passkey to the logged-in account; the same
// shape as SignupFinishRequest.
type PasskeyFinishRequest struct {
	Ceremony    string          `json:"ceremony"`
	Credential  json.RawMessage `json:"credential"`
	PasskeyName string          `json:"passkey_name,omitempty"`
	// Name is the deprecated spelling of PasskeyName, still accepted for
	// one release; sending both is an error.
	Name string `json:"name,omitempty"`
}

// PasskeyResponse answers adding or renaming a passkey.
type PasskeyResponse struct {
	Passkey Passkey `json:"passkey"`
}

// PasskeyRenameRequest renames a passkey.
type PasskeyRenameRequest struct {
	Name string `json:"name"`
}

// Session is one signed-in session of the user.
type Session struct {
	ID      string `json:"id"`
	Current bool   `json:"current"`
	Method  string `json:"method"`
	// Device names the browser and platform, e.g. "Chrome on Mac".
	Device     string    `json:"device"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// SessionsResponse lists the user's sessions.
type SessionsResponse struct {
	Sessions []Session `json:"sessions"`
}

// Health answers /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}
