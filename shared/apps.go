package shared

import "time"

// Signing in to other applications with Latchkey (OpenID Connect).

// The scopes an application may ask for. Scope names are OpenID Connect's;
// the consent page shows one line for each (ScopeProfile: "your username
// and display name", …), and openid itself needs no line.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// Scopes lists every scope Latchkey grants, in the order the consent page
// shows them.
var Scopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// QueryAuthorize is the query parameter with which /login and /consent name
// the application's sign-in they are part of (an authorization request id).
// QueryLogout names an application's logout request on /logout.
const (
	QueryAuthorize = "authorize"
	QueryLogout    = "request"
)

// Server paths the pages navigate to (full page loads, never fetches):
// AuthorizeResume continues an application's sign-in after a login or a
// consent decision (?id=…); LogoutDone finishes an application's logout
// request after the person confirmed it (?request=…).
const (
	AuthorizeResume = "/oauth2/resume"
	LogoutDone      = "/oauth2/logout/done"
)

// AuthorizationInfo describes an application's pending sign-in to the
// pages that take part in it: /login says which application the person is
// signing in to, /consent what it will receive.
type AuthorizationInfo struct {
	App string `json:"app"`
	// Scopes the application asks for, in the order of Scopes.
	Scopes []string `json:"scopes"`
	// LoginHint pre-fills the first stage of the login.
	LoginHint string `json:"login_hint,omitempty"`
	// FreshLogin: the application asked for a new login (prompt=login,
	// max_age), so /login must ask for the passkey even with a session.
	FreshLogin bool `json:"fresh_login,omitempty"`
}

// ConsentRequest is the person's answer on /consent.
type ConsentRequest struct {
	Allow bool `json:"allow"`
}

// ContinueResponse names where the page goes next, with a full page load.
type ContinueResponse struct {
	Continue string `json:"continue"`
}

// App is an application the person has allowed to sign them in, as
// /account lists it.
type App struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

// AppsResponse lists the applications the person has allowed.
type AppsResponse struct {
	Apps []App `json:"apps"`
}

// LogoutInfo describes an application's logout request to /logout.
type LogoutInfo struct {
	// App names the application that asked, "" when it did not say.
	App string `json:"app,omitempty"`
}
