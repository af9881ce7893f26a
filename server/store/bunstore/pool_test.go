package bunstore_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
)

// The Postgres pool is bounded, and keeps as many connections idle as it
// may open: database/sql's default of two idle made almost every query
// under load dial a new backend.
func TestPostgresPoolIsBoundedAndKeepsItsConnections(t *testing.T) {
	t.Parallel()
	url := testenv.Postgres(t)

	t.Run("by default, 4 per CPU and at least 4", func(t *testing.T) {
		s, err := bunstore.Open(t.Context(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		want := max(4, 4*runtime.GOMAXPROCS(0))
		if bunstore.DefaultMaxConns() != want {
			t.Errorf("DefaultMaxConns() = %d, want %d", bunstore.DefaultMaxConns(), want)
		}
		if got := s.DB().Stats().MaxOpenConnections; got != want || s.MaxConns() != want {
			t.Errorf("MaxOpenConnections = %d, MaxConns() = %d, want %d", got, s.MaxConns(), want)
		}
	})

	t.Run("MaxConns(n) sets both limits", func(t *testing.T) {
		const n = 5
		s, err := bunstore.Open(t.Context(), url, "", bunstore.MaxConns(n))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := s.DB().Stats().MaxOpenConnections; got != n {
			t.Fatalf("MaxOpenConnections = %d, want %d", got, n)
		}
		// Hold n connections at once, then give them back: all n stay idle
		// (database/sql's default would close all but two).
		conns := make([]bun.Conn, 0, n)
		for range n {
			c, err := s.DB().Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
		st := s.DB().Stats()
		if st.Idle != n || st.MaxIdleClosed != 0 {
			t.Errorf("after returning %d connections: %d idle, %d closed for the idle limit; want %d and 0", n, st.Idle, st.MaxIdleClosed, n)
		}
		// The bound holds: one more connection waits for one to come back.
		held := make([]bun.Conn, 0, n)
		for range n {
			c, err := s.DB().Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
		got := make(chan error, 1)
		go func() {
			c, err := s.DB().Conn(t.Context())
			if err == nil {
				err = c.Close()
			}
			got <- err
		}()
		select {
		case err := <-got:
			t.Fatalf("a connection beyond the bound of %d was opened (err %v)", n, err)
		case <-time.After(100 * time.Millisecond):
		}
		held[0].Close()
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		for _, c := range held[1:] {
			c.Close()
		}
		if st := s.DB().Stats(); st.OpenConnections > n {
			t.Errorf("%d connections open, bound %d", st.OpenConnections, n)
		}
	})

	t.Run("MaxConns(0) keeps the default", func(t *testing.T) {
		s, err := bunstore.Open(t.Context(), url, "", bunstore.MaxConns(0))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := s.MaxConns(); got != bunstore.DefaultMaxConns() {
			t.Errorf("MaxConns() = %d, want the default %d", got, bunstore.DefaultMaxConns())
		}
	})
}

// SQLite keeps database/sql's unbounded pool: readers proceed in parallel
// under WAL and writers queue at BEGIN IMMEDIATE, and MaxConns does not
// apply to it.
func TestSQLitePoolIsLeftAlone(t *testing.T) {
	t.Parallel()
	s, err := bunstore.Open(t.Context(), "", t.TempDir(), bunstore.MaxConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.MaxConns(); got != 0 {
		t.Errorf("SQLite MaxConns() = %d, want 0 (unbounded)", got)
	}
}
