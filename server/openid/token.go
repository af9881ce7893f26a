package openid

import (
	"context"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// VerifyClient authenticates the app calling the token endpoint: a
// confidential app by its secret (HTTP Basic or the form), a public app by
// its id alone, which PKCE then backs.
func (p *Provider) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	cc := r.Data
	if cc.ClientAssertion != "" {
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", auth.ClientAssertionUnsupported().Message), http.StatusUnauthorized)
	}
	app, ok := p.auth.App(cc.ClientID)
	switch {
	case !ok:
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", auth.ClientAuthFailed().Message), http.StatusUnauthorized)
	case app.Public && cc.ClientSecret != "":
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", auth.PublicClientSecret().Message), http.StatusUnauthorized)
	case !app.Public && !app.CheckSecret(cc.ClientSecret):
		p.log.WarnContext(ctx, "app authentication failed", "app", app.ID)
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", auth.ClientAuthFailed().Message), http.StatusUnauthorized)
	}
	if p.opts.Throttle != nil {
		if err := p.opts.Throttle.Allow(ctx, auth.ActionToken, "", app.ID); err != nil {
			return nil, oauthError(err)
		}
	}
	return &client{app: app}, nil
}

// CodeExchange redeems an authorization code.
func (p *Provider) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	app := r.Client.(*client).app
	verifier := r.Data.CodeVerifier
	t, err := p.auth.RedeemCode(ctx, app, r.Data.Code, r.Data.RedirectURI, verifier, func(challenge string) error {
		return op.AuthorizeCodeChallenge(verifier, &oidc.CodeChallenge{Challenge: challenge, Method: oidc.CodeChallengeMethodS256})
	})
	if err != nil {
		return nil, oauthError(err)
	}
	return p.tokenResponse(ctx, app, t)
}

// RefreshToken rotates a refresh token.
func (p *Provider) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	app := r.Client.(*client).app
	t, err := p.auth.Refresh(ctx, app, r.Data.RefreshToken, r.Data.Scopes)
	if err != nil {
		return nil, oauthError(err)
	}
	return p.tokenResponse(ctx, app, t)
}

func (p *Provider) tokenResponse(ctx context.Context, app *auth.App, t *auth.Tokens) (*op.Response, error) {
	idToken, err := p.idToken(ctx, app, t)
	if err != nil {
		return nil, oauthError(err)
	}
	resp := op.NewResponse(&oidc.AccessTokenResponse{
		AccessToken:  t.AccessToken,
		TokenType:    oidc.BearerToken,
		RefreshToken: t.RefreshToken,
		ExpiresIn:    uint64(t.AccessExpiresAt.Sub(p.auth.Now()).Round(time.Second).Seconds()),
		IDToken:      idToken,
		Scope:        t.Scopes,
	})
	// RFC 6749 §5.1: tokens are never cached.
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Pragma", "no-cache")
	return resp, nil
}

// idToken signs the ID token: who (sub is the user's public id, never the
// username), when and how they logged in, and the claims of the granted
// scopes, which many apps read only from here.
func (p *Provider) idToken(ctx context.Context, app *auth.App, t *auth.Tokens) (string, error) {
	signer, alg, err := p.keys.signer(ctx, app.IDTokenAlg)
	if err != nil {
		return "", err
	}
	now := p.auth.Now()
	claims := oidc.NewIDTokenClaims(p.issuer, t.User.UID, []string{app.ID}, now.Add(p.auth.IDTokenTTL()),
		t.Grant.AuthTime, t.Nonce, "", t.Grant.AMR, app.ID, 0)
	claims.IssuedAt = oidc.FromTime(now)
	if claims.AccessTokenHash, err = oidc.ClaimHash(t.AccessToken, alg); err != nil {
		return "", err
	}
	claims.SetUserInfo(userInfo(t.User, t.Scopes))
	return crypto.Sign(claims, signer)
}

