package bunstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// A query bun writes carries its values in its text, so Postgres parses and
// plans it anew on every call. For the join of a user and their passkeys
// that costs the server about three times what running it does (some 200µs
// of CPU against 60µs on the development machine), twice in every login.
// The queries of a login are therefore prepared on Postgres, once per
// connection, and run as EXECUTE name(values).
//
// SQL-level PREPARE and EXECUTE rather than the protocol's: EXECUTE is an
// ordinary text query, so pgdriver's handling of a connection that failed
// mid-answer (it closes it, and the pool drops it) covers it. Its prepared
// statements skip that, and a connection left with half an answer unread
// would hand it to the next query. Each statement is made by the same bun
// query as the text form, with $1, $2… in place of the values, so its SQL is
// written once; its name is a hash of that text. SQLite parses in process,
// and keeps the text form.
//
// Prepared statements belong to a database session, so Latchkey cannot run
// behind a pooler that hands one session's statements to another
// (PgBouncer in transaction or statement mode).

// statement is a query's prepared form: its name, and what to PREPARE.
type statement struct {
	name, query string
}

// statements holds each query's prepared form by key, made once.
type statements struct {
	mu sync.Mutex
	m  map[string]statement
}

// statement returns the prepared form of the query build makes with $1…$n
// (n = nargs), under key.
func (st *statements) statement(key string, nargs int, build func(args ...any) string) statement {
	st.mu.Lock()
	defer st.mu.Unlock()
	if p, ok := st.m[key]; ok {
		return p
	}
	ps := make([]any, nargs)
	for i := range ps {
		ps[i] = bun.Safe("$" + strconv.Itoa(i+1))
	}
	query := build(ps...)
	sum := sha256.Sum256([]byte(query))
	p := statement{name: "latchkey_" + hex.EncodeToString(sum[:12]), query: query}
	if st.m == nil {
		st.m = make(map[string]statement)
	}
	st.m[key] = p
	return p
}

// execute runs the prepared form of a query on one connection: run gets the
// connection and "EXECUTE name(?, ?…)" for its arguments. A connection that
// has not prepared it yet answers 26000, and one whose plan no longer fits
// the tables (a migration changed a column's type) 0A000; either way the
// statement is prepared again and run once more.
func (s *Store) execute(ctx context.Context, p statement, nargs int, run func(conn bun.Conn, execute string) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	execute := "EXECUTE " + p.name
	if nargs > 0 {
		execute += "(" + strings.Repeat("?, ", nargs-1) + "?)"
	}
	err = run(conn, execute)
	code := pgCode(err)
	if code != "26000" && code != "0A000" {
		return err
	}
	// Through database/sql itself: bun would read the $n as its own.
	if code == "0A000" {
		if _, err := conn.Conn.ExecContext(ctx, "DEALLOCATE "+p.name); err != nil {
			return err
		}
	}
	if _, err := conn.Conn.ExecContext(ctx, "PREPARE "+p.name+" AS "+p.query); err != nil {
		return err
	}
	return run(conn, execute)
}

// pgCode is a Postgres error's SQLSTATE, or "".
func pgCode(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

// selectInto runs the select query build makes with args and scans its rows
// into dest: on Postgres prepared (under key), elsewhere as text.
func (s *Store) selectInto(ctx context.Context, key string, build func(args ...any) *bun.SelectQuery, dest any, args ...any) error {
	if s.dialect != DialectPostgres {
		return build(args...).Scan(ctx, dest)
	}
	p := s.stmts.statement(key, len(args), func(ps ...any) string { return build(ps...).String() })
	return s.execute(ctx, p, len(args), func(conn bun.Conn, execute string) error {
		return conn.NewRaw(execute, args...).Scan(ctx, dest)
	})
}

// update runs the update query build makes with args and answers how many
// rows it changed: on Postgres prepared (under key), elsewhere as text.
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
