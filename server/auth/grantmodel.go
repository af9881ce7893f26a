package auth

import "time"

// App is an application that signs people in with Latchkey: an OpenID
// Connect client, declared by the operator in OIDC_CLIENTS_FILE.
type App struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Secret is a confidential app's secret; SecretSHA256 (hex) may stand
	// in for it, so the file need not hold the secret itself. A public app
	// (Public) has neither and must use PKCE.
	Secret       string `json:"secret,omitempty"`
	SecretSHA256 string `json:"secret_sha256,omitempty"`
	Public       bool   `json:"public,omitempty"`
	// RedirectURIs match exactly; only a public app's loopback URI
	// (http://127.0.0.1/… or http://[::1]/…) matches on any port
	// (RFC 8252 §7.3).
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// SkipConsent marks a first-party app: it signs people in without
	// asking them.
	SkipConsent bool `json:"skip_consent,omitempty"`
	// Scopes the app may ask for (default: all of shared.Scopes).
	Scopes []string `json:"scopes,omitempty"`
	// IDTokenAlg is ES256 (default) or RS256, for apps that support
	// nothing else (id_token_signed_response_alg).
	IDTokenAlg string `json:"id_token_signed_response_alg,omitempty"`
}

// Consent is a person's remembered "Allow" for an app and scopes.
type Consent struct {
	UserID    int64
	AppID     string
	Scopes    []string
	GrantedAt time.Time
}

// Grant is what one authorization code redemption gave an app: the
// family of its access tokens and, with offline_access, its rotating
// refresh token. Revoking the grant ends them all.
type Grant struct {
	ID     string
	UserID int64
	AppID  string
	Scopes []string
	// AuthTime and AMR describe the login the grant came from.
	AuthTime time.Time
	AMR      []string
	// PasskeyUID is the passkey that login used ("" for an email link):
	// deleting the passkey revokes the grant.
	PasskeyUID string
	// RefreshGen is the generation of the refresh token that works now (0:
	// the grant has no refresh token); an older generation presented again
	// is a replay, which revokes the grant.
	RefreshGen       int
	RefreshExpiresAt time.Time
	CreatedAt        time.Time
	// RevokedAt is zero while the grant is live.
	RevokedAt time.Time
}

// SigningKey is one of the provider's token-signing keys as stored: the
// private key sealed with the key-encryption key. Epoch numbers the
// rotation period the key signs in; every instance derives the same epoch
// from the clock, so they all sign with the same key.
type SigningKey struct {
	Alg       string
	Epoch     int64
	KID       string
	Sealed    []byte
	CreatedAt time.Time
}
