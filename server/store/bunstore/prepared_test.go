package bunstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
)

// preparedOnConn lists the names of the statements the store's one
// connection has prepared.
func preparedOnConn(t *testing.T, s *bunstore.Store) []string {
	t.Helper()
	var names []string
	if err := s.DB().NewRaw("SELECT name FROM pg_prepared_statements WHERE from_sql ORDER BY name").Scan(t.Context(), &names); err != nil {
		t.Fatal(err)
	}
	return names
}

// loginQueries runs what a login reads and writes.
func loginQueries(t *testing.T, s *bunstore.Store, u *auth.User, p *auth.Passkey, count uint32) {
	t.Helper()
	ctx := t.Context()
	got, keys, err := s.UserWithPasskeys(ctx, auth.UserRef{Username: u.Username})
	if err != nil || got.ID != u.ID || len(keys) != 1 {
		t.Fatalf("UserWithPasskeys = %+v, %d passkeys, %v", got, len(keys), err)
	}
	if err := s.RecordPasskeyUse(ctx, p.ID, count, false, time.Now()); err != nil {
		t.Fatalf("RecordPasskeyUse: %v", err)
	}
}

func newLoginUser(t *testing.T, s *bunstore.Store) (*auth.User, *auth.Passkey) {
	t.Helper()
	now := time.Now()
	u := &auth.User{UID: "u_prepared", Handle: []byte("handle"), Username: "alice", Email: "alice@example.com", DisplayName: "Alice", CreatedAt: now, UpdatedAt: now}
	p := &auth.Passkey{UID: "pk_prepared", CredentialID: []byte("credential"), PublicKey: []byte("key"), AAGUID: make([]byte, 16), CreatedAt: now}
	if err := s.CreateUser(t.Context(), u, p); err != nil {
		t.Fatal(err)
	}
	return u, p
}

func TestPostgresPreparesTheLoginQueriesOncePerConnection(t *testing.T) {
	t.Parallel()
	s := openStore(t, testenv.Postgres(t), "")
	// One connection, so the one the queries ran on is the one asked.
	s.DB().SetMaxOpenConns(1)
	u, p := newLoginUser(t, s)
	if names := preparedOnConn(t, s); len(names) != 0 {
		t.Fatalf("prepared before any login: %v", names)
	}
	loginQueries(t, s, u, p, 1)
	first := preparedOnConn(t, s)
	if len(first) != 2 {
		t.Fatalf("after a login the connection has prepared %v; want the user-with-passkeys select and the passkey-use update", first)
	}
	loginQueries(t, s, u, p, 2)
	if again := preparedOnConn(t, s); !slices.Equal(again, first) {
		t.Fatalf("after a second login: %v; want the same statements, %v", again, first)
	}

	// A new connection prepares them again.
	s.DB().SetMaxIdleConns(0)
	loginQueries(t, s, u, p, 3)
	s.DB().SetMaxIdleConns(1)
	loginQueries(t, s, u, p, 4)
	if names := preparedOnConn(t, s); !slices.Equal(names, first) {
		t.Fatalf("on a new connection: %v; want %v", names, first)
	}
}

func TestPostgresPreparesAgainWhenAMigrationChangesATable(t *testing.T) {
	t.Parallel()
	s := openStore(t, testenv.Postgres(t), "")
	s.DB().SetMaxOpenConns(1)
	u, p := newLoginUser(t, s)
	loginQueries(t, s, u, p, 1)
	// What a newer release's migration might do while this one runs: the
	// prepared plan's result no longer has the table's types (0A000).
	if _, err := s.DB().ExecContext(context.Background(), "ALTER TABLE users ALTER COLUMN display_name TYPE varchar(300)"); err != nil {
		t.Fatal(err)
	}
	loginQueries(t, s, u, p, 2)
}
