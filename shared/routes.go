package shared

// Page routes, declared once for the server's prerenderer and the wasm router.
const (
	PageHome       = "/"
	PageSignup     = "/signup"
	PageLogin      = "/login"
	PageLoginEmail = "/login/email"
	PageAccount    = "/account"
	PageOffline    = "/offline"
)

// Pages lists every page route; the server and the wasm register the same set.
var Pages = []string{PageHome, PageSignup, PageLogin, PageLoginEmail, PageAccount, PageOffline}

// API paths. Paths with {id} follow net/http's pattern syntax.
const (
	APISignupBegin      = "/api/signup/begin"
	APISignupFinish     = "/api/signup/finish"
	APILoginBegin       = "/api/login/begin"
	APILoginFinish      = "/api/login/finish"
	APILoginRemembered  = "/api/login/remembered"
	APILoginForget      = "/api/login/forget"
	APILoginEmail       = "/api/login/email"
	APILoginEmailVerify = "/api/login/email/verify"
	// APILoginEmailAccount names a link's account without using the link.
	APILoginEmailAccount = "/api/login/email/account"
	APIAccountEmail      = "/api/account/email"
	APIAccountDisown     = "/api/account/disown"
	APILogout            = "/api/logout"
	APIMe                = "/api/me"
	APIPasskeys          = "/api/passkeys"
	APIPasskeysBegin     = "/api/passkeys/begin"
	APIPasskeysFinish    = "/api/passkeys/finish"
	APIPasskey           = "/api/passkeys/{id}"
	APISessions          = "/api/sessions"
	APISession           = "/api/sessions/{id}"
	HealthLive           = "/healthz"
	HealthReady          = "/readyz"
)
