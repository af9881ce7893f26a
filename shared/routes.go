package shared

import (
	"net/url"
	"strings"
)

// Page routes, declared once for the server's prerenderer and the wasm router.
const (
	PageHome       = "/"
	PageSignup     = "/signup"
	PageLogin      = "/login"
	PageLoginEmail = "/login/email"
	PageAccount    = "/account"
	PageOffline    = "/offline"
	// PageConsent asks whether an application may sign the person in;
	// PageLogout asks whether to log out of Latchkey when an application
	// asked for it, and says when the person is logged out.
	PageConsent = "/consent"
	PageLogout  = "/logout"
)

// Pages lists every page route; the server and the wasm register the same set.
var Pages = []string{PageHome, PageSignup, PageLogin, PageLoginEmail, PageAccount, PageOffline, PageConsent, PageLogout}

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
	// APIAuthorization is an application's pending sign-in; APIConsent
	// answers its consent question.
	APIAuthorization = "/api/authorize/{id}"
	APIConsent       = "/api/authorize/{id}/consent"
	// APILogoutRequest is an application's pending logout request.
	APILogoutRequest = "/api/logout/{id}"
	// APIApps lists the applications the person allowed; APIApp removes
	// one's access.
	APIApps     = "/api/apps"
	APIApp      = "/api/apps/{id}"
	HealthLive  = "/healthz"
	HealthReady = "/readyz"
)

// Route is one API endpoint: its method with its path. The server's mux
// registers Routes and the client calls these values, so the two cannot
// disagree about either.
type Route struct {
	Method string
	Path   string
}

// Pattern is the route as a net/http ServeMux pattern: "POST /api/logout".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// With fills the route's {id} with id, escaped for a path.
func (r Route) With(id string) Route {
	r.Path = strings.Replace(r.Path, "{id}", url.PathEscape(id), 1)
	return r
}

// Every API route; see "Adding an API route" in the README.
var (
	RouteSignupBegin       = Route{"POST", APISignupBegin}
	RouteSignupFinish      = Route{"POST", APISignupFinish}
	RouteLoginBegin        = Route{"POST", APILoginBegin}
	RouteLoginFinish       = Route{"POST", APILoginFinish}
	RouteLoginRemembered   = Route{"GET", APILoginRemembered}
	RouteLoginForget       = Route{"POST", APILoginForget}
	RouteLoginEmail        = Route{"POST", APILoginEmail}
	RouteLoginEmailVerify  = Route{"POST", APILoginEmailVerify}
	RouteLoginEmailAccount = Route{"POST", APILoginEmailAccount}
	RouteAccountEmail      = Route{"POST", APIAccountEmail}
	RouteAccountDisown     = Route{"POST", APIAccountDisown}
	RouteMe                = Route{"GET", APIMe}
	RouteLogout            = Route{"POST", APILogout}
	RoutePasskeys          = Route{"GET", APIPasskeys}
	RoutePasskeysBegin     = Route{"POST", APIPasskeysBegin}
	RoutePasskeysFinish    = Route{"POST", APIPasskeysFinish}
	RoutePasskeyRename     = Route{"PATCH", APIPasskey}
	RoutePasskeyDelete     = Route{"DELETE", APIPasskey}
	RouteSessions          = Route{"GET", APISessions}
	RouteSessionEnd        = Route{"DELETE", APISession}
	RouteSessionsEnd       = Route{"DELETE", APISessions}
	RouteAuthorization     = Route{"GET", APIAuthorization}
	RouteConsent           = Route{"POST", APIConsent}
	RouteLogoutRequest     = Route{"GET", APILogoutRequest}
	RouteApps              = Route{"GET", APIApps}
	RouteAppRemove         = Route{"DELETE", APIApp}
)

// Routes lists every API route; the server serves exactly these.
var Routes = []Route{
	RouteSignupBegin, RouteSignupFinish,
	RouteLoginBegin, RouteLoginFinish, RouteLoginRemembered, RouteLoginForget,
	RouteLoginEmail, RouteLoginEmailVerify, RouteLoginEmailAccount,
	RouteAccountEmail, RouteAccountDisown,
	RouteMe, RouteLogout,
	RoutePasskeys, RoutePasskeysBegin, RoutePasskeysFinish, RoutePasskeyRename, RoutePasskeyDelete,
	RouteSessions, RouteSessionEnd, RouteSessionsEnd,
	RouteAuthorization, RouteConsent, RouteLogoutRequest, RouteApps, RouteAppRemove,
}
