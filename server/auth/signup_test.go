package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/internal/teststores"

	"github.com/descope/virtualwebauthn"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// noAccount asserts that a failed sign-up left nothing behind.
func (e *env) noAccount(t *testing.T, username string) {
	t.Helper()
	if _, err := e.users.UserByUsername(context.Background(), username); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("user %q exists after a failed sign-up (err %v)", username, err)
	}
	for _, id := range e.key.Credentials() {
		if _, err := e.users.PasskeyByCredentialID(context.Background(), id); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a passkey was stored after a failed sign-up (err %v)", err)
		}
	}
}

func TestSignup(t *testing.T) {
	behaviours := []behaviour{
		{"creates the account with its passkey and starts a session", signupCreatesAccount},
		{"names an unnamed passkey after the browser and platform", signupNamesPasskey},
		{"refuses a username or email taken in another case before any prompt", signupTaken},
		{"refuses a replayed finish", signupReplay},
		{"accepts a passkey without user verification when it is only preferred", signupUnverifiedPreferred},
		{"refuses a response to another ceremony's challenge", signupOtherChallenge},
		{"refuses an expired ceremony", signupExpired},
		{"refuses unknown and malformed ceremony ids", signupBadCeremonyID},
		{"lets exactly one of two concurrent sign-ups for one username win", signupConcurrent},
		{"leaves nothing behind when the prompt is cancelled", signupCancelled},
	}
	for _, tc := range signupForgeries {
		behaviours = append(behaviours, behaviour{tc.name + " and stores nothing", signupRefused(tc.answer)})
	}
	eachBehaviour(t, behaviours)
}

// signupForgeries are answers to a sign-up ceremony that must be refused.
var signupForgeries = []struct {
	name   string
	answer func(e *env, options []byte) (json.RawMessage, error)
}{
	{"refuses a passkey made for another origin", func(e *env, o []byte) (json.RawMessage, error) {
		return e.key.RegisterAs(virtualwebauthn.RelyingParty{ID: rpID, Name: "x", Origin: "https://evil.test"}, o)
	}},
	{"refuses a passkey made for another RP ID", func(e *env, o []byte) (json.RawMessage, error) {
		return e.key.RegisterAs(virtualwebauthn.RelyingParty{ID: "evil.test", Name: "x", Origin: origin}, o)
	}},
	{"refuses a passkey without user verification when it is required", func(e *env, o []byte) (json.RawMessage, error) {
		e.key.Set(passkeytest.Options{UserNotVerified: true})
		return e.key.Register(o)
	}},
	{"refuses a tampered attestation", func(e *env, o []byte) (json.RawMessage, error) {
		c, err := e.key.Register(o)
		return passkeytest.Tamper(c, "attestationObject"), err
	}},
	{"refuses a tampered client data", func(e *env, o []byte) (json.RawMessage, error) {
		c, err := e.key.Register(o)
		return passkeytest.Tamper(c, "clientDataJSON"), err
	}},
	{"refuses a credential that is not a registration response", func(e *env, o []byte) (json.RawMessage, error) {
		return json.RawMessage(`{"id":"x","type":"public-key","response":{}}`), nil
	}},
}

// signupRefused is the behaviour shared by signupForgeries: the answer is
// refused, nothing is stored and the username stays free.
func signupRefused(answer func(e *env, options []byte) (json.RawMessage, error)) func(t *testing.T, b backend) {
	return func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		begin, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "erin", Email: "erin@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		cred, err := answer(e, begin.Options)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
		wantCode(t, err, shared.CodeCredentialRejected)
		var ae *auth.Error
		if errors.As(err, &ae) && (strings.Contains(ae.Message, "rpIdHash") || strings.Contains(ae.Message, "origin")) {
			t.Errorf("the message shown to people leaks verification detail: %q", ae.Message)
		}
		e.noAccount(t, "erin")
		// The username stays free: a new attempt can take it.
		e.key.Set(passkeytest.Options{})
		e.signup(t, "erin", "erin@example.com")
	}
}

