package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/uptrace/bun"
)

// An address is unproven until a login link sent to it is used (issue 14,
// item 2). This migration:
//   - adds users.email_verified_at (NULL: unproven) and marks every existing
//     account proven as of its creation, since those addresses were in use
//     before the rule existed;
//   - lets users.email be NULL, which is how an account that lost an
//     unproven address (after 7 days) or never had one is stored; the unique
//     index treats NULLs as distinct, so any number of accounts may have
//     none. The same holds for users.email_key when an earlier migration
//     added it NOT NULL;
//   - adds users.email_pending: an address shown to its account but not held
//     by it (sign-up with a taken address under account-enumeration
//     protection), neither unique nor used to find anyone;
//   - indexes the unproven addresses, which the periodic release scans.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name().String() == "pg" {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				stmts := []string{
					`ALTER TABLE users ALTER COLUMN email DROP NOT NULL`,
					`ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ`,
					`ALTER TABLE users ADD COLUMN email_pending TEXT`,
				}
				if ok, err := hasColumn(ctx, tx, "email_key"); err != nil {
					return err
				} else if ok {
					stmts = append(stmts, `ALTER TABLE users ALTER COLUMN email_key DROP NOT NULL`)
				}
				return execAll(ctx, tx, append(stmts, proofData...))
			})
		}
		return sqliteDropNotNull(ctx, db, []string{
			`ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP`,
			`ALTER TABLE users ADD COLUMN email_pending TEXT`,
		}, "email", "email_key")
	}, func(ctx context.Context, db *bun.DB) error {
		// Down keeps email nullable: filling released addresses back in is
		// not possible.
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return execAll(ctx, tx, []string{
				`DROP INDEX IF EXISTS users_unproven_idx`,
				`ALTER TABLE users DROP COLUMN email_pending`,
				`ALTER TABLE users DROP COLUMN email_verified_at`,
			})
		})
	})
}

// proofData runs after the columns exist, on both dialects.
var proofData = []string{
	`UPDATE users SET email_verified_at = created_at`,
	`CREATE INDEX users_unproven_idx ON users (created_at) WHERE email_verified_at IS NULL`,
}

func execAll(ctx context.Context, tx bun.IDB, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

func hasColumn(ctx context.Context, tx bun.Tx, column string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = ?`, column).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for users.%s: %w", column, err)
	}
	return n > 0, nil
}

// sqliteDropNotNull runs before, then rebuilds the users table without the
// NOT NULL on the named columns (SQLite cannot alter a column), following
// SQLite's documented procedure: foreign keys off on one connection, copy
// into a new table, drop, rename, recreate the indexes, check the foreign
// keys, all in one transaction. The table's current definition is read from
// the schema rather than restated here, so columns added by other
// migrations survive.
func sqliteDropNotNull(ctx context.Context, db *bun.DB, before []string, columns ...string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Dropping the old table with foreign keys on would cascade to passkeys.
	// The pragma cannot change inside a transaction, hence one connection.
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	return conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := execAll(ctx, tx, before); err != nil {
			return err
		}
		var create string
		if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'`).Scan(&create); err != nil {
			return fmt.Errorf("read users table: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL`)
		if err != nil {
			return fmt.Errorf("read users indexes: %w", err)
		}
		var indexes []string
		for rows.Next() {
			var s sql.NullString
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			indexes = append(indexes, s.String)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range columns {
			create = regexp.MustCompile(`(?i)("`+c+`"\s+TEXT)\s+NOT\s+NULL`).ReplaceAllString(create, "$1")
		}
		if regexp.MustCompile(`(?i)"email"\s+TEXT\s+NOT\s+NULL`).MatchString(create) || !strings.Contains(create, `"email"`) {
			return fmt.Errorf("users table has an unexpected definition: %s", create)
		}
		renamed := strings.Replace(create, `CREATE TABLE "users"`, `CREATE TABLE "users_rebuild"`, 1)
		if renamed == create {
			return fmt.Errorf("users table has an unexpected definition: %s", create)
		}
		stmts := []string{
			renamed,
			`INSERT INTO users_rebuild SELECT * FROM users`,
			`DROP TABLE users`,
			`ALTER TABLE users_rebuild RENAME TO users`,
		}
		stmts = append(stmts, indexes...)
		if err := execAll(ctx, tx, append(stmts, proofData...)); err != nil {
			return err
		}
		var broken int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&broken); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		if broken != 0 {
			return fmt.Errorf("rebuilding users broke %d foreign keys", broken)
		}
		return nil
	})
}
