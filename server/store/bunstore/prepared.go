package bunstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// A query bun writes carries its values in its text, so Postgres parses and
// plans it anew on every call. For the join of a user and their passkeys
// that costs the server about three times what running it does (some 200µs
// of CPU against 60µs on the development machine), in every login. The
// queries of a login, and the lookups of a user (every signed-in request
// reads its own), are therefore prepared on Postgres, once per connection,
// and run as EXECUTE name(values).
//
// SQL-level PREPARE and EXECUTE rather than the protocol's: EXECUTE is an
// ordinary text query, so pgdriver's handling of a connection that failed
// mid-answer (it closes it, and the pool drops it) covers it. Its prepared
// statements skip that, and a connection left with half an answer unread
// would hand it to the next query. Each statement is made by the same bun
// query as the text form, with $1, $2… in place of the values, so its SQL is
// written once; its name is a hash of that text.
//
// SQLite parses in process, but the join still takes it about 55µs as text
// and 15µs prepared. Nothing can be left half read there, so its selects
// are database/sql's prepared statements, which it prepares on each
// connection as the connection first runs them. Its
// writes stay text: the driver would bind a time in another format than bun
// writes it, and a column must hold one format to compare and sort.
//
// Prepared statements belong to a database session, so Latchkey cannot run
// behind a pooler that hands one session's statements to another
// (PgBouncer in transaction or statement mode).

// statement is a query's prepared form: its name, and what to PREPARE.
type statement struct {
	name, query string
}

// statements holds each query's prepared form by key, made once, and which
// connection has prepared which, so that a connection PREPAREs a statement
// before its first EXECUTE rather than learning from an error (which
// Postgres would log). The connections are held weakly: one the pool
// closed is forgotten.
type statements struct {
	mu sync.Mutex
	m  map[string]statement
	on map[weak.Pointer[pgdriver.Conn]]map[string]bool
	// sqlite holds SQLite's prepared selects by key.
	sqlite map[string]*sql.Stmt
}

// sqliteStmt returns SQLite's prepared statement under key, preparing the
// query build makes with $1…$n (n = nargs) the first time. A failure to
// prepare is not kept: the next call tries again.
func (s *Store) sqliteStmt(ctx context.Context, key string, nargs int, build func(args ...any) string) (*sql.Stmt, error) {
	st := &s.stmts
	st.mu.Lock()
	defer st.mu.Unlock()
	if stmt, ok := st.sqlite[key]; ok {
		return stmt, nil
	}
	// Preparing reads no more than the schema of a local file: holding
	// the lock meanwhile keeps every key prepared once.
	stmt, err := s.db.DB.PrepareContext(ctx, build(placeholders(nargs)...))
	if err != nil {
		return nil, err
	}
	if st.sqlite == nil {
		st.sqlite = make(map[string]*sql.Stmt)
	}
	st.sqlite[key] = stmt
	return stmt, nil
}

// close closes SQLite's prepared statements.
func (st *statements) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	var errs []error
	for _, stmt := range st.sqlite {
		errs = append(errs, stmt.Close())
	}
	st.sqlite = nil
	return errors.Join(errs...)
}

// placeholders returns $1…$n, to make a query's prepared form with.
func placeholders(n int) []any {
	ps := make([]any, n)
	for i := range ps {
		ps[i] = bun.Safe("$" + strconv.Itoa(i+1))
	}
	return ps
}

// preparedOn reports whether the connection pc has prepared name.
func (st *statements) preparedOn(pc *pgdriver.Conn, name string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return pc != nil && st.on[weak.Make(pc)][name]
}

// markPrepared records that the connection pc has prepared name.
func (st *statements) markPrepared(pc *pgdriver.Conn, name string) {
	if pc == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	key := weak.Make(pc)
	names, ok := st.on[key]
	if !ok {
		// A new connection: forget the ones the pool has closed since.
		for k := range st.on {
			if k.Value() == nil {
				delete(st.on, k)
			}
		}
		if st.on == nil {
			st.on = make(map[weak.Pointer[pgdriver.Conn]]map[string]bool)
		}
		names = make(map[string]bool)
		st.on[key] = names
	}
	names[name] = true
}