// userInfo is what the scopes let an app know of the user.
func userInfo(u *auth.User, scopes []string) *oidc.UserInfo {
	info := &oidc.UserInfo{Subject: u.UID}
	for _, s := range scopes {
		switch s {
		case shared.ScopeProfile:
			info.PreferredUsername = u.Username
			// Apps show name; a person who gave no display name is
			// their username there too.
			info.Name = u.DisplayName
			if info.Name == "" {
				info.Name = u.Username
			}
		case shared.ScopeEmail:
			if u.Email != "" {
				info.Email = u.Email
				info.EmailVerified = oidc.Bool(!u.EmailVerifiedAt.IsZero())
				if !info.EmailVerified {
					// The library leaves a false email_verified out;
					// an app must read "not verified", not "unknown".
					info.AppendClaims("email_verified", false)
				}
			}
		}
	}
	return info
}

// UserInfo answers to an access token.
func (p *Provider) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	u, scopes, err := p.auth.UserInfo(ctx, r.Data.AccessToken)
	if err != nil {
		return nil, oauthError(err)
	}
	resp := op.NewResponse(userInfo(u, scopes))
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// keyCache keeps one go-jose signer per key.
type keyCache struct {
	auth    *auth.Service
	mu      sync.Mutex
	signers map[string]jose.Signer
}

func (k *keyCache) signer(ctx context.Context, alg string) (jose.Signer, jose.SignatureAlgorithm, error) {
	sg, err := k.auth.SigningKey(ctx, alg)
	if err != nil {
		return nil, "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.signers[sg.KID]; ok {
		return s, jose.SignatureAlgorithm(alg), nil
	}
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       jose.JSONWebKey{Key: sg.Key, KeyID: sg.KID, Algorithm: alg, Use: "sig"},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, "", err
	}
	if k.signers == nil {
		k.signers = map[string]jose.Signer{}
	}
	k.signers[sg.KID] = s
	return s, jose.SignatureAlgorithm(alg), nil
}

// Keys publishes the JWKS: the keys signing now and those retired whose
// tokens may still be alive.
func (p *Provider) Keys(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	keys, err := p.auth.PublicKeys(ctx)
	if err != nil {
		return nil, oauthError(err)
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.KID, Algorithm: k.Alg, Use: "sig"})
	}
	resp := op.NewResponse(set)
	// Short enough that a new key is seen well before it signs (a key
	// signs from the start of its period; apps refetch on an unknown kid).
	resp.Header.Set("Cache-Control", "public, max-age=300")
	return resp, nil
}

// keySet verifies id_token_hint signatures against the published keys.
type keySet struct{ p *Provider }

func (ks keySet) VerifySignature(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	keys, err := ks.p.auth.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, auth.HintInvalid()
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, k := range keys {
		if k.KID == kid {
			return jws.Verify(k.Key)
		}
	}
	return nil, auth.HintInvalid()
}

// Discovery advertises what works, and only that.
func (p *Provider) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp := op.NewResponse(&oidc.DiscoveryConfiguration{
		Issuer:                            p.issuer,
		AuthorizationEndpoint:             p.issuer + shared.OIDCAuthorize,
		TokenEndpoint:                     p.issuer + shared.OIDCToken,
		UserinfoEndpoint:                  p.issuer + shared.OIDCUserinfo,
		EndSessionEndpoint:                p.issuer + shared.OIDCLogout,
		JwksURI:                           p.issuer + shared.OIDCKeys,
		ScopesSupported:                   shared.Scopes,
		ResponseTypesSupported:            []string{string(oidc.ResponseTypeCode)},
		ResponseModesSupported:            []string{string(oidc.ResponseModeQuery)},
		GrantTypesSupported:               []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  p.auth.SigningAlgs(),
		TokenEndpointAuthMethodsSupported: []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone},
		CodeChallengeMethodsSupported:     []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256},
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash",
			"name", "preferred_username", "email", "email_verified"},
		RequestParameterSupported:    false,
		RequestURIParameterSupported: false,
	})
	resp.Header.Set("Cache-Control", "public, max-age=3600")
	return resp, nil
}
