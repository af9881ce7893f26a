package auth_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/testclock"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/store/storetest"
	"github.com/latchkey/latchkey/shared"
)

const (
	origin = "https://latchkey.test"
	rpID   = "latchkey.test"
)

// env is one service on real stores, with its clock and an authenticator.
type env struct {
	svc        *auth.Service
	users      storetest.Users
	challenges auth.ChallengeStore
	clock      *testclock.Clock
	key        *passkeytest.Authenticator
	mail       *outbox
}

// outbox is a Mailer that keeps what it is given.
type outbox struct {
	mu   sync.Mutex
	sent []auth.Message
}

func (o *outbox) Send(_ context.Context, m auth.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) messages() []auth.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]auth.Message(nil), o.sent...)
}

type backend = teststores.Backend

// eachBackend runs f as a subtest on every backend.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

func newEnv(t *testing.T, b backend, mutate ...func(*auth.Options)) *env {
	t.Helper()
	st := b.Open(t)
	users, challenges, sessions := st.Users, st.Challenges, st.Sessions
	clk := testclock.New(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	mail := &outbox{}
	opts := auth.Options{
		Origin: origin, RPID: rpID, Now: clk.Now, Mailer: mail,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mutate {
		m(&opts)
	}
	svc, err := auth.New(users, challenges, sessions, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, users: users, challenges: challenges, clock: clk, key: passkeytest.New(origin, rpID), mail: mail}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	if got := auth.ErrorCode(err); got != code {
		t.Fatalf("got %v (code %s), want %s", err, got, code)
	}
}

// behaviour is one named behaviour of a test, run on one backend. Its name
// is the subtest's, and reads as a sentence of the spec.
type behaviour struct {
	name string
	fn   func(t *testing.T, b backend)
}

// eachBehaviour runs every behaviour as a subtest on every backend.
func eachBehaviour(t *testing.T, behaviours []behaviour) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range behaviours {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
		}
	})
}

// chromeOnMac is the browser the tests sign up and log in from.
var chromeOnMac = auth.Client{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", IP: "192.0.2.7"}

// signup runs a whole sign-up with e's authenticator.
func (e *env) signup(t *testing.T, username, email string) (*auth.User, string) {
	t.Helper()
	ctx := context.Background()
	begin, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: username, Email: email})
	if err != nil {
		t.Fatalf("SignupBegin: %v", err)
	}
	cred, err := e.key.Register(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	login, err := e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
	if err != nil {
		t.Fatalf("SignupFinish: %v", err)
	}
	u, token := login.User, login.Token
	// The welcome mail goes out in the background; let it arrive before
	// whatever the test sends next, so messages keep their order.
	e.svc.WaitForMail()
	return u, token
}

// login runs a whole login of name with key.
func (e *env) login(t *testing.T, key *passkeytest.Authenticator, name string) (*auth.User, *auth.Session, string) {
	t.Helper()
	ctx := context.Background()
	begin, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
	if err != nil {
		t.Fatalf("LoginBegin: %v", err)
	}
	cred, err := key.Login(begin.Options)
	if err != nil {
		t.Fatal(err)
	}
	login, err := e.svc.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
	if err != nil {
		t.Fatalf("LoginFinish: %v", err)
	}
	u, sess, token := login.User, login.Session, login.Token
	return u, sess, token
}
