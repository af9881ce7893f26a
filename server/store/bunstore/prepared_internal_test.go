package bunstore

import (
	"testing"

	"github.com/uptrace/bun"

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
