package flow_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
)

func (f *fakeAPI) Authorization(ctx context.Context, id string) (*shared.AuthorizationInfo, error) {
	f.record("Authorization " + id)
	return f.authorization(id)
}

func (f *fakeAPI) Consent(ctx context.Context, id string, r shared.ConsentRequest) (*shared.ContinueResponse, error) {
	f.record("Consent " + id + " allow=" + strconv.FormatBool(r.Allow))
	return f.consent(id, r.Allow)
}

func (f *fakeAPI) LogoutRequest(ctx context.Context, id string) (*shared.LogoutInfo, error) {
	f.record("LogoutRequest " + id)
	return f.logoutRequest(id)
}

func (f *fakeAPI) Logout(ctx context.Context) error {
	f.record("Logout")
	if f.logout != nil {
		return f.logout()
	}
	return nil
}

func (f *fakeAPI) Apps(ctx context.Context) (*shared.AppsResponse, error) {
	f.record("Apps")
	return f.apps()
}

func (f *fakeAPI) RemoveApp(ctx context.Context, id string) error {
	f.record("RemoveApp " + id)
	return f.removeApp(id)
}

func (f *fakeAPI) Remembered(ctx context.Context) (*shared.RememberedResponse, error) {
	f.record("Remembered")
	if f.remembered != nil {
		return f.remembered()
	}
	return nil, &shared.APIError{Code: shared.CodeNotRemembered}
}

func (f *fakeAPI) Sessions(ctx context.Context) (*shared.SessionsResponse, error) {
	f.record("Sessions")
	return &shared.SessionsResponse{}, nil
}

var (
	errNotFound = &shared.APIError{Code: shared.CodeNotFound, Message: "Not found."}
	errUnauth   = &shared.APIError{Code: shared.CodeUnauthenticated, Message: "Log in first."}
	expired     = "This sign-in has expired. Go back to the application and start again."
)

func loggedIn() (*shared.UserResponse, error) {
	return &shared.UserResponse{User: shared.User{Username: "alice"}, Method: shared.MethodPasskey}, nil
}

func loggedOut() (*shared.UserResponse, error) { return nil, errUnauth }

func grafana(info shared.AuthorizationInfo) func(string) (*shared.AuthorizationInfo, error) {
	return func(id string) (*shared.AuthorizationInfo, error) {
		if id != "a/b&c" {
			return nil, errNotFound
		}
		info.App = "Grafana"
		return &info, nil
	}
}

func TestLoginForAnApplicationResumesASessionUnlessItAsksForANewLogin(t *testing.T) {
	f, api, _ := setup()
	api.me = loggedIn
	api.authorization = grafana(shared.AuthorizationInfo{})
	o := f.OpenLogin(context.Background(), "a/b&c")
	if o.Resume != "/oauth2/resume?id=a%2Fb%26c" || o.App != nil {
		t.Errorf("a session: %+v", o)
	}
	wantCalls(t, api, "Authorization a/b&c", "Me")

	// prompt=login or max_age: the session is not even looked at, and the
	// remembered user is asked for a passkey.
	f, api, _ = setup()
	api.me = loggedIn
	api.authorization = grafana(shared.AuthorizationInfo{FreshLogin: true})
	api.remembered = func() (*shared.RememberedResponse, error) { return &shared.RememberedResponse{Username: "alice"}, nil }
	o = f.OpenLogin(context.Background(), "a/b&c")
	if o.Resume != "" || o.App == nil || o.App.App != "Grafana" || o.Remembered != "alice" {
		t.Errorf("a fresh login: %+v", o)
	}
	wantCalls(t, api, "Authorization a/b&c", "Remembered")
}

func TestLoginForAnApplicationPrefillsItsHint(t *testing.T) {
	f, api, _ := setup()
	api.me = loggedOut
	api.authorization = grafana(shared.AuthorizationInfo{LoginHint: "bob@example.com"})
	o := f.OpenLogin(context.Background(), "a/b&c")
	if o.Name != "bob@example.com" || o.Remembered != "" || o.App == nil || o.Resume != "" {
		t.Errorf("%+v", o)
	}
	// The hint wins over the remembered user: the application asked for
	// that account.
	wantCalls(t, api, "Authorization a/b&c", "Me")
}

