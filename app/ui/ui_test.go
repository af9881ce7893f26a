package ui

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func TestSafeNextOnlyFollowsPathsOnThisSite(t *testing.T) {
	for raw, want := range map[string]string{
		"/login":                          "/account",
		"/login?next=/account":            "/account",
		"/login?next=%2Faccount%3Fx%3D1":  "/account?x=1",
		"/login?next=https://evil.test/":  "/account",
		"/login?next=//evil.test/":        "/account",
		"/login?next=/%5Cevil.test":       "/account",
		"/login?next=javascript:alert(1)": "/account",
		"/login?next=account":             "/account",
		"/login?next=/signup":             "/signup",
	} {
		u, _ := url.Parse(raw)
		if got := safeNext(u); got != want {
			t.Errorf("%s: got %q, want %q", raw, got, want)
		}
	}
}

func TestTokenFromFragment(t *testing.T) {
	for hash, want := range map[string]string{
		"#token=abc_-123":  "abc_-123",
		"#x=1&token=t%2Bk": "t+k",
		"":                 "",
		"#nothing":         "",
		"#token=a;b=%zz":   "",
	} {
		if got := tokenFromFragment(hash); got != want {
			t.Errorf("%q: got %q, want %q", hash, got, want)
		}
	}
}

func TestTaskErrorsGoBesideTheFieldTheServerNames(t *testing.T) {
	var f flow.Task
	f.Err = &shared.APIError{Code: shared.CodeUsernameTaken, Field: "username", Message: "That username is taken."}
	if f.FieldMessage("username") != "That username is taken." || f.FieldMessage("email") != "" || f.FormMessage() != "" {
		t.Errorf("%+v", f)
	}
	f.Err = &shared.APIError{Code: shared.CodeRateLimited, Message: "Too many attempts."}
	if f.FieldMessage("username") != "" || f.FormMessage() != "Too many attempts." {
		t.Errorf("%+v", f)
	}
	f.Err = credentials.ErrCancelled
	if f.FormMessage() == "" || f.FormMessage() == flow.Message(errors.New("x")) {
		t.Errorf("a cancelled prompt needs its own message, got %q", f.FormMessage())
	}
}

// render mounts a component in a test engine and returns its HTML.
func render(t *testing.T, c app.Composer) string {
	t.Helper()
	e := app.NewTestEngine()
	if err := e.Load(c); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	return app.HTMLString(c)
}

func TestLoginStagesShowWhatTheProductSays(t *testing.T) {
	first := render(t, &login{stage: stageIdentify})
	for _, want := range []string{"Enter your username or email address to start logging in.", "Username or Email", "Start Login", `autocomplete="username webauthn"`, "Sign in with a passkey"} {
		if !strings.Contains(first, want) {
			t.Errorf("first stage lacks %q", want)
		}
	}
	hello := render(t, &login{stage: stageHello, username: "alice"})
	for _, want := range []string{"Hello, alice", "Device Login", "Email me a login link", "Switch User", "new device"} {
		if !strings.Contains(hello, want) {
			t.Errorf("second stage lacks %q", want)
		}
	}
	if strings.Contains(hello, "Start Login") {
		t.Error("the second stage still shows the first stage's button")
	}
}

func TestSignupShowsFieldErrorsBesideTheirFields(t *testing.T) {
	p := &signup{}
	p.task.Err = &shared.APIError{Code: shared.CodeEmailTaken, Field: "email", Message: "An account with that email address already exists."}
	html := render(t, p)
	if !strings.Contains(html, `id="email-error"`) || !strings.Contains(html, "already exists") || strings.Contains(html, `id="username-error"`) {
		t.Errorf("field error not beside the email field:\n%s", html)
	}
}

func TestInputsDeclareTheLimitsTheServerChecks(t *testing.T) {
	html := render(t, &signup{})
	for id, max := range map[string]int{"username": shared.UsernameMaxLen, "display_name": shared.DisplayNameMaxLen} {
		input := regexp.MustCompile(`<input[^>]* id="` + id + `"[^>]*>`).FindString(html)
		if !strings.Contains(input, ` maxlength="`+strconv.Itoa(max)+`"`) {
			t.Errorf("%s: want maxlength %d in %s", id, max, input)
		}
	}
	if hint := fmt.Sprintf("%d–%d letters", shared.UsernameMinLen, shared.UsernameMaxLen); !strings.Contains(html, hint) {
		t.Errorf("sign-up form lacks %q", hint)
	}
}

// wantAll checks html holds each of want, with runs of white space (the
// test engine indents its HTML) read as one space.
func wantAll(t *testing.T, what, html string, want ...string) {
	t.Helper()
	html = regexp.MustCompile(`\s+`).ReplaceAllString(html, " ")
	for _, w := range want {
		if !strings.Contains(html, w) {
			t.Errorf("%s lacks %s", what, w)
		}
	}
}