func signupCreatesAccount(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	begin, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "Alice", Email: "alice@Example.COM", DisplayName: "Alice A."})
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		Challenge        string
		RP               struct{ ID string }
		User             struct{ ID, Name, DisplayName string }
		PubKeyCredParams []struct {
			Alg int
		}
		AuthenticatorSelection struct {
			ResidentKey      string
			UserVerification string
		}
		Attestation string
		Timeout     int
	}
	if err := json.Unmarshal(begin.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.RP.ID != rpID || opts.User.Name != "Alice" || opts.User.DisplayName != "Alice A." || opts.Challenge == "" || opts.Timeout == 0 {
		t.Errorf("creation options %+v", opts)
	}
	if strings.Contains(opts.User.ID, "Alice") || len(opts.User.ID) < 40 {
		t.Errorf("user handle %q should be random bytes, not personal data", opts.User.ID)
	}
	var algs []int
	for _, p := range opts.PubKeyCredParams {
		algs = append(algs, p.Alg)
	}
	if len(algs) != 3 || algs[0] != -7 || algs[1] != -8 || algs[2] != -257 {
		t.Errorf("algorithms %v, want ES256, EdDSA, RS256", algs)
	}
	if opts.AuthenticatorSelection.ResidentKey != "required" || opts.AuthenticatorSelection.UserVerification != "required" || opts.Attestation != "none" {
		t.Errorf("selection %+v attestation %q", opts.AuthenticatorSelection, opts.Attestation)
	}

	cred, err := e.key.Register(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	login, err := e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: " Work laptop "}, chromeOnMac)
	if err != nil {
		t.Fatal(err)
	}
	u, sess, token := login.User, login.Session, login.Token
	if u.Username != "Alice" || u.Email != "alice@example.com" || u.DisplayName != "Alice A." || u.UID == "" {
		t.Errorf("user %+v", u)
	}
	stored, err := e.users.UserByUsername(ctx, "alice")
	if err != nil || stored.ID != u.ID {
		t.Fatalf("stored user %v, %v", stored, err)
	}
	keys, err := e.users.Passkeys(ctx, u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("passkeys %v, %v", keys, err)
	}
	p := keys[0]
	if p.Name != "Work laptop" || string(p.CredentialID) != string(e.key.Credentials()[0]) || len(p.PublicKey) == 0 || len(p.AAGUID) != 16 || p.AttestationType == "" {
		t.Errorf("passkey %+v", p)
	}
	if sess.Method != auth.MethodPasskey || token == "" || sess.ID == token {
		t.Errorf("session %+v token %q", sess, token)
	}
	got, gotUser, err := e.svc.Authenticate(ctx, token)
	if err != nil || got.ID != sess.ID || gotUser.ID != u.ID {
		t.Errorf("Authenticate: %v %v %v", got, gotUser, err)
	}
}

func signupNamesPasskey(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	u, _ := e.signup(t, "bob", "bob@example.com")
	keys, _ := e.users.Passkeys(ctx, u.ID)
	if len(keys) != 1 || keys[0].Name != "Chrome on Mac" {
		t.Errorf("passkeys %+v", keys)
	}
}

func signupTaken(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	e.signup(t, "carol", "carol@example.com")
	_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "CAROL", Email: "other@example.com"})
	wantCode(t, err, shared.CodeUsernameTaken)
	_, err = e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "carol2", Email: "Carol@EXAMPLE.com"})
	wantCode(t, err, shared.CodeEmailTaken)
}

func signupReplay(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	begin, _ := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "dave", Email: "dave@example.com"})
	cred, _ := e.key.Register(begin.Options)
	req := shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}
	if _, err := e.svc.SignupFinish(ctx, req, chromeOnMac); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.SignupFinish(ctx, req, chromeOnMac)
	wantCode(t, err, shared.CodeCeremonyInvalid)
}

func signupUnverifiedPreferred(t *testing.T, b backend) {
	e := newEnv(t, b, func(o *auth.Options) { o.UserVerification = "preferred" })
	e.key.Set(passkeytest.Options{UserNotVerified: true})
	e.signup(t, "frank", "frank@example.com")
}

func signupOtherChallenge(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	first, _ := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "gina", Email: "gina@example.com"})
	second, _ := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "gina", Email: "gina@example.com"})
	cred, _ := e.key.Register(first.Options)
	_, err := e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: second.Ceremony, Credential: cred}, chromeOnMac)
	wantCode(t, err, shared.CodeCredentialRejected)
	// The error is logged: it must not hold either challenge.
	for _, b := range []*shared.CeremonyResponse{first, second} {
		var o struct{ Challenge string }
		json.Unmarshal(b.Options, &o)
		raw, _ := base64.RawURLEncoding.DecodeString(o.Challenge)
		if strings.Contains(err.Error(), o.Challenge) || strings.Contains(err.Error(), fmt.Sprintf("%#v", raw)) || strings.Contains(err.Error(), fmt.Sprintf("%v", raw)) {
			t.Errorf("the error names a challenge: %v", err)
		}
	}
	e.noAccount(t, "gina")
	// Finishing consumed the second ceremony even though it failed.
	_, err = e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: second.Ceremony, Credential: cred}, chromeOnMac)
	wantCode(t, err, shared.CodeCeremonyInvalid)
}

