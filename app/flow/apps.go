package flow

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/shared"
)

// Signing in to other applications with Latchkey: the pages /login,
// /signup and /login/email take part in an application's sign-in (its id
// is shared.QueryAuthorize), /consent asks what it may receive, /logout
// answers its logout request, and /account lists the applications allowed.
//
// Where a sign-in goes next is always a full page load (the page's
// location), never the app's own router: the server answers those paths.

// ErrLoginNeeded ends a flow that needs a session when nobody is logged
// in; the page sends the person to log in, and the login brings them back.
var ErrLoginNeeded = errors.New("flow: not logged in")

// ResumeURL is where an application's sign-in continues after a login.
func ResumeURL(authorize string) string {
	return shared.AuthorizeResume + "?id=" + url.QueryEscape(authorize)
}

// LogoutDoneURL finishes an application's logout request once the person
// has logged out.
func LogoutDoneURL(request string) string {
	return shared.LogoutDone + "?request=" + url.QueryEscape(request)
}

// continueURL checks where the server says a sign-in goes next before the
// page opens it: a path on this site or an address with a scheme (an
// application's redirect URI, which may be a native app's own scheme). A
// scheme that would run or show something under Latchkey's origin
// (javascript:, data:, blob:, …) is never opened, and neither is a string
// the browser would read differently from Go (control characters, a
// scheme-less "host/path").
func continueURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err == nil && raw != "" && !strings.ContainsAny(raw, "\\ ") {
		switch u.Scheme {
		case "javascript", "vbscript", "data", "blob", "file", "about":
		case "":
			if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
				return raw, nil
			}
		default:
			return raw, nil
		}
	}
	return "", errors.New("flow: the server named an address the page will not open")
}

// Authorization reads an application's pending sign-in; an unknown or
// expired one is a Problem that says to start again.
func (f Flows) Authorization(ctx context.Context, authorize string) (*shared.AuthorizationInfo, error) {
	if authorize == "" {
		return nil, signinProblem(&shared.APIError{Code: shared.CodeNotFound})
	}
	info, err := f.API.Authorization(ctx, authorize)
	return info, signinProblem(err)
}

// LoginOpening is what /login shows first.
type LoginOpening struct {
	// App is the application's sign-in this login is part of; nil without
	// one, or when it could not be read (AppErr says why, and the page
	// logs in as usual).
	App    *shared.AuthorizationInfo
	AppErr error
	// Resume is set when someone is logged in already and the application
	// did not ask for a new login: the page goes there at once.
	Resume string
	// Remembered is the user this device remembers, greeted in the second
	// stage; Name pre-fills the first stage (the application's login_hint,
	// which wins over the remembered user: the application asked for that
	// account).
	Remembered, Name string
}

// OpenLogin finds what /login shows first, for an application's sign-in
// when authorize is not "". When the application asked for a new login
// (FreshLogin) a session is not even looked at: the page asks for a
// passkey.
func (f Flows) OpenLogin(ctx context.Context, authorize string) LoginOpening {
	var o LoginOpening
	if authorize != "" {
		info, err := f.Authorization(ctx, authorize)
		switch {
		case err != nil:
			o.AppErr = err
		case !info.FreshLogin && f.loggedIn(ctx):
			o.Resume = ResumeURL(authorize)
			return o
		default:
			o.App = info
			if info.LoginHint != "" {
				o.Name = info.LoginHint
				return o
			}
		}
	}
	if name, err := f.Remembered(ctx); err == nil {
		o.Remembered = name
	}
	return o
}

func (f Flows) loggedIn(ctx context.Context) bool {
	_, err := f.API.Me(ctx)
	return err == nil
}

// ConsentQuestion is what /consent asks.
type ConsentQuestion struct {
	App shared.AuthorizationInfo
	// Username is who is logged in, and so whom the application would get.
	Username string
	// Lines are what the application receives (ScopeLines).
	Lines []string
}

// OpenConsent reads the sign-in /consent asks about and who is logged in;
// nobody logged in is ErrLoginNeeded.
func (f Flows) OpenConsent(ctx context.Context, authorize string) (*ConsentQuestion, error) {
	info, err := f.Authorization(ctx, authorize)
	if err != nil {
		return nil, err
	}
	me, err := f.API.Me(ctx)
	switch {
	case client.Code(err) == shared.CodeUnauthenticated:
		return nil, ErrLoginNeeded
	case err != nil:
		return nil, err
	}
	return &ConsentQuestion{App: *info, Username: me.User.Username, Lines: ScopeLines(info.Scopes)}, nil
}

// Consent sends the person's answer and returns where the sign-in
// continues (to the application, with a code or with access_denied).
func (f Flows) Consent(ctx context.Context, authorize string, allow bool) (string, error) {
	r, err := f.API.Consent(ctx, authorize, shared.ConsentRequest{Allow: allow})
	switch {
	case client.Code(err) == shared.CodeUnauthenticated:
		return "", ErrLoginNeeded
	case err != nil:
		return "", signinProblem(err)
	}
	return continueURL(r.Continue)
}

// LogoutQuestion is what /logout shows.
type LogoutQuestion struct {
	LoggedIn bool
	// Request is the application's logout request, "" for none or for one
	// Latchkey does not know (then logging out just logs out); App names
	// the application that asked, when it said.
	Request, App string
}

// OpenLogout reads an application's logout request (request may be "")
// and whether anyone is logged in.
func (f Flows) OpenLogout(ctx context.Context, request string) (*LogoutQuestion, error) {
	q := &LogoutQuestion{}
	if request != "" {
		info, err := f.API.LogoutRequest(ctx, request)
		switch {
		case err == nil:
			q.Request, q.App = request, info.App
		case client.Code(err) != shared.CodeNotFound:
			return nil, err
		}
	}
	_, err := f.API.Me(ctx)
	switch {
	case err == nil:
		q.LoggedIn = true
	case client.Code(err) != shared.CodeUnauthenticated:
		return nil, err
	}
	return q, nil
}

// ConfirmLogout ends this session and returns where an application's
// logout request finishes, "" when there is none.
func (f Flows) ConfirmLogout(ctx context.Context, request string) (string, error) {
	if err := f.API.Logout(ctx); err != nil {
		return "", err
	}
	if request == "" {
		return "", nil
	}
	return LogoutDoneURL(request), nil
}

// RemoveApp forgets the account's consent to an application and revokes
// its access; an application already gone is no failure.
func (a Account) RemoveApp(ctx context.Context, appID string) error {
	return a.withRecentAuth(ctx, func() error {
		if err := a.API.RemoveApp(ctx, appID); err != nil && client.Code(err) != shared.CodeNotFound {
			return err
		}
		return nil
	})
}