func TestAnExpiredSignInSaysSoAndLogsInAsUsual(t *testing.T) {
	f, api, _ := setup()
	api.authorization = grafana(shared.AuthorizationInfo{})
	api.remembered = func() (*shared.RememberedResponse, error) { return &shared.RememberedResponse{Username: "alice"}, nil }
	o := f.OpenLogin(context.Background(), "gone")
	if o.App != nil || flow.Message(o.AppErr) != expired || o.Remembered != "alice" || o.Resume != "" {
		t.Errorf("%+v (%q)", o, flow.Message(o.AppErr))
	}
	wantCalls(t, api, "Authorization gone", "Remembered")

	// Without an application: the remembered user only.
	f, api, _ = setup()
	if o := f.OpenLogin(context.Background(), ""); o != (flow.LoginOpening{}) {
		t.Errorf("%+v", o)
	}
	wantCalls(t, api, "Remembered")
}

func TestConsentNamesWhatTheApplicationReceives(t *testing.T) {
	f, api, _ := setup()
	api.me = loggedIn
	api.authorization = grafana(shared.AuthorizationInfo{Scopes: []string{shared.ScopeOfflineAccess, "unknown", shared.ScopeEmail, shared.ScopeOpenID, shared.ScopeProfile}})
	q, err := f.OpenConsent(context.Background(), "a/b&c")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Your username and display name", "Your email address", "Stay signed in: access while you are away"}
	if q.App.App != "Grafana" || q.Username != "alice" || !reflect.DeepEqual(q.Lines, want) {
		t.Errorf("%+v", q)
	}
	if lines := flow.ScopeLines([]string{shared.ScopeOpenID}); len(lines) != 0 {
		t.Errorf("openid alone: %q", lines)
	}

	api.me = loggedOut
	if _, err := f.OpenConsent(context.Background(), "a/b&c"); !errors.Is(err, flow.ErrLoginNeeded) {
		t.Errorf("logged out: %v", err)
	}
	for _, id := range []string{"gone", ""} {
		if _, err := f.OpenConsent(context.Background(), id); flow.Message(err) != expired {
			t.Errorf("%q: %v", id, err)
		}
	}
	wantCalls(t, api, "Authorization a/b&c", "Me", "Authorization a/b&c", "Me", "Authorization gone")
}

func TestConsentAnswerContinuesWhereTheServerSays(t *testing.T) {
	f, api, _ := setup()
	next := "https://grafana.example/login/generic_oauth?code=x&state=y"
	api.consent = func(id string, allow bool) (*shared.ContinueResponse, error) {
		switch id {
		case "gone":
			return nil, errNotFound
		case "anon":
			return nil, errUnauth
		}
		return &shared.ContinueResponse{Continue: next}, nil
	}
	if got, err := f.Consent(context.Background(), "az", true); err != nil || got != next {
		t.Errorf("allow: %q, %v", got, err)
	}
	if _, err := f.Consent(context.Background(), "az", false); err != nil {
		t.Errorf("deny: %v", err)
	}
	if _, err := f.Consent(context.Background(), "gone", true); flow.Message(err) != expired {
		t.Errorf("expired: %v", err)
	}
	if _, err := f.Consent(context.Background(), "anon", true); !errors.Is(err, flow.ErrLoginNeeded) {
		t.Errorf("logged out: %v", err)
	}
	wantCalls(t, api, "Consent az allow=true", "Consent az allow=false", "Consent gone allow=true", "Consent anon allow=true")
}

// The page opens what the server names; a scheme that would run in
// Latchkey's origin never is, however it is spelt.
func TestOnlyAddressesThatLeaveSafelyAreOpened(t *testing.T) {
	for raw, ok := range map[string]bool{
		"/oauth2/resume?id=x":                 true,
		"https://app.example/cb?code=1":       true,
		"http://127.0.0.1:4711/cb?code=1":     true,
		"com.example.app:/oauth2redirect?c=1": true,
		"":                                    false,
		"javascript:alert(1)":                 false,
		"JavaScript:alert(1)":                 false,
		" javascript:alert(1)":                false,
		"java\tscript:alert(1)":               false,
		"\x01javascript:alert(1)":             false,
		"data:text/html,<script>x</script>":   false,
		"blob:https://localhost/1":            false,
		"vbscript:x":                          false,
		"//evil.example/":                     false,
		"/\\evil.example/":                    false,
		"evil.example/cb":                     false,
	} {
		f, api, _ := setup()
		api.consent = func(string, bool) (*shared.ContinueResponse, error) {
			return &shared.ContinueResponse{Continue: raw}, nil
		}
		got, err := f.Consent(context.Background(), "az", true)
		if ok && (err != nil || got != raw) || !ok && (err == nil || got != "") {
			t.Errorf("%q: got %q, %v; want opened=%v", raw, got, err, ok)
		}
	}
}

