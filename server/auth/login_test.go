package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

func (e *env) finishLogin(begin *shared.CeremonyResponse, cred json.RawMessage) error {
	_, err := e.svc.LoginFinish(context.Background(), shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
	return err
}

func TestLogin(t *testing.T) {
	behaviours := []behaviour{
		{"logs in by username or email in any case with exactly the user's passkeys", loginByName},
		{"answers No matching user found for an unknown name", loginUnknownName},
		{"refuses another user's passkey in this user's ceremony", loginOtherUsersPasskey},
		{"refuses a replayed assertion and a replayed ceremony id", loginReplay},
		{"refuses an expired ceremony", loginExpired},
		{"refuses a sign-up ceremony finished as a login", loginSignupCeremony},
		{"refuses a sign count that went backwards and records nothing", loginCountBackwards},
		{"refuses a zero sign count once the passkey has counted, and says so in the log", loginCountZeroAfterCount},
		{"accepts a passkey whose counter stays at zero", loginCountStaysZero},
		{"lets one person log in on two devices at the same moment", loginTwoDevices},
		{"logs in without a name through a discoverable passkey", loginDiscoverable},
		{"gives every login a new session", loginNewSession},
		{"ends sessions idle too long or past their lifetime", loginSessionExpiry},
		{"remembers a user by uid only", loginRemembered},
	}
	for _, tc := range loginForgeries {
		behaviours = append(behaviours, behaviour{tc.name + " and changes nothing", loginRefused(tc.answer)})
	}
	eachBehaviour(t, behaviours)
}

// loginForgeries are answers to a login ceremony that must be refused.
var loginForgeries = []struct {
	name   string
	answer func(e *env, options []byte) (json.RawMessage, error)
}{
	{"refuses an assertion made for another origin", func(e *env, o []byte) (json.RawMessage, error) {
		return e.key.LoginAs(virtualwebauthn.RelyingParty{ID: rpID, Origin: "https://evil.test"}, o)
	}},
	{"refuses an assertion made for another RP ID", func(e *env, o []byte) (json.RawMessage, error) {
		return e.key.LoginAs(virtualwebauthn.RelyingParty{ID: "evil.test", Origin: origin}, o)
	}},
	{"refuses a tampered signature", func(e *env, o []byte) (json.RawMessage, error) {
		c, err := e.key.Login(o)
		return passkeytest.Tamper(c, "signature"), err
	}},
	{"refuses tampered authenticator data", func(e *env, o []byte) (json.RawMessage, error) {
		c, err := e.key.Login(o)
		return passkeytest.Tamper(c, "authenticatorData"), err
	}},
	{"refuses an assertion without user verification", func(e *env, o []byte) (json.RawMessage, error) {
		e.key.Set(passkeytest.Options{UserNotVerified: true})
		return e.key.Login(o)
	}},
}

// loginRefused is the behaviour shared by loginForgeries: the answer is
// refused and the passkey is left as it was.
func loginRefused(answer func(e *env, options []byte) (json.RawMessage, error)) func(t *testing.T, b backend) {
	return func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		u, _ := e.signup(t, "alice", "alice@example.com")
		before, _ := e.users.Passkeys(ctx, u.ID)
		begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
		cred, err := answer(e, begin.Options)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.finishLogin(begin, cred), shared.CodeCredentialRejected)
		after, _ := e.users.Passkeys(ctx, u.ID)
		if after[0].SignCount != before[0].SignCount || !after[0].LastUsedAt.Equal(before[0].LastUsedAt) {
			t.Errorf("a failed login changed the passkey: %+v -> %+v", before[0], after[0])
		}
	}
}

func loginByName(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	alice, _ := e.signup(t, "alice", "alice@example.com")
	other := &env{svc: e.svc, users: e.users, clock: e.clock, key: passkeytest.New(origin, rpID)}
	other.signup(t, "bob", "bob@example.com") // another user's passkeys must not be offered
	for _, name := range []string{"ALICE", "Alice@Example.com"} {
		begin, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
		if err != nil {
			t.Fatal(err)
		}
		if begin.Username != "alice" || begin.Ceremony == "" {
			t.Errorf("begin %+v", begin)
		}
		var opts struct {
			RPID             string
			UserVerification string
			AllowCredentials []struct {
				ID         string
				Type       string
				Transports []string
			}
		}
		json.Unmarshal(begin.Options, &opts)
		if opts.RPID != rpID || opts.UserVerification != "required" || len(opts.AllowCredentials) != 1 ||
			opts.AllowCredentials[0].ID != base64.RawURLEncoding.EncodeToString(e.key.Credentials()[0]) {
			t.Errorf("request options %s", begin.Options)
		}
	}
	e.clock.Advance(time.Hour)
	u, sess, token := e.login(t, e.key, "alice")
	if u.ID != alice.ID || sess.Method != auth.MethodPasskey || token == "" {
		t.Errorf("login %+v %+v", u, sess)
	}
	keys, _ := e.users.Passkeys(ctx, alice.ID)
	if keys[0].SignCount != 1 || !keys[0].LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("use not recorded: count %d last used %v", keys[0].SignCount, keys[0].LastUsedAt)
	}
}

