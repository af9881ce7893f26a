package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/latchkey/latchkey/shared"
)

// requireRecentAuth guards changes to a user's passkeys: whoever holds the
// session must have proven possession of a passkey or an email link lately,
// so a session left open on a shared computer cannot be used to plant one.
func (s *Service) requireRecentAuth(sess *Session) error {
	if s.opts.Now().Sub(sess.AuthenticatedAt) > s.opts.ReauthWindow {
		return Errorf(shared.CodeReauthRequired, "For your security, confirm it's you with a passkey first.")
	}
	return nil
}

// PasskeyBegin starts adding a passkey to the session's user. The user's
// existing passkeys are excluded, so an authenticator that already holds one
// says so instead of making a second.
func (s *Service) PasskeyBegin(ctx context.Context, sess *Session, u *User) (*shared.CeremonyResponse, error) {
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	wu, err := s.waUserOf(ctx, u)
	if err != nil {
		return nil, err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(wu.creds))
	for _, c := range wu.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := s.wa.BeginRegistration(wu,
		webauthn.WithCredentialParameters(credentialParameters),
		webauthn.WithAuthenticatorSelection(s.authenticatorSelection()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	id, err := s.putCeremony(ctx, &ceremony{Kind: kindAddPasskey, WebAuthn: *session, UserID: u.ID, SessionID: sess.ID})
	if err != nil {
		return nil, err
	}
	opts, err := json.Marshal(creation.Response)
	if err != nil {
		return nil, fmt.Errorf("encode creation options: %w", err)
	}
	return &shared.CeremonyResponse{Ceremony: id, Username: u.Username, Options: opts}, nil
}

// PasskeyFinish verifies and stores the new passkey. Only the session that
// began the ceremony can finish it.
func (s *Service) PasskeyFinish(ctx context.Context, sess *Session, u *User, req shared.PasskeyFinishRequest, client Client) (*Passkey, error) {
	c, err := s.takeCeremony(ctx, req.Ceremony, kindAddPasskey)
	if err != nil {
		return nil, err
	}
	if c.UserID != u.ID || c.SessionID != sess.ID {
		return nil, &Error{Code: codeCeremonyInvalid, Message: "This sign-in attempt has expired or was already used. Please start again.",
			Err: errors.New("add-passkey ceremony finished by another session")}
	}
	if err := s.requireRecentAuth(sess); err != nil {
		return nil, err
	}
	name, err := cleanText("name", "The passkey name", req.Name, passkeyNameMax)
	if err != nil {
		return nil, err
	}
	wu, err := s.waUserOf(ctx, u)
	if err != nil {
		return nil, err
	}
	cred, err := s.verifyRegistration(wu, c, req.Credential)
	if err != nil {
		return nil, err
	}
	p := newPasskey(cred, name, client, s.opts.Now().UTC())
	p.UserID = u.ID
	if err := s.users.AddPasskey(ctx, p); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "passkey added", "user", u.UID, "passkey", p.UID)
	return p, nil
}

// Passkeys lists the user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, u *User) ([]Passkey, error) {
	keys, err := s.users.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return keys, nil
}

// RenamePasskey renames one of the user's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, u *User, passkeyUID, name string) (*Passkey, error) {
	name, err := cleanText("name", "The passkey name", name, passkeyNameMax)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, FieldError("name", "Give the passkey a name.")
	}
	p, err := s.users.RenamePasskey(ctx, u.ID, passkeyUID, name)
	if errors.Is(err, ErrNotFound) {
		return nil, errPasskeyNotFound()
	}
	return p, err
}

// DeletePasskey deletes one of the user's passkeys, never the last one.
func (s *Service) DeletePasskey(ctx context.Context, sess *Session, u *User, passkeyUID string) error {
	if err := s.requireRecentAuth(sess); err != nil {
		return err
	}
	err := s.users.DeletePasskey(ctx, u.ID, passkeyUID)
	if errors.Is(err, ErrNotFound) {
		return errPasskeyNotFound()
	}
	if err == nil {
		s.log.InfoContext(ctx, "passkey deleted", "user", u.UID, "passkey", passkeyUID)
	}
	return err
}

func errPasskeyNotFound() *Error {
	return Errorf(shared.CodeNotFound, "No such passkey on your account.")
}

// Sessions lists the user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	all, err := s.sessions.ListByUser(ctx, userID)
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
// not found.
func (s *Service) EndUserSession(ctx context.Context, userID int64, id string) error {
	sess, err := s.sessions.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != userID) {
		return Errorf(shared.CodeNotFound, "No such session.")
	}
	if err != nil {
		return fmt.Errorf("get session: %w", err)
	}
	return s.EndSession(ctx, id)
}
