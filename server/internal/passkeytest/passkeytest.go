// Package passkeytest is a software authenticator for tests: it answers
// the server's WebAuthn options the way a browser and an authenticator
// would, and can be told to misbehave (wrong origin, no user verification,
// a tampered signature) so tests can check each refusal.
package passkeytest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/descope/virtualwebauthn"
	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds passkeys for one relying party.
type Authenticator struct {
	RP   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	// handles maps a credential id to its user handle, for the userHandle
	// of discoverable logins.
	handles map[string][]byte
}

// New returns an authenticator that answers as a browser on origin would.
func New(origin, rpID string) *Authenticator {
	return &Authenticator{
		RP:      virtualwebauthn.RelyingParty{ID: rpID, Name: "Latchkey", Origin: origin},
		auth:    virtualwebauthn.NewAuthenticator(),
		handles: map[string][]byte{},
	}
}

// Options changes what the next responses claim.
type Options struct {
	UserNotVerified bool
	BackupEligible  bool
	BackupState     bool
}

// Set changes the flags the authenticator reports.
func (a *Authenticator) Set(o Options) {
	a.auth.Options.UserNotVerified = o.UserNotVerified
	a.auth.Options.BackupEligible = o.BackupEligible
	a.auth.Options.BackupState = o.BackupState
}

// Register answers PublicKeyCredentialCreationOptionsJSON with a new
// passkey's RegistrationResponseJSON, and keeps the passkey.
func (a *Authenticator) Register(optionsJSON []byte) (json.RawMessage, error) {
	return a.RegisterAs(a.RP, optionsJSON)
}

// RegisterAs is Register answering as another relying party (to test origin
// and RP ID checks); the passkey is kept all the same.
func (a *Authenticator) RegisterAs(rp virtualwebauthn.RelyingParty, optionsJSON []byte) (json.RawMessage, error) {
	opts, err := virtualwebauthn.ParseAttestationOptions(string(optionsJSON))
	if err != nil {
		return nil, fmt.Errorf("parse creation options: %w", err)
	}
	for _, c := range a.auth.Credentials {
		if c.IsExcludedForAttestation(*opts) {
			return nil, errors.New("InvalidStateError: the authenticator already holds an excluded credential")
		}
	}
	cred := NewCredential()
	a.auth.AddCredential(cred)
	a.handles[string(cred.ID)] = []byte(opts.UserID)
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, a.auth, cred, *opts)), nil
}

// Login answers PublicKeyCredentialRequestOptionsJSON with an assertion by
// an allowed passkey (or, for a discoverable login, the newest one), its
// counter advanced as a hardware authenticator would.
func (a *Authenticator) Login(optionsJSON []byte) (json.RawMessage, error) {
	return a.LoginAs(a.RP, optionsJSON)
}

// LoginAs is Login answering as another relying party.
func (a *Authenticator) LoginAs(rp virtualwebauthn.RelyingParty, optionsJSON []byte) (json.RawMessage, error) {
	opts, err := virtualwebauthn.ParseAssertionOptions(string(optionsJSON))
	if err != nil {
		return nil, fmt.Errorf("parse request options: %w", err)
	}
	var cred *virtualwebauthn.Credential
	if len(opts.AllowCredentials) == 0 {
		if n := len(a.auth.Credentials); n > 0 {
			cred = &a.auth.Credentials[n-1]
		}
	} else {
		cred = a.auth.FindAllowedCredential(*opts)
	}
	if cred == nil {
		return nil, errors.New("NotAllowedError: no passkey for this request")
	}
	cred.Counter++
	return a.assert(rp, cred, *opts), nil
}

// LoginWith asserts with a chosen passkey whatever the options allow, as a
// malicious client could.
func (a *Authenticator) LoginWith(credentialID []byte, optionsJSON []byte) (json.RawMessage, error) {
	opts, err := virtualwebauthn.ParseAssertionOptions(string(optionsJSON))
	if err != nil {
		return nil, err
	}
	for i := range a.auth.Credentials {
		if string(a.auth.Credentials[i].ID) == string(credentialID) {
			c := &a.auth.Credentials[i]
			c.Counter++
			return a.assert(a.RP, c, *opts), nil
		}
	}
	return nil, errors.New("no such passkey")
}

func (a *Authenticator) assert(rp virtualwebauthn.RelyingParty, cred *virtualwebauthn.Credential, opts virtualwebauthn.AssertionOptions) json.RawMessage {
	a.auth.Options.UserHandle = a.handles[string(cred.ID)]
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, a.auth, *cred, opts))
}

// LoginClaimingHandle asserts with the newest passkey but claims another
// user handle, as a forged discoverable login would.
func (a *Authenticator) LoginClaimingHandle(handle []byte, optionsJSON []byte) (json.RawMessage, error) {
	opts, err := virtualwebauthn.ParseAssertionOptions(string(optionsJSON))
	if err != nil {
		return nil, err
	}
	n := len(a.auth.Credentials)
	if n == 0 {
		return nil, errors.New("no passkey")
	}
	c := &a.auth.Credentials[n-1]
	c.Counter++
	a.auth.Options.UserHandle = handle
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(a.RP, a.auth, *c, *opts)), nil
}

// SetCounter sets a passkey's signature counter (to fake a clone).
func (a *Authenticator) SetCounter(credentialID []byte, n uint32) {
	for i := range a.auth.Credentials {
		if string(a.auth.Credentials[i].ID) == string(credentialID) {
			a.auth.Credentials[i].Counter = n
		}
	}
}

// Credentials returns the ids of the passkeys held, oldest first.
func (a *Authenticator) Credentials() [][]byte {
	var ids [][]byte
	for _, c := range a.auth.Credentials {
		ids = append(ids, c.ID)
	}
	return ids
}

// NewCredential makes an EC2 P-256 passkey. virtualwebauthn v1.0.3 drops
// leading zero bytes of the key's coordinates, which a verifier rightly
// rejects (about one key in 128), so such keys are thrown away and made
// again rather than making tests flaky.
func NewCredential() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		var k struct {
			X []byte `cbor:"-2,keyasint"`
			Y []byte `cbor:"-3,keyasint"`
		}
		if err := cbor.Unmarshal(c.Key.AttestationData(), &k); err == nil && len(k.X) == 32 && len(k.Y) == 32 {
			return c
		}
	}
}

// Tamper flips a bit in one base64url member of a credential response's
// "response" object (signature, authenticatorData, attestationObject,
// clientDataJSON), as an attacker or a broken client might.
func Tamper(credential json.RawMessage, member string) json.RawMessage {
	var m map[string]any
	if err := json.Unmarshal(credential, &m); err != nil {
		panic(err)
	}
	resp := m["response"].(map[string]any)
	b, err := base64.RawURLEncoding.DecodeString(resp[member].(string))
	if err != nil {
		panic(err)
	}
	b[len(b)-1] ^= 0x01
	resp[member] = base64.RawURLEncoding.EncodeToString(b)
	out, _ := json.Marshal(m)
	return out
}