// statement returns the prepared form of the query build makes with $1…$n
// (n = nargs), under key.
func (st *statements) statement(key string, nargs int, build func(args ...any) string) statement {
	st.mu.Lock()
	defer st.mu.Unlock()
	if p, ok := st.m[key]; ok {
		return p
	}
	query := build(placeholders(nargs)...)
	sum := sha256.Sum256([]byte(query))
	p := statement{name: "latchkey_" + hex.EncodeToString(sum[:12]), query: query}
	if st.m == nil {
		st.m = make(map[string]statement)
	}
	st.m[key] = p
	return p
}

// execute runs the prepared form of a query on one connection, preparing it
// there first if it has not been: run gets the connection and "EXECUTE
// name(?, ?…)" for its arguments. Should Postgres still answer that the
// statement does not exist (26000), or that its plan no longer fits the
// tables (0A000: a migration changed a column's type), it is prepared
// again and run once more.
func (s *Store) execute(ctx context.Context, p statement, nargs int, run func(conn bun.Conn, execute string) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Only the connection's identity is kept, never the connection.
	var pc *pgdriver.Conn
	_ = conn.Raw(func(dc any) error {
		pc, _ = dc.(*pgdriver.Conn)
		return nil
	})
	prepare := func(again bool) error {
		// Through database/sql itself: bun would read the $n as its own.
		if again {
			if _, err := conn.Conn.ExecContext(ctx, "DEALLOCATE "+p.name); err != nil && pgCode(err) != "26000" {
				return err
			}
		}
		if _, err := conn.Conn.ExecContext(ctx, "PREPARE "+p.name+" AS "+p.query); err != nil {
			return err
		}
		s.stmts.markPrepared(pc, p.name)
		return nil
	}
	if !s.stmts.preparedOn(pc, p.name) {
		if err := prepare(false); err != nil {
			return err
		}
	}
	execute := "EXECUTE " + p.name
	if nargs > 0 {
		execute += "(" + strings.Repeat("?, ", nargs-1) + "?)"
	}
	err = run(conn, execute)
	if code := pgCode(err); code == "26000" || code == "0A000" {
		if err := prepare(true); err != nil {
			return err
		}
		err = run(conn, execute)
	}
	return err
}

// pgCode is a Postgres error's SQLSTATE, or "".
func pgCode(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

// selectInto runs the select query build makes with args, prepared (under
// key), and scans its rows into dest, a slice (no rows is no error then).
func (s *Store) selectInto(ctx context.Context, key string, build func(args ...any) *bun.SelectQuery, dest any, args ...any) error {
	text := func(ps ...any) string { return build(ps...).String() }
	if s.dialect != DialectPostgres {
		stmt, err := s.sqliteStmt(ctx, key, len(args), text)
		if err != nil {
			return err
		}
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		return s.db.ScanRows(ctx, rows, dest)
	}
	p := s.stmts.statement(key, len(args), text)
	return s.execute(ctx, p, len(args), func(conn bun.Conn, execute string) error {
		return conn.NewRaw(execute, args...).Scan(ctx, dest)
	})
}

// update runs the update query build makes with args and answers how many
// rows it changed: on Postgres prepared (under key), on SQLite as text.
func (s *Store) update(ctx context.Context, key string, build func(args ...any) *bun.UpdateQuery, args ...any) (int64, error) {
	if s.dialect != DialectPostgres {
		res, err := build(args...).Exec(ctx)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	p := s.stmts.statement(key, len(args), func(ps ...any) string { return build(ps...).String() })
	var n int64
	err := s.execute(ctx, p, len(args), func(conn bun.Conn, execute string) error {
		res, err := conn.ExecContext(ctx, execute, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
