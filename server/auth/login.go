package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/latchkey/latchkey/shared"
)

// findUser matches a username or an email address without regard to case,
// and reads the user's passkeys with it: a login needs both, and one query
// is one round trip.
func (s *Service) findUser(ctx context.Context, usernameOrEmail string) (*User, []Passkey, error) {
	name := strings.TrimSpace(usernameOrEmail)
	if name == "" || len(name) > emailMax {
		return nil, nil, errUserNotFound()
	}
	// Usernames cannot hold '@', so the two never collide.
	var (
		u    *User
		keys []Passkey
		err  error
	)
	if strings.Contains(name, "@") {
		u, keys, err = s.users.UserWithPasskeys(ctx, UserRef{Email: name})
		if err == nil {
			err = s.releaseOverdue(ctx, u, name)
		}
	} else {
		u, keys, err = s.users.UserWithPasskeys(ctx, UserRef{Username: name})
	}
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errUserNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find user: %w", err)
	}
	return u, keys, nil
}

// LoginBegin starts a login. With a name, the request options list exactly
// that user's passkeys; without one, it is a discoverable login and the
// authenticator says whose passkey it used.
//
// Errors: user_not_found (username_or_email; never with enumeration
// protection, which answers a decoy ceremony instead), busy.
func (s *Service) LoginBegin(ctx context.Context, req shared.LoginBeginRequest) (*shared.CeremonyResponse, error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
		c         = &ceremony{Kind: kindLogin}
		username  string
		err       error
	)
	if strings.TrimSpace(req.UsernameOrEmail) == "" {
		assertion, session, err = s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(s.userVerification()))
	} else {
		u, keys, ferr := s.findUser(ctx, req.UsernameOrEmail)
		if ferr != nil {
			if s.opts.EnumerationProtection && ErrorCode(ferr) == shared.CodeUserNotFound {
				return s.decoyLogin(ctx, req.UsernameOrEmail)
			}
			return nil, ferr
		}
		assertion, session, err = s.wa.BeginLogin(newWAUser(u, keys), webauthn.WithUserVerification(s.userVerification()))
		c.UserID, username = u.ID, u.Username
	}
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	c.WebAuthn = *session
	id, err := s.putCeremony(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.opts.EnumerationProtection && username != "" {
		// The greeting is what was typed, as for a name without an
		// account: an address must not reveal the username behind it.
		username = strings.TrimSpace(req.UsernameOrEmail)
	}
	return ceremonyResponse(id, username, assertion.Response)
}

// LoginFinish verifies an assertion and opens a session. The ceremony is
// consumed first, so neither it nor the assertion can be replayed.
//
// Errors: ceremony_invalid, invalid_input (credential), credential_rejected
// (401: a failed login), busy.
func (s *Service) LoginFinish(ctx context.Context, req shared.LoginFinishRequest, client Client) (*Login, error) {
	c, err := s.takeCeremony(ctx, req.Ceremony, kindLogin)
	if err != nil {
		return nil, err
	}
	if c.Decoy {
		return nil, failedLogin(rejected(errors.New("login for a name without an account")))
	}
	u, p, uv, err := s.verifyAssertion(ctx, c, req.Credential)
	if err != nil {
		return nil, failedLogin(err)
	}
	sess, token, err := s.startSession(ctx, u, &proof{passkey: p, userVerified: uv}, client)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "logged in", "user", u.UID, "passkey", p.UID, "discoverable", c.UserID == 0)
	return &Login{User: u, Session: sess, Token: token}, nil
}