func loginUnknownName(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	for _, name := range []string{"nobody", "nobody@example.com", "   "} {
		_, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name + "x"})
		wantCode(t, err, shared.CodeUserNotFound)
		if err.(*auth.Error).Message != "No matching user found" {
			t.Errorf("message %q", err.(*auth.Error).Message)
		}
	}
}

func loginOtherUsersPasskey(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	e.signup(t, "alice", "alice@example.com")
	mallory := passkeytest.New(origin, rpID)
	em := &env{svc: e.svc, users: e.users, clock: e.clock, key: mallory}
	em.signup(t, "mallory", "mallory@example.com")
	begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	cred, err := mallory.LoginWith(mallory.Credentials()[0], begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.finishLogin(begin, cred), shared.CodeCredentialRejected)
}

func loginReplay(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	e.signup(t, "alice", "alice@example.com")
	begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	cred, _ := e.key.Login(begin.Options)
	if err := e.finishLogin(begin, cred); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.finishLogin(begin, cred), shared.CodeCeremonyInvalid)
	// The same assertion against a fresh ceremony fails its challenge.
	again, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	wantCode(t, e.finishLogin(again, cred), shared.CodeCredentialRejected)
}

func loginExpired(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	e.signup(t, "alice", "alice@example.com")
	begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	cred, _ := e.key.Login(begin.Options)
	e.clock.Advance(10*time.Minute + time.Second)
	wantCode(t, e.finishLogin(begin, cred), shared.CodeCeremonyInvalid)
}

func loginSignupCeremony(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	begin, _ := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "zed", Email: "zed@example.com"})
	wantCode(t, e.finishLogin(begin, json.RawMessage(`{}`)), shared.CodeCeremonyInvalid)
}

func loginCountBackwards(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	u, _ := e.signup(t, "alice", "alice@example.com")
	e.login(t, e.key, "alice")
	e.login(t, e.key, "alice") // stored count is now 2
	e.key.SetCounter(e.key.Credentials()[0], 1)
	begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	cred, _ := e.key.Login(begin.Options) // presents 2 again
	wantCode(t, e.finishLogin(begin, cred), shared.CodeCredentialRejected)
	keys, _ := e.users.Passkeys(ctx, u.ID)
	if keys[0].SignCount != 2 {
		t.Errorf("stored count %d", keys[0].SignCount)
	}
}

func loginCountZeroAfterCount(t *testing.T, b backend) {
	ctx := context.Background()
	var logged bytes.Buffer
	e := newEnv(t, b, func(o *auth.Options) { o.Logger = slog.New(slog.NewTextHandler(&logged, nil)) })
	u, _ := e.signup(t, "alice", "alice@example.com")
	e.login(t, e.key, "alice") // the stored count is now non-zero
	keys, _ := e.users.Passkeys(ctx, u.ID)
	stored := keys[0]
	if stored.SignCount == 0 {
		t.Fatal("the authenticator did not count")
	}
	begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	e.key.SetCounter(e.key.Credentials()[0], ^uint32(0)) // Login adds one: wraps to 0
	cred, _ := e.key.Login(begin.Options)
	wantCode(t, e.finishLogin(begin, cred), shared.CodeCredentialRejected)
	keys, _ = e.users.Passkeys(ctx, u.ID)
	if keys[0].SignCount != stored.SignCount || !keys[0].LastUsedAt.Equal(stored.LastUsedAt) {
		t.Errorf("a refused login changed the passkey: count %d, last used %v", keys[0].SignCount, keys[0].LastUsedAt)
	}
	if !strings.Contains(logged.String(), "possible cloned authenticator") {
		t.Errorf("the refusal was not logged:\n%s", logged.String())
	}
}

