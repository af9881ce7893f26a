package auth_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/memstore"
	"github.com/latchkey/latchkey/server/store/redisstore"
)

const (
	origin = "https://latchkey.test"
	rpID   = "latchkey.test"
)

// clock is a settable time source shared by the service and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one service on real stores, with its clock and an authenticator.
type env struct {
	svc        *auth.Service
	users      auth.UserStore
	challenges auth.ChallengeStore
	clock      *clock
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

type backend struct {
	name string
	open func(t *testing.T) (auth.UserStore, auth.ChallengeStore, auth.SessionStore)
}

// backends are the two deployments: the embedded default and production.
var backends = []backend{
	{"SQLite+InProcess", func(t *testing.T) (auth.UserStore, auth.ChallengeStore, auth.SessionStore) {
		db, err := bunstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "latchkey.db"), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		mem := memstore.New()
		t.Cleanup(func() { mem.Close() })
		return db, mem, mem
	}},
	{"Postgres+Redis", func(t *testing.T) (auth.UserStore, auth.ChallengeStore, auth.SessionStore) {
		db, err := bunstore.Open(context.Background(), testenv.Postgres(t), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		rc, prefix := testenv.Redis(t)
		rs := redisstore.New(rc, prefix)
		return db, rs, rs
	}},
}

// eachBackend runs f as a subtest on every backend.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

func newEnv(t *testing.T, b backend, mutate ...func(*auth.Options)) *env {
	t.Helper()
	users, challenges, sessions := b.open(t)
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	mail := &outbox{}
	limiter, _ := challenges.(auth.Limiter)
	opts := auth.Options{
		Origin: origin, RPID: rpID, Now: clk.Now, Mailer: mail, Limiter: limiter,
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
