package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/latchkey/latchkey/shared"
)

// SignupBegin checks the requested account and starts a registration
// ceremony. Nothing is stored but the ceremony: the account only comes into
// being with its first passkey, in SignupFinish.
//
// Errors: invalid_input (username, email, display_name), username_taken,
// email_taken (unless enumeration protection hides it), busy.
func (s *Service) SignupBegin(ctx context.Context, req shared.SignupBeginRequest) (*shared.CeremonyResponse, error) {
	username := req.Username
	if err := ValidateUsername(username); err != nil {
		return nil, err
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	display, err := cleanText("display_name", "The display name", req.DisplayName, displayNameMax)
	if err != nil {
		return nil, err
	}
	if display == "" {
		display = username
	}
	// Taken names are refused before the passkey prompt appears; the
	// database checks again at finish, where a race is settled for good.
	if _, err := s.users.UserByUsername(ctx, username); err == nil {
		return nil, UsernameTaken(nil)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("look up username: %w", err)
	}
	// With enumeration protection a taken address is not refused: the
	// sign-up goes on and SignupFinish tells the address's owner instead.
	if !s.opts.EnumerationProtection {
		if _, err := s.userByEmail(ctx, email); err == nil {
			return nil, EmailTaken(nil)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("look up email: %w", err)
		}
	}

	handle := randomBytes(32)
	creation, session, err := s.wa.BeginRegistration(
		&waUser{handle: handle, name: username, displayName: display}, s.registrationOptions()...)
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	id, err := s.putCeremony(ctx, &ceremony{
		Kind: kindSignup, WebAuthn: *session,
		Username: username, Email: email, DisplayName: display, Handle: handle,
	})
	if err != nil {
		return nil, err
	}
	return ceremonyResponse(id, "", creation.Response)
}

// registrationOptions are what every new passkey is made with, sign-up's
// and add-passkey's alike, followed by extra.
func (s *Service) registrationOptions(extra ...webauthn.RegistrationOption) []webauthn.RegistrationOption {
	return append([]webauthn.RegistrationOption{
		webauthn.WithCredentialParameters(credentialParameters),
		webauthn.WithAuthenticatorSelection(s.authenticatorSelection()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	}, extra...)
}

// authenticatorSelection asks for a discoverable credential (a passkey the
// person can use without typing a name) with user verification.
func (s *Service) authenticatorSelection() protocol.AuthenticatorSelection {
	yes := true
	return protocol.AuthenticatorSelection{
		ResidentKey:        protocol.ResidentKeyRequirementRequired,
		RequireResidentKey: &yes,
		UserVerification:   s.userVerification(),
	}
}

// Client describes who is on the other end of a request, for naming a new
// passkey and listing sessions.
type Client struct {
	UserAgent string
	IP        string
	// SessionToken is the session cookie the browser sent, if any: a
	// login ends that session as it starts the new one.
	SessionToken string
}

// SignupFinish verifies the new passkey and creates the account with it, in
// one transaction, and logs the new account in. The ceremony is consumed
// first, so a failure here cannot be retried with the same challenge.
//
// Errors: ceremony_invalid, invalid_input (passkey_name, credential),
// credential_rejected (400), username_taken, email_taken (unless
// enumeration protection hides it), busy.
func (s *Service) SignupFinish(ctx context.Context, req shared.SignupFinishRequest, client Client) (*Login, error) {
	c, err := s.takeCeremony(ctx, req.Ceremony, kindSignup)
	if err != nil {
		return nil, err
	}
	name, err := cleanText("passkey_name", "The passkey name", req.PasskeyName, passkeyNameMax)
	if err != nil {
		return nil, err
	}
	cred, err := s.verifyRegistration(&waUser{handle: c.Handle, name: c.Username, displayName: c.DisplayName}, c, req.Credential)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	u := &User{
		UID:         randomID(16),
		Handle:      c.Handle,
		Username:    c.Username,
		Email:       c.Email,
		DisplayName: c.DisplayName,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	p := newPasskey(cred, name, client, now)
	err = s.users.CreateUser(ctx, u, p)
	if ErrorCode(err) == shared.CodeEmailTaken {
		// An overdue unproven address is released to the new account,
		// whether or not a sweep has run. Only when the address is taken,
		// so a sign-up with a free one is a single write.
		n, rerr := s.users.ReleaseUnprovenEmails(ctx, s.proofCutoff(), u.Email)
		if rerr != nil {
			return nil, fmt.Errorf("release unproven email: %w", rerr)
		}
		if n > 0 {
			err = s.users.CreateUser(ctx, u, p)
		}
	}
	taken := s.opts.EnumerationProtection && ErrorCode(err) == shared.CodeEmailTaken
	if taken {
		// Looks like any other sign-up, but the account never gets the
		// address: it is only shown to it, and released with the rest.
		u.Email, u.EmailPending = "", c.Email
		err = s.users.CreateUser(ctx, u, p)
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "account created", "user", u.UID, "aaguid", formatAAGUID(p.AAGUID), "email_taken", taken)
	sess, token, err := s.startSession(ctx, u, &proof{passkey: p, userVerified: cred.Flags.UserVerified}, client)
	if err != nil {
		return nil, err
	}
	if taken {
		s.welcomeTaken(ctx, c.Email)
	} else if err := s.sendLink(ctx, u, linkState{UserID: u.ID, Email: u.Email}, welcomeMail); err != nil {
		// The account exists and works; the address can be proven later
		// with any login link.
		s.log.ErrorContext(ctx, "welcome mail not sent", "user", u.UID, "err", err)
	}
	return &Login{User: u, Session: sess, Token: token}, nil
}

// welcomeTaken tells the owner of an address a new account tried to take.
func (s *Service) welcomeTaken(ctx context.Context, email string) {
	holder, err := s.userByEmail(ctx, email)
	if err == nil {
		err = s.sendExists(ctx, email, holder)
	}
	if err != nil {
		s.log.WarnContext(ctx, "account-exists note not sent", "err", err)
	}
}

// verifyRegistration checks a RegistrationResponseJSON against the
// ceremony: challenge, origin, RP ID, user presence and verification, and
// the attestation.
func (s *Service) verifyRegistration(user *waUser, c *ceremony, raw json.RawMessage) (*webauthn.Credential, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errCredentialMissing()
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		return nil, rejected(err)
	}
	cred, err := s.wa.CreateCredential(user, c.WebAuthn, parsed)
	if err != nil {
		return nil, rejected(err)
	}
	return cred, nil
}

func newPasskey(cred *webauthn.Credential, name string, client Client, now time.Time) *Passkey {
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	p := &Passkey{
		UID:             randomID(16),
		CredentialID:    cred.ID,
		PublicKey:       cred.PublicKey,
		AAGUID:          cred.Authenticator.AAGUID,
		SignCount:       cred.Authenticator.SignCount,
		Transports:      transports,
		BackupEligible:  cred.Flags.BackupEligible,
		BackupState:     cred.Flags.BackupState,
		AttestationType: cred.AttestationType,
		Name:            name,
		CreatedAt:       now,
	}
	if p.Name == "" {
		p.Name = defaultPasskeyName(p.AAGUID, client.UserAgent)
	}
	return p
}
