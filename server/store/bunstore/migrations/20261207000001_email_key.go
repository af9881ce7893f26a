package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/latchkey/latchkey/server/auth"
)

// Email addresses become unique by auth.EmailKey, computed in Go, instead of
// by the database's lower(email): SQLite's lower() folds only ASCII, so
// "Éve@" and "éve@" were two accounts there and one on Postgres, and neither
// database saw "e\u0301ve@" (a decomposed é) or an invisible character as
// the same address. The key is filled here with the function the domain
// uses, so rows stored before and after agree; a released address (NULL)
// has no key, and the unique index allows any number of NULLs.
//
// Existing rows may collide under the new rule. The migration then changes
// nothing and fails with one line naming the accounts, for the operator to
// settle, rather than a bare unique-index violation.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			// First, so that on Postgres the table is locked until commit and
			// no row arrives between reading the keys and indexing them.
			if _, err := tx.ExecContext(ctx, `ALTER TABLE users ADD COLUMN email_key text`); err != nil {
				return fmt.Errorf("add users.email_key: %w", err)
			}
			var users []emailKeyUser
			if err := tx.NewSelect().Model(&users).Column("id", "username", "email").Order("id").Scan(ctx); err != nil {
				return fmt.Errorf("read users: %w", err)
			}
			byKey := make(map[string][]emailKeyUser, len(users))
			var keys []string // first-seen order, so the report is stable
			for _, u := range users {
				k := auth.EmailKey(u.Email)
				if k == "" {
					continue
				}
				if _, seen := byKey[k]; !seen {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], u)
			}
			if msg := emailKeyCollisions(keys, byKey); msg != "" {
				return errors.New(msg)
			}
			for _, k := range keys {
				u := byKey[k][0]
				if _, err := tx.NewUpdate().Table("users").Set("email_key = ?", k).Where("id = ?", u.ID).Exec(ctx); err != nil {
					return fmt.Errorf("fill users.email_key: %w", err)
				}
			}
			// The index name is how the store recognises a taken address.
			for _, stmt := range []string{
				`DROP INDEX IF EXISTS users_email_lower_key`,
				`CREATE UNIQUE INDEX users_email_key_key ON users (email_key)`,
			} {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
	}, func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, stmt := range []string{
				`DROP INDEX IF EXISTS users_email_key_key`,
				`ALTER TABLE users DROP COLUMN email_key`,
				`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`,
			} {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
	})
}

// The report names at most this many groups, and this many accounts of
// each, so that it stays one readable line however many collide.
const (
	emailKeyGroupsShown   = 3
	emailKeyAccountsShown = 3
)

// emailKeyUser is the part of a users row this migration reads.
type emailKeyUser struct {
	bun.BaseModel `bun:"table:users"`

	ID       int64  `bun:"id,pk"`
	Username string `bun:"username"`
	Email    string `bun:"email"`
}

// emailKeyCollisions describes the groups of accounts whose addresses share
// a key, in one line that names them by id and username (never by address:
// this goes to the log) and says what the operator must do; "" if none.
func emailKeyCollisions(keys []string, byKey map[string][]emailKeyUser) string {
	var groups []string
	for _, k := range keys {
		us := byKey[k]
		if len(us) < 2 {
			continue
		}
		var names []string
		for _, u := range us[:min(len(us), emailKeyAccountsShown)] {
			names = append(names, fmt.Sprintf("%d (%s)", u.ID, u.Username))
		}
		if n := len(us) - len(names); n > 0 {
			names = append(names, fmt.Sprintf("%d more", n))
		}
		groups = append(groups, strings.Join(names, ", "))
	}
	if len(groups) == 0 {
		return ""
	}
	shown := groups[:min(len(groups), emailKeyGroupsShown)]
	more := ""
	if n := len(groups) - len(shown); n > 0 {
		more = fmt.Sprintf(" and %d more group(s)", n)
	}
	return fmt.Sprintf("%d group(s) of accounts have email addresses that are now the same "+
		"(they differ only in case, accent encoding or invisible characters): users %s%s. "+
		"Nothing was changed. Give all but one account in each group another address "+
		"(UPDATE users SET email = '...' WHERE id = ...) or delete those accounts, then start again; "+
		"see Upgrading in the README",
		len(groups), strings.Join(shown, "; users "), more)
}
