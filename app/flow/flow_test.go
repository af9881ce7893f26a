package flow_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
)

// fakeAPI answers what a test scripts and records the calls in order. The
// embedded interface is nil: a flow calling anything unscripted panics.
type fakeAPI struct {
	flow.API
	mu    sync.Mutex
	calls []string

	loginBegin    func(shared.LoginBeginRequest) (*shared.CeremonyResponse, error)
	loginFinish   func(shared.LoginFinishRequest) (*shared.UserResponse, error)
	signupFinish  func(shared.SignupFinishRequest) (*shared.UserResponse, error)
	passkeyBegin  func() (*shared.CeremonyResponse, error)
	deletePasskey func(id string) error
	endSession    func(id string) error
	me            func() (*shared.UserResponse, error)
	emailVerify   func() (*shared.UserResponse, error)
	// Applications' sign-ins (apps_test.go).
	authorization func(id string) (*shared.AuthorizationInfo, error)
	consent       func(id string, allow bool) (*shared.ContinueResponse, error)
	logoutRequest func(id string) (*shared.LogoutInfo, error)
	logout        func() error
	apps          func() (*shared.AppsResponse, error)
	removeApp     func(id string) error
	remembered    func() (*shared.RememberedResponse, error)
}

func (f *fakeAPI) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeAPI) SignupBegin(ctx context.Context, r shared.SignupBeginRequest) (*shared.CeremonyResponse, error) {
	f.record("SignupBegin " + r.Username)
	return &shared.CeremonyResponse{Ceremony: "c1", Options: []byte(`{"create":1}`)}, nil
}

func (f *fakeAPI) SignupFinish(ctx context.Context, r shared.SignupFinishRequest) (*shared.UserResponse, error) {
	f.record("SignupFinish " + r.Ceremony + " " + string(r.Credential))
	if f.signupFinish != nil {
		return f.signupFinish(r)
	}
	return &shared.UserResponse{User: shared.User{Username: "alice"}, Method: shared.MethodPasskey}, nil
}

func (f *fakeAPI) LoginBegin(ctx context.Context, r shared.LoginBeginRequest) (*shared.CeremonyResponse, error) {
	f.record("LoginBegin " + r.UsernameOrEmail)
	if f.loginBegin != nil {
		return f.loginBegin(r)
	}
	return &shared.CeremonyResponse{Ceremony: "login", Username: r.UsernameOrEmail, Options: []byte(`{"get":1}`)}, nil
}

func (f *fakeAPI) LoginFinish(ctx context.Context, r shared.LoginFinishRequest) (*shared.UserResponse, error) {
	f.record("LoginFinish " + r.Ceremony)
	if f.loginFinish != nil {
		return f.loginFinish(r)
	}
	return &shared.UserResponse{User: shared.User{Username: "alice"}, Method: shared.MethodPasskey}, nil
}

func (f *fakeAPI) EmailLoginLink(ctx context.Context, r shared.EmailLoginRequest) (*shared.EmailLoginResponse, error) {
	if r.Authorize != "" {
		f.record("EmailLoginLink " + r.UsernameOrEmail + " for " + r.Authorize)
	} else {
		f.record("EmailLoginLink " + r.UsernameOrEmail)
	}
	return &shared.EmailLoginResponse{ExpiresInSeconds: 420}, nil
}

func (f *fakeAPI) EmailLinkAccount(ctx context.Context, r shared.EmailVerifyRequest) (*shared.EmailLinkResponse, error) {
	f.record("EmailLinkAccount " + r.Token)
	return &shared.EmailLinkResponse{Username: "alice"}, nil
}

func (f *fakeAPI) EmailVerify(ctx context.Context, r shared.EmailVerifyRequest) (*shared.UserResponse, error) {
	f.record("EmailVerify " + r.Token)
	return f.emailVerify()
}

func (f *fakeAPI) Me(ctx context.Context) (*shared.UserResponse, error) {
	f.record("Me")
	return f.me()
}

