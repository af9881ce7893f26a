package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/latchkey/latchkey/shared"
)

// Account enumeration protection (ACCOUNT_ENUMERATION_PROTECTION, issue
// 14 item 11). The first stage of login names the account, so by default it
// answers 404 for an unknown name. With protection on, an unknown name gets
// a second stage like any other: a ceremony whose request options list
// credential ids derived from the server secret and the name, stable across
// requests and instances, so asking twice shows nothing new. No
// authenticator holds such a credential, so the passkey prompt simply finds
// none, and the ceremony can never finish.

// decoyCredentialID derives a name's stand-in credential id: HMAC-SHA256
// of the case-folded name, 32 bytes like many real ones.
func (s *Service) decoyCredentialID(name string) []byte {
	mac := hmac.New(sha256.New, s.opts.Secret)
	mac.Write([]byte("latchkey decoy credential\x00" + strings.ToLower(name)))
	return mac.Sum(nil)
}

func (s *Service) decoyLogin(ctx context.Context, typed string) (*shared.CeremonyResponse, error) {
	name := strings.TrimSpace(typed)
	// A real login reads the account with its passkeys in one query, as
	// the lookup that found no account did: nothing more to read here for
	// the two to take about as long.
	id := s.decoyCredentialID(name)
	wu := &waUser{handle: id, name: name, displayName: name, creds: []webauthn.Credential{{
		ID: id,
		// What a phone or laptop's passkey usually reports.
		Transport: []protocol.AuthenticatorTransport{protocol.Hybrid, protocol.Internal},
	}}}
	assertion, session, err := s.wa.BeginLogin(wu, webauthn.WithUserVerification(s.userVerification()))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	cid, err := s.putCeremony(ctx, &ceremony{Kind: kindLogin, WebAuthn: *session, Decoy: true})
	if err != nil {
		return nil, err
	}
	return ceremonyResponse(cid, name, assertion.Response)
}
