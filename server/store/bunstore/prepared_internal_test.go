package bunstore

import (
	"database/sql"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testenv"
)

// A connection prepares a statement before it first runs it, rather than
// after Postgres refused an EXECUTE (and logged the error): on a connection
// old or new, each call runs the statement once, and it never fails.
func TestExecutePreparesBeforeTheFirstRun(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), testenv.Postgres(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.db.SetMaxOpenConns(1)
	p := s.stmts.statement("test", 1, func(ps ...any) string {
		return s.db.NewSelect().ColumnExpr("?::int + 1 AS n", ps[0]).String()
	})
	var runs []error
	call := func(arg int) {
		t.Helper()
		var n int
		err := s.execute(t.Context(), p, 1, func(conn bun.Conn, execute string) error {
			err := conn.NewRaw(execute, arg).Scan(t.Context(), &n)
			runs = append(runs, err)
			return err
		})
		if err != nil || n != arg+1 {
			t.Fatalf("execute(%d) = %d, %v; want %d", arg, n, err, arg+1)
		}
	}
	call(1)
	call(2)
	// A new connection (the idle one is closed).
	s.db.SetMaxIdleConns(0)
	call(3)
	s.db.SetMaxIdleConns(1)
	call(4)
	call(5)
	if len(runs) != 5 {
		t.Fatalf("5 calls ran the statement %d times (%v); want once each", len(runs), runs)
	}
	for i, err := range runs {
		if err != nil {
			t.Errorf("run %d: %v", i+1, err)
		}
	}
}

// SQLite prepares each select once, and a statement serves every call.
func TestSQLitePreparesEachSelectOnce(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Now()
	u := &auth.User{UID: "u1", Handle: []byte("h1"), Username: "alice", Email: "alice@example.com", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(t.Context(), u, &auth.Passkey{UID: "p1", CredentialID: []byte("c1"), PublicKey: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	held := func() map[string]*sql.Stmt {
		s.stmts.mu.Lock()
		defer s.stmts.mu.Unlock()
		return maps.Clone(s.stmts.sqlite)
	}
	for range 3 {
		if _, keys, err := s.UserWithPasskeys(t.Context(), auth.UserRef{Handle: u.Handle}); err != nil || len(keys) != 1 {
			t.Fatalf("UserWithPasskeys = %d passkeys, %v", len(keys), err)
		}
		if _, err := s.UserByID(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	first := held()
	if len(first) != 2 {
		t.Fatalf("%d statements prepared (%v); want the two selects", len(first), slices.Collect(maps.Keys(first)))
	}
	if _, err := s.UserByID(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	if again := held(); !maps.Equal(again, first) {
		t.Fatalf("another call prepared again: %v", slices.Collect(maps.Keys(again)))
	}
}