func (f *fakeAPI) Passkeys(ctx context.Context) (*shared.PasskeysResponse, error) {
	f.record("Passkeys")
	return &shared.PasskeysResponse{Passkeys: []shared.Passkey{{ID: "p1", Name: "Laptop"}}}, nil
}

func (f *fakeAPI) PasskeyBegin(ctx context.Context) (*shared.CeremonyResponse, error) {
	f.record("PasskeyBegin")
	return f.passkeyBegin()
}

func (f *fakeAPI) PasskeyFinish(ctx context.Context, r shared.PasskeyFinishRequest) (*shared.PasskeyResponse, error) {
	f.record("PasskeyFinish " + r.Ceremony)
	return &shared.PasskeyResponse{Passkey: shared.Passkey{ID: "p2", Name: "Phone"}}, nil
}

func (f *fakeAPI) RenamePasskey(ctx context.Context, id, name string) (*shared.PasskeyResponse, error) {
	f.record("RenamePasskey " + id + " " + name)
	return &shared.PasskeyResponse{}, nil
}

func (f *fakeAPI) DeletePasskey(ctx context.Context, id string) error {
	f.record("DeletePasskey " + id)
	return f.deletePasskey(id)
}

func (f *fakeAPI) EndSession(ctx context.Context, id string) error {
	f.record("EndSession " + id)
	return f.endSession(id)
}

// fakeCreds is the passkey prompt: it records each prompt and answers
// with err, or a credential naming the prompt.
type fakeCreds struct {
	api         *fakeAPI // prompts go into the same log as the requests
	supported   bool
	conditional bool
	err         error
}

func (c *fakeCreds) Supported() bool { return c.supported }

func (c *fakeCreds) ConditionalMediationAvailable(context.Context) bool { return c.conditional }

func (c *fakeCreds) Create(ctx context.Context, options []byte) ([]byte, error) {
	c.api.record("Create " + string(options))
	if c.err != nil {
		return nil, c.err
	}
	return []byte(`"made"`), ctx.Err()
}

func (c *fakeCreds) Get(ctx context.Context, options []byte, conditional bool) ([]byte, error) {
	if conditional {
		c.api.record("Get(conditional) " + string(options))
	} else {
		c.api.record("Get " + string(options))
	}
	if c.err != nil {
		return nil, c.err
	}
	return []byte(`"used"`), ctx.Err()
}

func setup() (flow.Flows, *fakeAPI, *fakeCreds) {
	api := &fakeAPI{}
	creds := &fakeCreds{api: api, supported: true, conditional: true}
	return flow.Flows{API: api, Creds: creds}, api, creds
}

func wantCalls(t *testing.T, api *fakeAPI, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(api.calls, want) {
		t.Errorf("calls:\n got %q\nwant %q", api.calls, want)
	}
}

// steps collects what a flow reports.
type steps []string

func (s *steps) step(p string) { *s = append(*s, p) }

var errReauth = &shared.APIError{Code: shared.CodeReauthRequired, Message: "Confirm it's you."}

func TestSignupRunsTheCeremonyAndSaysEachStep(t *testing.T) {
	f, api, _ := setup()
	var got steps
	done, err := f.Signup(context.Background(), shared.SignupBeginRequest{Username: "alice"}, got.step)
	if err != nil || done.User.Username != "alice" {
		t.Fatalf("%+v, %v", done, err)
	}
	wantCalls(t, api, "SignupBegin alice", `Create {"create":1}`, `SignupFinish c1 "made"`)
	if want := (steps{"Follow your browser's prompt to create your passkey…", "Creating your account…"}); !reflect.DeepEqual(got, want) {
		t.Errorf("steps %q", got)
	}
}

func TestSignupStopsWhenThePromptIsCancelled(t *testing.T) {
	f, api, creds := setup()
	creds.err = credentials.ErrCancelled
	_, err := f.Signup(context.Background(), shared.SignupBeginRequest{Username: "alice"}, nil)
	if !errors.Is(err, credentials.ErrCancelled) || !strings.Contains(flow.Message(err), "cancelled") {
		t.Errorf("%v: %q", err, flow.Message(err))
	}
	wantCalls(t, api, "SignupBegin alice", `Create {"create":1}`)
}

