package bunstore

import (
	"database/sql"
	"errors"
	"fmt"
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
// uniqueness rule a person can break, auth.ErrNotFound for no rows, and
// otherwise err with what was being done.
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
	return fmt.Errorf("bunstore: %s: %w", op, err)
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
