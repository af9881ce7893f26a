package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchkey/latchkey/shared"
)

// Kinds of ceremony. A ceremony begun as one kind can only be finished as
// that kind (security rule 1 in docs/PRODUCT.md).
const (
	kindSignup     = "signup"
	kindLogin      = "login"
	kindAddPasskey = "add-passkey"
)

// ceremony is the server-side state between a ceremony's begin and finish.
// It lives in the challenge store under its own random id, never in the
// user's row, so one person can run several ceremonies at once.
type ceremony struct {
	Kind     string               `json:"kind"`
	WebAuthn webauthn.SessionData `json:"webauthn"`
	Expires  time.Time            `json:"expires"`

	// Sign-up: the account to create at finish. The user handle is chosen
	// at begin, because the authenticator stores it inside the passkey.
	Username    string `json:"username,omitempty"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Handle      []byte `json:"handle,omitempty"`

	// Login and add-passkey: whose ceremony it is (0 for a discoverable
	// login), and for add-passkey the session that began it.
	UserID    int64  `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	// Decoy: a login for a name without an account, answered like any
	// other under enumeration protection; it can never finish.
	Decoy bool `json:"decoy,omitempty"`
}

const ceremonyPrefix = "ceremony:"

// putCeremony stores c under a new random id and returns the id.
func (s *Service) putCeremony(ctx context.Context, c *ceremony) (string, error) {
	id := randomID(32)
	c.Expires = s.opts.Now().Add(s.opts.CeremonyTTL)
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode ceremony: %w", err)
	}
	if err := s.putChallenge(ctx, ceremonyPrefix+id, b, s.opts.CeremonyTTL); err != nil {
		return "", err
	}
	return id, nil
}

// putChallenge stores a short-lived value. A store that is full (the
// in-process one has a hard cap) is a passing condition to retry, not a
// failure of ours.
func (s *Service) putChallenge(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := s.challenges.Put(ctx, key, value, ttl)
	if errors.Is(err, ErrFull) {
		return errBusy(err)
	}
	if err != nil {
		return fmt.Errorf("store challenge: %w", err)
	}
	return nil
}

// takeCeremony consumes the ceremony: whatever happens next, the id and its
// challenge cannot be used again.
func (s *Service) takeCeremony(ctx context.Context, id, kind string) (*ceremony, error) {
	invalid := errCeremonyInvalid(nil)
	if id == "" || len(id) > 128 {
		return nil, invalid
	}
	b, err := s.challenges.Take(ctx, ceremonyPrefix+id)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("take ceremony: %w", err)
	}
	var c ceremony
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode ceremony: %w", err)
	}
	if c.Kind != kind {
		invalid.Err = fmt.Errorf("ceremony of kind %q finished as %q", c.Kind, kind)
		return nil, invalid
	}
	if !s.opts.Now().Before(c.Expires) {
		invalid.Err = errors.New("ceremony expired")
		return nil, invalid
	}
	return &c, nil
}

// waUser presents a user (or a user-to-be) to go-webauthn.
type waUser struct {
	handle      []byte
	name        string
	displayName string
	creds       []webauthn.Credential
	// keys are the stored passkeys behind creds.
	keys []Passkey
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.displayName }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// ceremonyResponse answers a begin: the stored ceremony's id, the name the
// page greets, and the options (creation or request) for the browser.
func ceremonyResponse(id, username string, options any) (*shared.CeremonyResponse, error) {
	b, err := json.Marshal(options)
	if err != nil {
		return nil, fmt.Errorf("encode ceremony options: %w", err)
	}
	return &shared.CeremonyResponse{Ceremony: id, Username: username, Options: b}, nil
}