func TestALoginLinkOfAnApplicationSignInContinuesIt(t *testing.T) {
	f, api, _ := setup()
	api.emailVerify = func() (*shared.UserResponse, error) {
		return &shared.UserResponse{User: shared.User{Username: "alice"}, Continue: "/oauth2/resume?id=az"}, nil
	}
	if r, err := f.RedeemLink(context.Background(), "tok"); err != nil || r.Continue != "/oauth2/resume?id=az" {
		t.Errorf("%+v, %v", r, err)
	}
	// An address the page will not open loses the application's sign-in,
	// not the login.
	api.emailVerify = func() (*shared.UserResponse, error) {
		return &shared.UserResponse{User: shared.User{Username: "alice"}, Continue: "javascript:alert(1)"}, nil
	}
	if r, err := f.RedeemLink(context.Background(), "tok"); err != nil || r.Continue != "" || r.Session.User.Username != "alice" {
		t.Errorf("%+v, %v", r, err)
	}
}

func TestLogoutForAnApplicationNamesItAndFinishesItsRequest(t *testing.T) {
	f, api, _ := setup()
	api.me = loggedIn
	api.logoutRequest = func(id string) (*shared.LogoutInfo, error) {
		if id == "gone" {
			return nil, errNotFound
		}
		return &shared.LogoutInfo{App: "Grafana"}, nil
	}
	q, err := f.OpenLogout(context.Background(), "r 1")
	if err != nil || *q != (flow.LogoutQuestion{LoggedIn: true, Request: "r 1", App: "Grafana"}) {
		t.Errorf("%+v, %v", q, err)
	}
	// An unknown request is as if none came: logging out still works.
	q, err = f.OpenLogout(context.Background(), "gone")
	if err != nil || *q != (flow.LogoutQuestion{LoggedIn: true}) {
		t.Errorf("%+v, %v", q, err)
	}
	api.me = loggedOut
	if q, err = f.OpenLogout(context.Background(), ""); err != nil || q.LoggedIn {
		t.Errorf("%+v, %v", q, err)
	}
	api.me = func() (*shared.UserResponse, error) { return nil, client.ErrNetwork }
	if _, err = f.OpenLogout(context.Background(), ""); !errors.Is(err, client.ErrNetwork) {
		t.Errorf("offline: %v", err)
	}
	wantCalls(t, api, "LogoutRequest r 1", "Me", "LogoutRequest gone", "Me", "Me", "Me")

	f, api, _ = setup()
	if next, err := f.ConfirmLogout(context.Background(), "r 1"); err != nil || next != "/oauth2/logout/done?request=r+1" {
		t.Errorf("%q, %v", next, err)
	}
	if next, err := f.ConfirmLogout(context.Background(), ""); err != nil || next != "" {
		t.Errorf("%q, %v", next, err)
	}
	api.logout = func() error { return client.ErrNetwork }
	if next, err := f.ConfirmLogout(context.Background(), "r"); err == nil || next != "" {
		t.Errorf("a failed logout must not go on: %q, %v", next, err)
	}
	wantCalls(t, api, "Logout", "Logout", "Logout")
}

func TestAccountListsAppsAndRemovesAccess(t *testing.T) {
	f, api, _ := setup()
	api.apps = func() (*shared.AppsResponse, error) {
		return &shared.AppsResponse{Apps: []shared.App{{ID: "grafana", Name: "Grafana"}}}, nil
	}
	a := flow.Account{Flows: f, Username: "alice"}
	lists, err := a.Load(context.Background())
	if err != nil || len(lists.Apps) != 1 || lists.Apps[0].Name != "Grafana" {
		t.Fatalf("%+v, %v", lists, err)
	}
	tries := 0
	api.removeApp = func(id string) error {
		switch tries++; {
		case id == "gone":
			return errNotFound
		case tries == 1:
			return errReauth
		}
		return nil
	}
	if err := a.RemoveApp(context.Background(), "grafana"); err != nil {
		t.Error(err)
	}
	if err := a.RemoveApp(context.Background(), "gone"); err != nil {
		t.Errorf("already removed: %v", err)
	}
	wantCalls(t, api, "Passkeys", "Sessions", "Apps",
		"RemoveApp grafana", "LoginBegin alice", `Get {"get":1}`, "LoginFinish login", "RemoveApp grafana",
		"RemoveApp gone")
}