func TestLeavingThePageCancelsTheCeremony(t *testing.T) {
	f, api, _ := setup()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Signup(ctx, shared.SignupBeginRequest{Username: "alice"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
	wantCalls(t, api, "SignupBegin alice", `Create {"create":1}`)
}

func TestIdentifyNeedsAName(t *testing.T) {
	f, api, _ := setup()
	_, err := f.Identify(context.Background(), "   ")
	if flow.Message(err) != "Enter your username or email address." {
		t.Errorf("%v", err)
	}
	wantCalls(t, api)
	if _, err := f.Identify(context.Background(), "  alice "); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, api, "LoginBegin alice")
}

func TestDeviceLoginUsesThePendingCeremonyOnce(t *testing.T) {
	f, api, _ := setup()
	pending := &shared.CeremonyResponse{Ceremony: "pending", Options: []byte(`{"p":1}`)}
	if _, err := f.Login(context.Background(), "alice", pending); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Login(context.Background(), "alice", nil); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, api, `Get {"p":1}`, "LoginFinish pending", "LoginBegin alice", `Get {"get":1}`, "LoginFinish login")
}

func TestLoginFailuresPointToTheEmailLink(t *testing.T) {
	f, api, creds := setup()
	creds.err = credentials.ErrCancelled
	_, err := f.Discoverable(context.Background())
	if !strings.Contains(flow.Message(err), "use an email login link") || !errors.Is(err, credentials.ErrCancelled) {
		t.Errorf("cancelled: %q", flow.Message(err))
	}
	creds.err = nil
	api.loginFinish = func(shared.LoginFinishRequest) (*shared.UserResponse, error) {
		return nil, &shared.APIError{Code: shared.CodeCredentialRejected, Message: "Rejected."}
	}
	_, err = f.Login(context.Background(), "alice", nil)
	if flow.Message(err) != "That passkey could not be verified. Please try again." {
		t.Errorf("rejected: %q", flow.Message(err))
	}
	wantCalls(t, api, "LoginBegin ", `Get {"get":1}`, "LoginBegin alice", `Get {"get":1}`, "LoginFinish login")
}

// While a store is down the server answers unavailable with the sentence
// to show (server/auth.StoreUnavailable); no flow rewords it, not even the
// login's, which points other failures to the email link.
func TestAStoreOutageIsShownAsTheServerWordsIt(t *testing.T) {
	const down = "Latchkey can't reach its database; try again in a moment."
	outage := &shared.APIError{Code: shared.CodeUnavailable, Message: down, Status: 503}
	f, api, _ := setup()
	api.loginFinish = func(shared.LoginFinishRequest) (*shared.UserResponse, error) { return nil, outage }
	api.signupFinish = func(shared.SignupFinishRequest) (*shared.UserResponse, error) { return nil, outage }
	if _, err := f.Login(context.Background(), "alice", nil); flow.Message(err) != down {
		t.Errorf("login: %q", flow.Message(err))
	}
	if _, err := f.Discoverable(context.Background()); flow.Message(err) != down {
		t.Errorf("discoverable login: %q", flow.Message(err))
	}
	if _, err := f.Signup(context.Background(), shared.SignupBeginRequest{Username: "alice", Email: "a@example.com"}, nil); flow.Message(err) != down {
		t.Errorf("sign-up: %q", flow.Message(err))
	}
}

