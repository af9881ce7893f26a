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
