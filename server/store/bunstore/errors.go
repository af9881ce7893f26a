package bunstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/server/auth"
)

// uniqueViolation ties a uniqueness rule to the error a person sees when
// they break it. pg is the constraint or index name Postgres reports;
// sqlite is how SQLite names it in "UNIQUE constraint failed: ...", which
// for a column is table.column and for an expression index its name.
type uniqueViolation struct {
	pg, sqlite string
	err        func(cause error) *auth.Error
}

var uniqueViolations = []uniqueViolation{
	{"users_username_lower_key", "index 'users_username_lower_key'", auth.UsernameTaken},
	{"users_email_key_key", "users.email_key", auth.EmailTaken},
	{"passkeys_credential_id_key", "passkeys.credential_id", auth.PasskeyRegistered},
}

// mapError gives err the meaning callers branch on: an *auth.Error for a
// uniqueness rule a person can break, auth.ErrNotFound for no rows,
// auth.StoreUnavailable for a database that cannot be reached, and
// otherwise err with what was being done. Every query's error passes
// through here, so this is the one place a connection failure becomes a 503.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("bunstore: %s: %w", op, auth.ErrNotFound)
	}
	if name, ok := uniqueConstraint(err); ok {
		for _, v := range uniqueViolations {
			if name == v.pg || name == v.sqlite {
				return v.err(err)
			}
		}
	}
	if unreachable(err) {
		return auth.StoreUnavailable(fmt.Errorf("bunstore: %s: %w", op, err))
	}
	return fmt.Errorf("bunstore: %s: %w", op, err)
}

// unreachable reports whether err says the database could not be reached
// or did not answer, rather than that it refused the query: a retry a
// moment later may succeed, since the pool dials again by itself. A
// cancelled context is not one (the client went away); a deadline is.
func unreachable(err error) bool {
	var netErr net.Error
	switch {
	// net.Error: *net.OpError (refused, reset, broken pipe, i/o timeout), a
	// DNS failure, net.ErrClosed, and context.DeadlineExceeded, all alike.
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), // the server hung up mid-answer
		errors.Is(err, driver.ErrBadConn), // database/sql gave up retrying a broken connection
		errors.Is(err, sql.ErrConnDone):
		return true
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		switch {
		case strings.HasPrefix(code, "08"), // connection exception
			strings.HasPrefix(code, "53"),                     // insufficient resources: too many connections, out of memory, disk full
			code == "57P01", code == "57P02", code == "57P03": // shutting down, crashed, starting up
			return true
		}
		// FATAL and PANIC end the session: the connection is gone.
		sev := pgErr.Field('V')
		return sev == "FATAL" || sev == "PANIC"
	}
	// database/sql's "database is closed" has no exported value; it comes
	// only while the server shuts down.
	return strings.Contains(err.Error(), "sql: database is closed")
}

// uniqueConstraint reports the violated uniqueness rule as the database
// names it (see uniqueViolation).
func uniqueConstraint(err error) (string, bool) {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		if pgErr.Field('C') != "23505" {
			return "", false
		}
		return pgErr.Field('n'), true
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		if sqliteErr.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return "", false
		}
		// The message reads "UNIQUE constraint failed: <target> (2067)";
		// the code suffix is modernc's and not part of the name.
		_, target, ok := strings.Cut(sqliteErr.Error(), "UNIQUE constraint failed: ")
		if !ok {
			return "", false
		}
		if i := strings.LastIndex(target, " ("); i >= 0 {
			target = target[:i]
		}
		return target, true
	}
	return "", false
}