func TestAutofillLogsInOnlyWithAPickedPasskey(t *testing.T) {
	f, api, creds := setup()
	creds.conditional = false
	if _, err := f.Autofill(context.Background(), nil); !errors.Is(err, flow.ErrNoAutofill) {
		t.Errorf("no conditional mediation: %v", err)
	}
	wantCalls(t, api)

	creds.conditional, creds.err = true, credentials.ErrCancelled
	if _, err := f.Autofill(context.Background(), nil); !errors.Is(err, flow.ErrNoAutofill) {
		t.Errorf("withdrawn: %v", err)
	}
	creds.err = nil
	var got steps
	done, err := f.Autofill(context.Background(), got.step)
	if err != nil || done == nil || !reflect.DeepEqual(got, steps{"Logging you in…"}) {
		t.Errorf("%+v, %v, %q", done, err, got)
	}
	wantCalls(t, api, "LoginBegin ", `Get(conditional) {"get":1}`, "LoginBegin ", `Get(conditional) {"get":1}`, "LoginFinish login")
}

func TestTheLinkNoticeNamesTheLifetimeTheServerAnswers(t *testing.T) {
	f, api, _ := setup()
	notice, err := f.EmailLink(context.Background(), "alice", "")
	if err != nil || notice != "Check your email: we sent a login link that works once, for 7 minutes. Open it on this device." {
		t.Errorf("%q, %v", notice, err)
	}
	// During an application's sign-in the link carries it along.
	if _, err := f.EmailLink(context.Background(), "alice", "az1"); err != nil {
		t.Error(err)
	}
	wantCalls(t, api, "EmailLoginLink alice", "EmailLoginLink alice for az1")
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15 minutes", time.Minute: "1 minute", time.Hour: "1 hour", 2 * time.Hour: "2 hours",
		90 * time.Second: "90 seconds", 0: "a short time",
	} {
		if got := flow.Lifetime(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestReadingALinkNamesBothAccounts(t *testing.T) {
	f, api, _ := setup()
	api.me = func() (*shared.UserResponse, error) {
		return &shared.UserResponse{User: shared.User{Username: "bob"}}, nil
	}
	a, err := f.ReadLink(context.Background(), "tok")
	if err != nil || *a != (flow.LinkAccount{Username: "alice", Current: "bob"}) {
		t.Errorf("%+v, %v", a, err)
	}
	api.me = func() (*shared.UserResponse, error) { return nil, &shared.APIError{Code: shared.CodeUnauthenticated} }
	if a, err = f.ReadLink(context.Background(), "tok"); err != nil || a.Current != "" {
		t.Errorf("%+v, %v", a, err)
	}
	wantCalls(t, api, "EmailLinkAccount tok", "Me", "EmailLinkAccount tok", "Me")
}

func TestRedeemingALinkThatProvesTheAddressListsThePasskeys(t *testing.T) {
	f, api, _ := setup()
	api.emailVerify = func() (*shared.UserResponse, error) {
		return &shared.UserResponse{User: shared.User{Username: "alice"}, Method: shared.MethodEmail, ConfirmOwner: true}, nil
	}
	r, err := f.RedeemLink(context.Background(), "tok")
	if err != nil || len(r.Passkeys) != 1 || r.Session.Method != shared.MethodEmail {
		t.Errorf("%+v, %v", r, err)
	}
	api.emailVerify = func() (*shared.UserResponse, error) { return &shared.UserResponse{}, nil }
	if r, err = f.RedeemLink(context.Background(), "tok"); err != nil || r.Passkeys != nil {
		t.Errorf("%+v, %v", r, err)
	}
	wantCalls(t, api, "EmailVerify tok", "Passkeys", "EmailVerify tok")
}

func TestReauthPromptsForAPasskeyThenRetries(t *testing.T) {
	f, api, _ := setup()
	var got steps
	var reauthed *shared.UserResponse
	a := flow.Account{Flows: f, Username: "alice", Method: shared.MethodEmail, Step: got.step,
		Reauthed: func(r *shared.UserResponse) { reauthed = r }}
	tries := 0
	api.deletePasskey = func(string) error {
		if tries++; tries == 1 {
			return errReauth
		}
		return nil
	}
	if err := a.DeletePasskey(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, api, "DeletePasskey p1", "LoginBegin alice", `Get {"get":1}`, "LoginFinish login", "DeletePasskey p1")
	if reauthed == nil || len(got) != 1 || !strings.Contains(got[0], "a passkey you already had") {
		t.Errorf("reauthed %+v, steps %q", reauthed, got)
	}

	// A passkey session hears the plain prompt; a cancelled prompt ends
	// the action without running it again.
	_, api, creds := setup()
	creds.err = credentials.ErrCancelled
	api.deletePasskey = func(string) error { return errReauth }
	got = nil
	a = flow.Account{Flows: flow.Flows{API: api, Creds: creds}, Username: "alice", Method: shared.MethodPasskey, Step: got.step}
	if err := a.DeletePasskey(context.Background(), "p1"); !errors.Is(err, credentials.ErrCancelled) {
		t.Errorf("got %v", err)
	}
	wantCalls(t, api, "DeletePasskey p1", "LoginBegin alice", `Get {"get":1}`)
	if !reflect.DeepEqual(got, steps{"For your security, confirm it's you with your passkey…"}) {
		t.Errorf("steps %q", got)
	}
}

func TestAddPasskeyAfterReauth(t *testing.T) {
	f, api, _ := setup()
	tries := 0
	api.passkeyBegin = func() (*shared.CeremonyResponse, error) {
		if tries++; tries == 1 {
			return nil, errReauth
		}
		return &shared.CeremonyResponse{Ceremony: "add", Options: []byte(`{"add":1}`)}, nil
	}
	added, err := flow.Account{Flows: f, Username: "alice"}.AddPasskey(context.Background())
	if err != nil || added.Name != "Phone" {
		t.Fatalf("%+v, %v", added, err)
	}
	wantCalls(t, api, "PasskeyBegin", "LoginBegin alice", `Get {"get":1}`, "LoginFinish login", "PasskeyBegin", `Create {"add":1}`, "PasskeyFinish add")
}

func TestEndingSessionsThatAreAlreadyGoneIsNoFailure(t *testing.T) {
	f, api, _ := setup()
	api.endSession = func(id string) error {
		if id == "gone" {
			return &shared.APIError{Code: shared.CodeNotFound}
		}
		return nil
	}
	a := flow.Account{Flows: f, Username: "alice"}
	if err := a.EndSessions(context.Background(), []string{"gone", "s2"}); err != nil {
		t.Error(err)
	}
	if err := a.RenamePasskey(context.Background(), "p1", "  Work  "); err != nil {
		t.Error(err)
	}
	wantCalls(t, api, "EndSession gone", "EndSession s2", "RenamePasskey p1 Work")
}

// A check of /api/me that began before the page logged in must not undo
// the login when its answer comes late (the sessionGen of old).
func TestALateSessionCheckDoesNotUndoALogin(t *testing.T) {
	var s flow.Session
	s.Status = flow.Loading
	gen := s.Gen // the check begins
	s = s.Started(&shared.UserResponse{User: shared.User{Username: "alice"}, Method: shared.MethodEmail})
	if next, ok := s.Checked(gen, nil, &shared.APIError{Code: shared.CodeUnauthenticated}); ok || !next.LoggedIn() {
		t.Errorf("a stale answer landed: %+v", next)
	}
	next, ok := s.Checked(s.Gen, nil, &shared.APIError{Code: shared.CodeUnauthenticated})
	if !ok || next.LoggedIn() || next.Status != flow.Loaded || next.Gen != s.Gen {
		t.Errorf("a fresh answer: %+v %v", next, ok)
	}
	if next, _ := s.Checked(s.Gen, nil, errors.New("down")); next.Status != flow.LoadFailed {
		t.Errorf("a failed check: %+v", next)
	}
	if e := s.Ended(); e.LoggedIn() || e.Gen != s.Gen+1 {
		t.Errorf("ended: %+v", e)
	}
	if m := s.WithMethod(shared.MethodPasskey); m.Method != shared.MethodPasskey || m.Gen != s.Gen+1 || !m.LoggedIn() {
		t.Errorf("with method: %+v", m)
	}
}
