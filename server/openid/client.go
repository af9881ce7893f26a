package openid

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/latchkey/latchkey/server/auth"
)

// client presents an app to the library. redirect is the request's own
// redirect URI once the domain matched it (an RFC 8252 loopback URI on
// another port included), so the library's second, looser check sees
// exactly the URI that was approved and nothing else.
type client struct {
	app      *auth.App
	redirect string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string { return c.app.ID }

func (c *client) RedirectURIs() []string {
	if c.redirect != "" {
		return []string{c.redirect}
	}
	return c.app.RedirectURIs
}

func (c *client) PostLogoutRedirectURIs() []string { return c.app.PostLogoutRedirectURIs }

func (c *client) ApplicationType() op.ApplicationType {
	if c.app.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.app.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return 0 }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IsScopeAllowed(scope string) bool     { return c.app.Allows(scope) }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// DevMode is what lets the library accept an http:// redirect URI for a
// public app; by then the domain has matched the URI exactly against one
// the operator registered (or by the RFC 8252 loopback rule), so nothing
// the library would add could make it safer.
func (c *client) DevMode() bool { return c.redirect != "" }
