package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/latchkey/latchkey/shared"
)

// Limits on what one account holds, so that no account can grow the
// stores without bound. A new login beyond MaxSessions ends the sessions
// unused the longest.
const (
	MaxPasskeys = 20
	MaxSessions = 50
)

// requireRecentAuth guards adding a passkey: whoever holds the session must
// have proven possession of a passkey or an email link lately, so a session
// left open on a shared computer cannot be used to plant one. An email link
// is enough here: adding a passkey for a new device is what it is for.
func (s *Service) requireRecentAuth(sess *Session) error {
	if s.opts.Now().Sub(sess.AuthenticatedAt) > s.opts.ReauthWindow {
		return errReauthRequired()
	}
	return nil
}

// requireTrustedAuth guards what could lock the owner out: deleting a
// passkey, ending another session, logging out everywhere. It needs a
// recent login with a passkey that is not provisional. An email link only
// proves that someone can read the mailbox, and a passkey that such a
// session added proves no more until its cooling-off period ends; without
// this, whoever reads the owner's email could add a passkey, log in with it
// and remove every other way in.
func (s *Service) requireTrustedAuth(ctx context.Context, sess *Session, u *User) error {
	if err := s.requireRecentAuth(sess); err != nil {
		return err
	}
	keys, err := s.users.Passkeys(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("passkeys of user: %w", err)
	}
	return s.trustedAmong(sess, keys)
}

// trustedAmong is requireTrustedAuth's verdict on the session's passkey,
// given the user's passkeys already loaded; it assumes a recent passkey
// login.
func (s *Service) trustedAmong(sess *Session, keys []Passkey) error {
	if sess.Method != MethodPasskey || sess.PasskeyUID == "" {
		return errReauthEmailLogin()
	}
	for _, p := range keys {
		if p.UID != sess.PasskeyUID {
			continue
		}
		if p.Provisional(s.opts.Now()) {
			return errReauthProvisional(p.ProvisionalUntil)
		}
		return nil
	}
	// The session's passkey has been deleted since.
	return errReauthRequired()
}

// openCeremonyPrefix keys the one add-passkey ceremony a session may have
// open: a new begin replaces the last, so a session cannot pile them up.
const openCeremonyPrefix = "add-passkey:"

// PasskeyBegin starts adding a passkey to the session's user. The user's
// existing passkeys are excluded, so an authenticator that already holds one
// says so instead of making a second.
//
// Errors: reauth_required, limit_reached, busy.
func (s *Service) PasskeyBegin(ctx context.Context, sess *Session, u *User) (*shared.CeremonyResponse, error) {
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	wu, err := s.waUserOf(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(wu.keys) >= MaxPasskeys {
		return nil, errTooManyPasskeys()
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(wu.creds))
	for _, c := range wu.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := s.wa.BeginRegistration(wu, s.registrationOptions(webauthn.WithExclusions(exclude))...)
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	// The session's previous ceremony, if any, is withdrawn first.
	open := openCeremonyPrefix + sess.ID
	if old, err := s.challenges.Take(ctx, open); err == nil {
		if _, err := s.challenges.Take(ctx, ceremonyPrefix+string(old)); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("withdraw the previous ceremony: %w", err)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("find the open ceremony: %w", err)
	}
	id, err := s.putCeremony(ctx, &ceremony{Kind: kindAddPasskey, WebAuthn: *session, UserID: u.ID, SessionID: sess.ID})
	if err != nil {
		return nil, err
	}
	if err := s.putChallenge(ctx, open, []byte(id), s.opts.CeremonyTTL); err != nil {
		return nil, err
	}
	return ceremonyResponse(id, u.Username, creation.Response)
}

// PasskeyFinish verifies and stores the new passkey. Only the session that
// began the ceremony can finish it, and only its latest one. A passkey added
// without a trusted passkey login (after an email link, say) is provisional
// for ProvisionalPeriod.
//
// Errors: ceremony_invalid, reauth_required, invalid_input (passkey_name,
// name, credential), limit_reached, credential_rejected (400), busy.
func (s *Service) PasskeyFinish(ctx context.Context, sess *Session, u *User, req shared.PasskeyFinishRequest, client Client) (*Passkey, error) {
	c, err := s.takeCeremony(ctx, req.Ceremony, kindAddPasskey)
	if err != nil {
		return nil, err
	}
	if c.UserID != u.ID || c.SessionID != sess.ID {
		return nil, errCeremonyInvalid(errors.New("add-passkey ceremony finished by another session"))
	}
	// Two begins racing can both store a ceremony; only the one the session
	// points at may finish.
	open, err := s.challenges.Take(ctx, openCeremonyPrefix+sess.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("find the open ceremony: %w", err)
	}
	if string(open) != req.Ceremony {
		return nil, errCeremonyInvalid(errors.New("add-passkey ceremony replaced by a newer one"))
	}
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	field, raw := "passkey_name", req.PasskeyName
	switch {
	case req.Name != "" && req.PasskeyName != "":
		return nil, errPasskeyNameTwice()
	case req.Name != "":
		field, raw = "name", req.Name
	}
	name, err := cleanText(field, "The passkey name", raw, passkeyNameMax)
	if err != nil {
		return nil, err
	}
	wu, err := s.waUserOf(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(wu.keys) >= MaxPasskeys {
		return nil, errTooManyPasskeys()
	}
	cred, err := s.verifyRegistration(wu, c, req.Credential)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	p := newPasskey(cred, name, client, now)
	p.UserID = u.ID
	// The re-auth window was checked above, and wu holds the passkeys: a
	// session that is not trusted adds a provisional passkey.
	if s.trustedAmong(sess, wu.keys) != nil {
		p.ProvisionalUntil = now.Add(s.opts.ProvisionalPeriod)
	}
	if err := s.users.AddPasskey(ctx, p); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "passkey added", "user", u.UID, "passkey", p.UID, "provisional", !p.ProvisionalUntil.IsZero())
	return p, nil
}

// Passkeys lists the user's passkeys, oldest first.
//
// Errors: none of its own (a store failure only).
func (s *Service) Passkeys(ctx context.Context, u *User) ([]Passkey, error) {
	keys, err := s.users.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return keys, nil
}

// RenamePasskey renames one of the user's passkeys.
//
// Errors: invalid_input (name), not_found.
func (s *Service) RenamePasskey(ctx context.Context, u *User, passkeyUID string, req shared.PasskeyRenameRequest) (*Passkey, error) {
	name, err := cleanText("name", "The passkey name", req.Name, passkeyNameMax)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errPasskeyNameMissing()
	}
	p, err := s.users.RenamePasskey(ctx, u.ID, passkeyUID, name)
	if errors.Is(err, ErrNotFound) {
		return nil, errPasskeyNotFound()
	}
	return p, err
}