func loginCountStaysZero(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	e.signup(t, "alice", "alice@example.com")
	for i := 0; i < 3; i++ {
		e.key.SetCounter(e.key.Credentials()[0], 0)
		begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
		e.key.SetCounter(e.key.Credentials()[0], ^uint32(0)) // Login adds one: wraps to 0
		cred, _ := e.key.Login(begin.Options)
		if err := e.finishLogin(begin, cred); err != nil {
			t.Fatalf("login %d with a zero counter: %v", i+1, err)
		}
	}
}

func loginTwoDevices(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	u, token := e.signup(t, "alice", "alice@example.com")
	// A second device gets its own passkey through the domain.
	phone := passkeytest.New(origin, rpID)
	addPasskey(t, e, token, phone)
	b1, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	b2, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
	c1, err := e.key.Login(b1.Options)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := phone.Login(b2.Options)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, p := range []struct {
		b *shared.CeremonyResponse
		c json.RawMessage
	}{{b1, c1}, {b2, c2}} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = e.finishLogin(p.b, p.c) }()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent logins: %v", errs)
	}
	sessions, _ := sessionsOf(t, e, u)
	if len(sessions) != 3 {
		t.Errorf("want 3 sessions (sign-up and two logins), got %d", len(sessions))
	}
}

func loginDiscoverable(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	e.signup(t, "bob", "bob@example.com")
	alice, _ := (&env{svc: e.svc, users: e.users, clock: e.clock, key: passkeytest.New(origin, rpID)}).signup(t, "alice", "alice@example.com")
	begin, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var opts struct{ AllowCredentials []any }
	json.Unmarshal(begin.Options, &opts)
	if len(opts.AllowCredentials) != 0 || begin.Username != "" {
		t.Errorf("discoverable options %s", begin.Options)
	}
	cred, _ := e.key.Login(begin.Options) // bob's passkey, with bob's handle
	login, err := e.svc.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
	if err != nil || login.User.Username != "bob" {
		t.Fatalf("discoverable login: %+v %v", login, err)
	}
	// Claiming alice's handle with bob's passkey is refused.
	begin, _ = e.svc.LoginBegin(ctx, shared.LoginBeginRequest{})
	forged, _ := e.key.LoginClaimingHandle(alice.Handle, begin.Options)
	wantCode(t, e.finishLogin(begin, forged), shared.CodeCredentialRejected)
}

func loginNewSession(t *testing.T, b backend) {
	e := newEnv(t, b)
	_, first := e.signup(t, "alice", "alice@example.com")
	_, s2, second := e.login(t, e.key, "alice")
	if second == first || s2.ID == first {
		t.Error("a login reused a session token")
	}
}

func loginSessionExpiry(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b, func(o *auth.Options) { o.SessionIdle = time.Hour; o.SessionLifetime = 3 * time.Hour })
	_, token := e.signup(t, "alice", "alice@example.com")
	for i := 0; i < 4; i++ { // active every 50 minutes
		e.clock.Advance(50 * time.Minute)
		_, _, err := e.svc.Authenticate(ctx, token)
		if i < 3 && err != nil {
			t.Fatalf("active session ended after %d checks: %v", i+1, err)
		}
		if i == 3 {
			wantCode(t, err, shared.CodeUnauthenticated) // 200 minutes > 3h lifetime
		}
	}
	_, _, token = e.login(t, e.key, "alice")
	e.clock.Advance(61 * time.Minute)
	_, _, err := e.svc.Authenticate(ctx, token)
	wantCode(t, err, shared.CodeUnauthenticated)
}

func loginRemembered(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	u, _ := e.signup(t, "alice", "alice@example.com")
	got, err := e.svc.Remembered(ctx, u.UID)
	if err != nil || got.Username != "alice" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "alice", "nope"} {
		_, err := e.svc.Remembered(ctx, bad)
		wantCode(t, err, shared.CodeNotRemembered)
	}
}

func sessionsOf(t *testing.T, e *env, u *auth.User) ([]auth.Session, error) {
	t.Helper()
	return e.svc.Sessions(context.Background(), u)
}

// addPasskey adds key's passkey to the account of the session token.
func addPasskey(t *testing.T, e *env, token string, key *passkeytest.Authenticator) *auth.Passkey {
	t.Helper()
	ctx := context.Background()
	sess, u, err := e.svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	begin, err := e.svc.PasskeyBegin(ctx, sess, u)
	if err != nil {
		t.Fatalf("PasskeyBegin: %v", err)
	}
	cred, err := key.Register(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.PasskeyFinish(ctx, sess, u, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
	if err != nil {
		t.Fatalf("PasskeyFinish: %v", err)
	}
	return p
}
