package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Options configure a Service.
type Options struct {
	// Origin is where the pages are served (PUBLIC_URL); RPID its host name.
	Origin string
	RPID   string
	// RPName is shown by some authenticators next to the passkey.
	RPName string
	// UserVerification is "required" (default) or "preferred".
	UserVerification string
	// CeremonyTTL bounds the time between a ceremony's begin and finish.
	CeremonyTTL time.Duration
	// SessionIdle ends a session unused for this long; SessionLifetime ends
	// any session this long after its login.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// ReauthWindow is how recent a login must be to change passkeys.
	ReauthWindow time.Duration
	// ProvisionalPeriod is how long a passkey added without a trusted
	// passkey login stays provisional.
	ProvisionalPeriod time.Duration
	// EmailLinkTTL is how long a login link works.
	EmailLinkTTL time.Duration
	// EmailProofPeriod is how long an account keeps an address nobody has
	// proven by using a link sent to it (default 7 days).
	EmailProofPeriod time.Duration
	// EnumerationProtection hides which usernames-or-addresses have an
	// account at login and which addresses are taken at sign-up
	// (ACCOUNT_ENUMERATION_PROTECTION); Secret, at least 32 bytes, then
	// derives the stand-in credential ids of unknown names.
	EnumerationProtection bool
	Secret                []byte
	// Apps are the applications that sign people in with Latchkey
	// (OIDC_CLIENTS_FILE); none means the OpenID Connect provider is off.
	Apps []App
	// Grants stores consents, grants and signing keys; required with Apps.
	Grants GrantStore
	// KeyEncryptionKey (OIDC_KEY_ENCRYPTION_KEY, at least 32 bytes, the
	// same on every instance) seals the signing keys in the database and
	// keys the MACs of access and refresh tokens.
	KeyEncryptionKey []byte
	// KeyRotation is how long one signing key signs (OIDC_KEY_ROTATION).
	KeyRotation time.Duration
	// AccessTokenTTL, IDTokenTTL and RefreshTokenTTL are the lives of what
	// an app receives; a refresh token's life restarts with each rotation.
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	// AuthorizeTTL bounds an application's sign-in from its request to the
	// code (time to log in, by passkey or email link, and to consent);
	// CodeTTL is the life of an authorization code.
	AuthorizeTTL time.Duration
	CodeTTL      time.Duration

	// Mailer sends login links and welcome mail.
	Mailer Mailer
	// Now is the clock; tests inject one to expire things without sleeping.
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults are the settings a Service takes for what Options leaves zero.
// They are declared here once: the configuration's defaults for the
// variables that set them (CEREMONY_TTL, …) come from here too.
func Defaults() Options {
	return Options{
		RPName:            "Latchkey",
		UserVerification:  "required",
		CeremonyTTL:       10 * time.Minute,
		SessionIdle:       7 * 24 * time.Hour,
		SessionLifetime:   30 * 24 * time.Hour,
		ReauthWindow:      5 * time.Minute,
		ProvisionalPeriod: 72 * time.Hour,
		EmailLinkTTL:      15 * time.Minute,
		EmailProofPeriod:  7 * 24 * time.Hour,
		KeyRotation:       30 * 24 * time.Hour,
		AccessTokenTTL:    10 * time.Minute,
		IDTokenTTL:        time.Hour,
		RefreshTokenTTL:   30 * 24 * time.Hour,
		AuthorizeTTL:      30 * time.Minute,
		CodeTTL:           time.Minute,
	}
}

// Service runs Latchkey's ceremonies over its stores.
type Service struct {
	users      UserStore
	challenges ChallengeStore
	sessions   SessionStore
	grants     GrantStore
	keys       keyring
	// tokenKey keys access and refresh tokens' MACs; sealKey encrypts the
	// signing keys at rest. Both derive from KeyEncryptionKey.
	tokenKey, sealKey []byte
	wa                *webauthn.WebAuthn
	opts              Options
	log               *slog.Logger
	sending           sync.WaitGroup
}

// discardMailer stands in when no mailer is configured (tests of other
// flows); the composition root always sets a real one.
type discardMailer struct{}

func (discardMailer) Send(context.Context, Message) error { return errors.New("no mailer configured") }

// credentialParameters are the algorithms Latchkey accepts, in order of
// preference: ES256 (every platform authenticator), EdDSA (security keys),
// RS256 (Windows Hello).
var credentialParameters = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// New returns a Service. It checks the WebAuthn settings now, so a bad
// PUBLIC_URL fails at start rather than at the first sign-up.
func New(users UserStore, challenges ChallengeStore, sessions SessionStore, opts Options) (*Service, error) {
	d := Defaults()
	if opts.RPName == "" {
		opts.RPName = d.RPName
	}
	if opts.UserVerification == "" {
		opts.UserVerification = d.UserVerification
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&opts.CeremonyTTL, &d.CeremonyTTL},
		{&opts.SessionLifetime, &d.SessionLifetime},
		{&opts.SessionIdle, &d.SessionIdle},
		{&opts.ReauthWindow, &d.ReauthWindow},
		{&opts.ProvisionalPeriod, &d.ProvisionalPeriod},
		{&opts.EmailLinkTTL, &d.EmailLinkTTL},
		{&opts.EmailProofPeriod, &d.EmailProofPeriod},
		{&opts.KeyRotation, &d.KeyRotation},
		{&opts.AccessTokenTTL, &d.AccessTokenTTL},
		{&opts.IDTokenTTL, &d.IDTokenTTL},
		{&opts.RefreshTokenTTL, &d.RefreshTokenTTL},
		{&opts.AuthorizeTTL, &d.AuthorizeTTL},
		{&opts.CodeTTL, &d.CodeTTL},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	opts.SessionIdle = min(opts.SessionIdle, opts.SessionLifetime)
	if opts.EnumerationProtection && len(opts.Secret) < 32 {
		return nil, errors.New("account enumeration protection needs a server secret of at least 32 bytes")
	}
	if len(opts.Apps) > 0 && (opts.Grants == nil || len(opts.KeyEncryptionKey) < 32) {
		return nil, errors.New("applications need a grant store and a key-encryption key of at least 32 bytes")
	}
	if opts.Mailer == nil {
		opts.Mailer = discardMailer{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	timeout := webauthn.TimeoutConfig{Timeout: opts.CeremonyTTL, TimeoutUVD: opts.CeremonyTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          opts.RPID,
		RPDisplayName: opts.RPName,
		RPOrigins:     []string{opts.Origin},
		// Expiry is enforced here, against the injected clock, rather than
		// by the library against the wall clock.
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn settings (PUBLIC_URL %s): %w", opts.Origin, err)
	}
	s := &Service{users: users, challenges: challenges, sessions: sessions, grants: opts.Grants, wa: wa, opts: opts, log: opts.Logger}
	if len(opts.KeyEncryptionKey) > 0 {
		s.tokenKey = deriveKey(opts.KeyEncryptionKey, "oidc token mac v1")
		s.sealKey = deriveKey(opts.KeyEncryptionKey, "oidc signing key seal v1")
	}
	return s, nil
}

func (s *Service) userVerification() protocol.UserVerificationRequirement {
	if s.opts.UserVerification == "preferred" {
		return protocol.VerificationPreferred
	}
	return protocol.VerificationRequired
}

// randomID returns n random bytes, base64url without padding.
func randomID(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

// hashString is a secret's SHA-256, base64url: the form in which stores
// keep session tokens, link tokens, codes and binding cookies, so a copy of
// a store holds nothing that works.
func hashString(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms; if it did,
		// continuing with predictable ids would be worse than stopping.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return b
}

// rejected wraps a WebAuthn verification failure. The library's reason is
// developer detail: logged, never shown, because it helps an attacker more
// than a person.
func rejected(err error) *Error {
	detail := err
	var pe *protocol.Error
	if errors.As(err, &pe) {
		info := pe.DevInfo
		// The library puts both challenges into the detail of a challenge
		// mismatch; challenges never go to the log (security rule 8 in
		// docs/PRODUCT.md).
		if strings.Contains(strings.ToLower(pe.Details+info), "challenge") {
			info = "values withheld"
		}
		detail = fmt.Errorf("%s: %s (%s)", pe.Type, pe.Details, info)
	}
	return credentialRejected(detail)
}