// DeletePasskey deletes one of the user's passkeys, never the last one,
// and ends the sessions it started and revokes the app grants those gave:
// whoever logged in with it is out, here and in every app.
//
// Errors: reauth_required, not_found, last_passkey.
func (s *Service) DeletePasskey(ctx context.Context, sess *Session, u *User, passkeyUID string) error {
	if err := s.requireTrustedAuth(ctx, sess, u); err != nil {
		return err
	}
	err := s.users.DeletePasskey(ctx, u.ID, passkeyUID)
	if errors.Is(err, ErrNotFound) {
		return errPasskeyNotFound()
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "passkey deleted", "user", u.UID, "passkey", passkeyUID)
	err = s.endSessionsWhere(ctx, u.ID, func(x Session) bool { return x.PasskeyUID == passkeyUID })
	if s.grants != nil {
		// What apps were given on the strength of that passkey goes too.
		if _, gerr := s.grants.RevokePasskeyGrants(ctx, u.ID, passkeyUID, s.opts.Now().UTC()); gerr != nil {
			err = errors.Join(err, fmt.Errorf("revoke the passkey's app grants: %w", gerr))
		}
	}
	return err
}

// Sessions lists the user's live sessions, newest first.
//
// Errors: none of its own (a store failure only).
func (s *Service) Sessions(ctx context.Context, u *User) ([]Session, error) {
	all, err := s.sessions.ListByUser(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.opts.Now()
	live := all[:0]
	for _, sess := range all {
		if now.Before(sess.ExpiresAt) && now.Before(sess.LastSeenAt.Add(s.opts.SessionIdle)) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// EndUserSession ends one of the user's sessions; another user's id is
// not found. Ending the session itself is logging out; ending another one
// needs a trusted login, or whoever read the owner's email could throw the
// owner out.
//
// Errors: reauth_required, not_found.
func (s *Service) EndUserSession(ctx context.Context, sess *Session, u *User, id string) error {
	if id != sess.ID {
		if err := s.requireTrustedAuth(ctx, sess, u); err != nil {
			return err
		}
	}
	other, err := s.sessions.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && other.UserID != u.ID) {
		return errSessionNotFound()
	}
	if err != nil {
		return fmt.Errorf("get session: %w", err)
	}
	return s.endSession(ctx, id)
}

// LogoutEverywhere ends every session of the user, this one included.
//
// Errors: reauth_required.
func (s *Service) LogoutEverywhere(ctx context.Context, sess *Session, u *User) error {
	if err := s.requireTrustedAuth(ctx, sess, u); err != nil {
		return err
	}
	if err := s.EndAllSessions(ctx, u.ID); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "logged out everywhere", "user", u.UID)
	return nil
}