func signupExpired(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	begin, _ := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "hank", Email: "hank@example.com"})
	cred, _ := e.key.Register(begin.Options)
	e.clock.Advance(10*time.Minute + time.Second)
	_, err := e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
	wantCode(t, err, shared.CodeCeremonyInvalid)
	e.noAccount(t, "hank")
}

func signupBadCeremonyID(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	for _, id := range []string{"", "nope", strings.Repeat("x", 500)} {
		_, err := e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: id, Credential: json.RawMessage(`{}`)}, chromeOnMac)
		wantCode(t, err, shared.CodeCeremonyInvalid)
	}
}

func signupConcurrent(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	other := passkeytest.New(origin, rpID)
	b1, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "ivy", Email: "ivy@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "IVY", Email: "ivy2@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := e.key.Register(b1.Options)
	c2, _ := other.Register(b2.Options)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, req := range []shared.SignupFinishRequest{{Ceremony: b1.Ceremony, Credential: c1}, {Ceremony: b2.Ceremony, Credential: c2}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.SignupFinish(ctx, req, chromeOnMac)
		}()
	}
	wg.Wait()
	var won, lost int
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case auth.ErrorCode(err) == shared.CodeUsernameTaken:
			lost++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("won %d lost %d (errors %v)", won, lost, errs)
	}
	u, err := e.users.UserByUsername(ctx, "ivy")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := e.users.Passkeys(ctx, u.ID)
	if len(keys) != 1 {
		t.Fatalf("the winner has %d passkeys", len(keys))
	}
	// The loser's passkey was not stored anywhere.
	loser := other.Credentials()[0]
	if string(keys[0].CredentialID) == string(loser) {
		loser = e.key.Credentials()[0]
	}
	if _, err := e.users.PasskeyByCredentialID(ctx, loser); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the losing sign-up left its passkey behind (err %v)", err)
	}
}

func signupCancelled(t *testing.T, b backend) {
	ctx := context.Background()
	e := newEnv(t, b)
	if _, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "jack", Email: "jack@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.noAccount(t, "jack")
	e.signup(t, "jack", "jack@example.com")
}

func TestSignupValidatesInput(t *testing.T) {
	e := newEnv(t, teststores.All[0])
	ctx := context.Background()
	cases := []struct {
		req   shared.SignupBeginRequest
		field string
	}{
		{shared.SignupBeginRequest{Username: "al", Email: "a@example.com"}, "username"},
		{shared.SignupBeginRequest{Username: strings.Repeat("a", 33), Email: "a@example.com"}, "username"},
		{shared.SignupBeginRequest{Username: "al ice", Email: "a@example.com"}, "username"},
		{shared.SignupBeginRequest{Username: "аdmin", Email: "a@example.com"}, "username"},
		{shared.SignupBeginRequest{Username: "alice", Email: ""}, "email"},
		{shared.SignupBeginRequest{Username: "alice", Email: "not-an-email"}, "email"},
		{shared.SignupBeginRequest{Username: "alice", Email: "Alice <a@example.com>"}, "email"},
		{shared.SignupBeginRequest{Username: "alice", Email: "a@localhost"}, "email"},
		{shared.SignupBeginRequest{Username: "alice", Email: "a@example.com", DisplayName: "bad\x00name"}, "display_name"},
		{shared.SignupBeginRequest{Username: "alice", Email: "a@example.com", DisplayName: strings.Repeat("x", 65)}, "display_name"},
	}
	for _, tc := range cases {
		_, err := e.svc.SignupBegin(ctx, tc.req)
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Code != shared.CodeInvalidInput || ae.Field != tc.field {
			t.Errorf("%+v: got %v, want invalid_input on %s", tc.req, err, tc.field)
		}
	}
	for _, ok := range []string{"a.b-c_d", "Bob", "x12"} {
		if err := auth.ValidateUsername(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
