// Package teststores opens the two deployments tests run against: the
// embedded default (SQLite file, in-process stores) and production
// (Postgres and Redis), each private to the test.
package teststores

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/memstore"
	"github.com/latchkey/latchkey/server/store/redisstore"
	"github.com/latchkey/latchkey/server/store/storetest"
)

// Stores is one backend's set of stores.
type Stores struct {
	Name       string
	Users      storetest.Users
	Challenges auth.ChallengeStore
	Sessions   auth.SessionStore
	Limiter    auth.Limiter
}

// SQLite opens a SQLite file in a temporary directory and in-process stores.
func SQLite(t testing.TB) Stores {
	t.Helper()
	db, err := bunstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "latchkey.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	return Stores{"SQLite+InProcess", db, mem, mem, mem}
}

// PostgresRedis opens a private Postgres schema and Redis key prefix; it
// skips (or, in CI, fails) when either is unreachable.
func PostgresRedis(t testing.TB) Stores {
	t.Helper()
	db, err := bunstore.Open(context.Background(), testenv.Postgres(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rc, prefix := testenv.Redis(t)
	rs := redisstore.New(rc, prefix)
	return Stores{"Postgres+Redis", db, rs, rs, rs}
}

// Backend names a deployment and opens its stores.
type Backend struct {
	Name string
	Open func(testing.TB) Stores
}

// All lists both deployments.
var All = []Backend{{"SQLite+InProcess", SQLite}, {"Postgres+Redis", PostgresRedis}}