// verifyAssertion checks an AuthenticationResponseJSON against a login
// ceremony and records the passkey's use. userVerified is the
// authenticator's UV flag (a fingerprint, face or PIN, not just presence).
func (s *Service) verifyAssertion(ctx context.Context, c *ceremony, raw json.RawMessage) (_ *User, _ *Passkey, userVerified bool, _ error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, false, errCredentialMissing()
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(raw)
	if err != nil {
		return nil, nil, false, rejected(err)
	}
	var (
		u  *User
		wu *waUser
	)
	if c.UserID != 0 {
		// The passkey must be one of this user's: the library checks the
		// credential id against the user's list and the user handle, if
		// the authenticator sent one, against the user.
		found, keys, err := s.users.UserWithPasskeys(ctx, UserRef{ID: c.UserID})
		if err != nil {
			return nil, nil, false, s.lookupFailed(err)
		}
		u, wu = found, newWAUser(found, keys)
		if _, err := s.wa.ValidateLogin(wu, c.WebAuthn, parsed); err != nil {
			return nil, nil, false, rejected(err)
		}
	} else {
		// Discoverable: the user handle in the assertion names the user,
		// and the credential must be one of that user's passkeys.
		var lookupErr error
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			if len(userHandle) == 0 {
				return nil, fmt.Errorf("no user handle: %w", ErrNotFound)
			}
			found, keys, err := s.users.UserWithPasskeys(ctx, UserRef{Handle: userHandle})
			if err != nil {
				lookupErr = err
				return nil, err
			}
			u, wu = found, newWAUser(found, keys)
			return wu, nil
		}
		if _, _, err := s.wa.ValidatePasskeyLogin(handler, c.WebAuthn, parsed); err != nil {
			// The library files every lookup failure as a bad request; a
			// store that failed (unreachable, say) keeps its own meaning.
			if lookupErr != nil && !errors.Is(lookupErr, ErrNotFound) {
				return nil, nil, false, fmt.Errorf("discoverable login lookup: %w", lookupErr)
			}
			return nil, nil, false, rejected(err)
		}
	}

	// The library matched the credential against this user's passkeys;
	// the stored record comes from the same list, so no second query and
	// no way to pick another user's passkey.
	p := wu.passkey(parsed.RawID)
	if p == nil {
		return nil, nil, false, rejected(errors.New("the credential is not one of the user's passkeys"))
	}
	count := parsed.Response.AuthenticatorData.Counter
	// Zero means the authenticator keeps no counter (synced passkeys,
	// Safari), which is fine for as long as it has never counted. Once it
	// has, a counter that does not move forward (zero included) means two
	// devices may hold the same key: refuse, and say so in the log, as
	// WebAuthn Level 3 §7.2 step 21 describes.
	if !signCountAdvances(p.SignCount, count) {
		s.log.WarnContext(ctx, "sign count did not increase: possible cloned authenticator",
			"user", u.UID, "passkey", p.UID, "stored", p.SignCount, "presented", count)
		return nil, nil, false, rejected(fmt.Errorf("sign count %d does not exceed stored %d", count, p.SignCount))
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if err := s.users.RecordPasskeyUse(ctx, p.ID, count, flags.HasBackupState(), s.opts.Now().UTC()); err != nil {
		if ErrorCode(err) == shared.CodeCredentialRejected {
			s.log.WarnContext(ctx, "sign count raced or went backwards: possible cloned authenticator", "user", u.UID, "passkey", p.UID)
		}
		return nil, nil, false, err
	}
	return u, p, flags.UserVerified(), nil
}

// signCountAdvances reports whether an assertion's counter is acceptable
// after the stored one: both zero (a passkey that keeps no counter), or
// strictly greater.
func signCountAdvances(stored, presented uint32) bool {
	return presented > stored || (presented == 0 && stored == 0)
}

// lookupFailed turns a store miss during verification into a rejection: a
// deleted user or passkey simply cannot log in.
func (s *Service) lookupFailed(err error) error {
	if errors.Is(err, ErrNotFound) {
		return rejected(err)
	}
	return err
}

// passkey returns the stored passkey with the credential id, or nil.
func (u *waUser) passkey(credentialID []byte) *Passkey {
	for i := range u.keys {
		if bytes.Equal(u.keys[i].CredentialID, credentialID) {
			return &u.keys[i]
		}
	}
	return nil
}

// waUserOf presents a stored user and their passkeys to go-webauthn.
func (s *Service) waUserOf(ctx context.Context, u *User) (*waUser, error) {
	keys, err := s.users.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeys of user: %w", err)
	}
	return newWAUser(u, keys), nil
}

// newWAUser presents u and their passkeys, read already, to go-webauthn.
func newWAUser(u *User, keys []Passkey) *waUser {
	creds := make([]webauthn.Credential, 0, len(keys))
	for _, p := range keys {
		creds = append(creds, toWebAuthn(p))
	}
	return &waUser{handle: u.Handle, name: u.Username, displayName: u.DisplayName, creds: creds, keys: keys}
}

func toWebAuthn(p Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, 0, len(p.Transports))
	for _, t := range p.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID:              p.CredentialID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Transport:       transports,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			BackupEligible: p.BackupEligible,
			BackupState:    p.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// Remembered returns the user a remembered-user cookie names.
//
// Errors: not_remembered.
func (s *Service) Remembered(ctx context.Context, uid string) (*User, error) {
	if uid == "" || len(uid) > 64 {
		return nil, errNotRemembered()
	}
	u, err := s.users.UserByUID(ctx, uid)
	if errors.Is(err, ErrNotFound) {
		return nil, errNotRemembered()
	}
	if err != nil {
		return nil, fmt.Errorf("remembered user: %w", err)
	}
	return u, nil
}
