package shared

// The OpenID Connect provider's endpoints, relative to the issuer
// (PUBLIC_URL). The provider serves them and `latchkey clients` prints them.
const (
	// OIDCPrefix is the path every endpoint but discovery is under.
	OIDCPrefix    = "/oauth2/"
	OIDCDiscovery = "/.well-known/openid-configuration"
	OIDCAuthorize = "/oauth2/authorize"
	OIDCToken     = "/oauth2/token"
	OIDCUserinfo  = "/oauth2/userinfo"
	OIDCKeys      = "/oauth2/keys"
	OIDCLogout    = "/oauth2/logout"
)