func TestLoginForAnApplicationNamesIt(t *testing.T) {
	html := render(t, &login{stage: stageIdentify, authorize: "a/b c", appName: "Grafana"})
	wantAll(t, "the first stage", html,
		`Log in to continue to <span id="login-app">Grafana</span>`,
		`href="/signup?authorize=a%2Fb+c"`, "Start Login")
	html = render(t, &login{stage: stageHello, username: "alice", authorize: "az", appName: "Grafana"})
	wantAll(t, "the second stage", html, `id="login-app"`, "Hello, alice", "Device Login")

	// An expired sign-in says so, and the login goes on as usual.
	html = render(t, &login{stage: stageIdentify, appErr: &flow.Problem{Msg: "This sign-in has expired."}})
	wantAll(t, "an expired sign-in", html, `id="login-app-error"`, "This sign-in has expired.", `href="/signup"`, "Start Login")
	if strings.Contains(html, `id="login-app"`) {
		t.Error("an expired sign-in still names an application")
	}
}

func TestSignupForAnApplicationComesBackToIt(t *testing.T) {
	html := render(t, &signup{authorize: "az", appName: "Grafana"})
	wantAll(t, "sign-up", html, "Create your account to continue to Grafana", `href="/login?authorize=az"`)
	if html := render(t, &signup{}); !strings.Contains(html, `href="/login"`) {
		t.Error("a plain sign-up links to a login with an application's sign-in")
	}
}

func TestConsentNamesTheApplicationAndWhatItReceives(t *testing.T) {
	q := &flow.ConsentQuestion{App: shared.AuthorizationInfo{App: "Grafana"}, Username: "alice",
		Lines: flow.ScopeLines([]string{shared.ScopeOpenID, shared.ScopeEmail, shared.ScopeProfile})}
	html := render(t, &consent{status: flow.Loaded, q: q})
	wantAll(t, "consent", html, `<span id="consent-app">Grafana</span> wants to sign you in`, "logged in to Latchkey as alice",
		`id="consent-allow"`, `id="consent-deny"`)
	if !regexp.MustCompile(`<ul[^>]*id="consent-scopes"[^>]*>\s*<li>\s*Your username and display name\s*</li>\s*<li>\s*Your email address\s*</li>\s*</ul>`).MatchString(html) {
		t.Errorf("the scopes are not one line each, in order:\n%s", html)
	}
	// Allow is the primary button.
	allow := regexp.MustCompile(`<button[^>]*id="consent-allow"[^>]*>`).FindString(html)
	deny := regexp.MustCompile(`<button[^>]*id="consent-deny"[^>]*>`).FindString(html)
	if !strings.Contains(allow, `class="button"`) || !strings.Contains(deny, "button-secondary") {
		t.Errorf("allow %s, deny %s", allow, deny)
	}

	q.Lines = nil
	html = render(t, &consent{status: flow.Loaded, q: q})
	wantAll(t, "consent for openid alone", html, "receives only an identifier")
	if strings.Contains(html, `id="consent-scopes"`) {
		t.Error("an empty list of scopes is shown")
	}

	p := &consent{status: flow.LoadFailed}
	p.task.Err = &flow.Problem{Msg: "This sign-in has expired. Go back to the application and start again."}
	html = render(t, p)
	wantAll(t, "an expired consent", html, `id="consent-error"`, "start again")
	if strings.Contains(html, `id="consent-allow"`) {
		t.Error("an expired sign-in offers Allow")
	}
}

func TestLogoutAsksThenSaysSo(t *testing.T) {
	html := render(t, &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{LoggedIn: true, Request: "r", App: "Grafana"}})
	wantAll(t, "the question", html, "Log out of Latchkey?", "Grafana asked to log you out.", `id="logout-confirm"`, `id="logout-stay"`, "Stay logged in")
	html = render(t, &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{LoggedIn: true}})
	if strings.Contains(html, "asked to log you out") {
		t.Error("no application asked, yet the page says one did")
	}
	html = render(t, &logoutPage{status: flow.Loaded})
	wantAll(t, "logged out", html, "You are logged out of Latchkey.", `href="/login"`)
	if strings.Contains(html, `id="logout-confirm"`) || strings.Contains(html, `id="logout-return"`) {
		t.Error("a logged-out page offers to log out, or to go back to no application")
	}
	// Logged out elsewhere while an application waits: it can be finished.
	html = render(t, &logoutPage{status: flow.Loaded, q: flow.LogoutQuestion{Request: "r", App: "Grafana"}})
	wantAll(t, "logged out with a request", html, "You are logged out of Latchkey.", `id="logout-return"`, "Back to Grafana")
}

func TestAccountListsTheAppsAllowed(t *testing.T) {
	u := shared.User{Username: "alice"}
	p := &account{session: flow.Session{Status: flow.Loaded, User: &u}, keysStatus: flow.Loaded,
		apps: []shared.App{{ID: "grafana", Name: "Grafana", Scopes: []string{shared.ScopeOpenID, shared.ScopeOfflineAccess, shared.ScopeProfile}}}}
	html := render(t, p)
	wantAll(t, "the apps", html, "Grafana", "Allowed since", "Your username and display name · Stay signed in", `id="app-remove-grafana"`, "Remove access")
	p = &account{session: flow.Session{Status: flow.Loaded, User: &u}, keysStatus: flow.Loaded}
	html = render(t, p)
	wantAll(t, "no apps", html, `id="apps-none"`)
}
