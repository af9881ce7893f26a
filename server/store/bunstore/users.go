package bunstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/server/auth"
)

// CreateUser implements auth.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *auth.User, first *auth.Passkey) error {
	if u == nil || first == nil {
		return errors.New("bunstore: create user: a user needs a first passkey")
	}
	ur := userToRow(u)
	ur.ID = 0 // the database assigns it
	pr, err := passkeyToRow(first)
	if err != nil {
		return err
	}
	pr.ID = 0
	if s.dialect == DialectPostgres {
		// One statement, so one round trip, and atomic as any statement
		// is: the user's INSERT runs in a WITH clause and the passkey
		// takes its id from it. A refusal of either undoes both.
		err = s.db.NewInsert().
			With("new_user", s.db.NewInsert().Model(ur).Returning("id")).
			Model(pr).
			Value("user_id", "(SELECT id FROM new_user)").
			Returning("id, user_id").
			Scan(ctx)
		ur.ID = pr.UserID
	} else {
		// SQLite has no INSERT in WITH; a transaction costs no round
		// trips there.
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(ur).Returning("id").Exec(ctx); err != nil {
				return err
			}
			pr.UserID = ur.ID
			if _, err := tx.NewInsert().Model(pr).Returning("id").Exec(ctx); err != nil {
				return err
			}
			return nil
		})
	}
	if err != nil {
		return mapError("create user", err)
	}
	// Only now: a failed call must not leave IDs of rows that were rolled
	// back on the caller's structs.
	u.ID = ur.ID
	first.ID = pr.ID
	first.UserID = ur.ID
	return nil
}

// UserByID implements auth.UserStore.
func (s *Store) UserByID(ctx context.Context, id int64) (*auth.User, error) {
	return s.userWhere(ctx, "user by id", "id = ?", id)
}

// UserByUID implements auth.UserStore.
func (s *Store) UserByUID(ctx context.Context, uid string) (*auth.User, error) {
	return s.userWhere(ctx, "user by uid", "uid = ?", uid)
}

// UserByHandle implements auth.UserStore.
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (*auth.User, error) {
	return s.userWhere(ctx, "user by handle", "handle = ?", nonNil(handle))
}

// UserByUsername implements auth.UserStore.
func (s *Store) UserByUsername(ctx context.Context, username string) (*auth.User, error) {
	// Written exactly as the unique index is, so the index serves the lookup.
	return s.userWhere(ctx, "user by username", "lower(username) = lower(?)", username)
}

// UserByEmail implements auth.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	// The key, computed in Go, not lower(): SQLite's folds only ASCII.
	key := auth.EmailKey(email)
	if key == "" {
		return nil, fmt.Errorf("bunstore: user by email: %w", auth.ErrNotFound)
	}
	return s.userWhere(ctx, "user by email", "email_key = ?", key)
}

func (s *Store) userWhere(ctx context.Context, op, where string, arg any) (*auth.User, error) {
	// Every signed-in request reads its user by id: prepared, as a login's
	// queries are. Into a slice, which is empty rather than an error when
	// nothing matches.
	var rows []userRow
	query := func(args ...any) *bun.SelectQuery {
		return s.db.NewSelect().Model((*userRow)(nil)).Where(where, args[0]).Limit(1)
	}
	if err := s.selectInto(ctx, "user where "+where, query, &rows, arg); err != nil {
		return nil, mapError(op, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("bunstore: %s: %w", op, auth.ErrNotFound)
	}
	return rows[0].toUser(), nil
}

// Passkeys implements auth.UserStore.
func (s *Store) Passkeys(ctx context.Context, userID int64) ([]auth.Passkey, error) {
	var rows []passkeyRow
	// id breaks ties between passkeys created within the same microsecond.
	if err := s.db.NewSelect().Model(&rows).
		Where("user_id = ?", userID).
		Order("created_at ASC", "id ASC").
		Scan(ctx); err != nil {
		return nil, mapError("passkeys", err)
	}
	out := make([]auth.Passkey, 0, len(rows))
	for i := range rows {
		p, err := rows[i].toPasskey()
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}

// UserWithPasskeys implements auth.UserStore: the user's row joined with
// each of their passkeys, in one query.
func (s *Store) UserWithPasskeys(ctx context.Context, ref auth.UserRef) (*auth.User, []auth.Passkey, error) {
	// The conditions are the UserBy… lookups', on the users table as u.
	var (
		where string
		arg   any
		n     int
	)
	if ref.ID != 0 {
		where, arg, n = "u.id = ?", ref.ID, n+1
	}
	if len(ref.Handle) > 0 {
		where, arg, n = "u.handle = ?", ref.Handle, n+1
	}
	if ref.Username != "" {
		where, arg, n = "lower(u.username) = lower(?)", ref.Username, n+1
	}
	if ref.Email != "" {
		key := auth.EmailKey(ref.Email)
		if key == "" {
			return nil, nil, fmt.Errorf("bunstore: user with passkeys: %w", auth.ErrNotFound)
		}
		where, arg, n = "u.email_key = ?", key, n+1
	}
	if n != 1 {
		return nil, nil, fmt.Errorf("bunstore: user with passkeys: the reference must name the user by exactly one field, got %d", n)
	}
	var rows []userPasskeyRow
	query := func(args ...any) *bun.SelectQuery {
		// id breaks ties between passkeys created within the same
		// microsecond, as in Passkeys.
		return s.db.NewSelect().
			ColumnExpr(userPasskeyColumns(s.db)).
			TableExpr("users AS u").
			Join("LEFT JOIN passkeys AS p ON p.user_id = u.id").
			Where(where, args[0]).
			OrderExpr("p.created_at ASC, p.id ASC")
	}
	if err := s.selectInto(ctx, "user with passkeys where "+where, query, &rows, arg); err != nil {
		return nil, nil, mapError("user with passkeys", err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("bunstore: user with passkeys: %w", auth.ErrNotFound)
	}
	keys := make([]auth.Passkey, 0, len(rows))
	for i := range rows {
		if rows[i].Passkey.ID == 0 {
			// The LEFT JOIN's row of a user without passkeys.
			continue
		}
		p, err := rows[i].Passkey.toPasskey()
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, *p)
	}
	return rows[0].User.toUser(), keys, nil
}

// PasskeyByCredentialID returns the passkey with that credential id, or
// auth.ErrNotFound; the contract suite uses it (storetest.Users).
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*auth.Passkey, error) {
	row := new(passkeyRow)
	if err := s.db.NewSelect().Model(row).
		Where("credential_id = ?", nonNil(credentialID)).
		Limit(1).
		Scan(ctx); err != nil {
		return nil, mapError("passkey by credential id", err)
	}
	return row.toPasskey()
}

// AddPasskey implements auth.UserStore.
func (s *Store) AddPasskey(ctx context.Context, p *auth.Passkey) error {
	row, err := passkeyToRow(p)
	if err != nil {
		return err
	}
	row.ID = 0
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("bunstore: add passkey: user %d: %w", p.UserID, auth.ErrNotFound)
		}
		return mapError("add passkey", err)
	}
	p.ID = row.ID
	return nil
}

// RecordPasskeyUse implements auth.UserStore.
func (s *Store) RecordPasskeyUse(ctx context.Context, passkeyID int64, signCount uint32, backupState bool, at time.Time) error {
	var lastUsed any // NULL for a zero time, as nullzero would write it
	if !at.IsZero() {
		lastUsed = at.UTC()
	}
	count := int64(signCount)
	// The counter check is part of the UPDATE so that two logins racing with
	// the same counter value cannot both read the old value and both pass:
	// the second finds the row already moved on and changes nothing. Zero
	// means the authenticator keeps no counter, which is accepted only while
	// the stored count is zero too: once a passkey has counted, a zero is as
	// suspect as any count that does not increase.
	query := func(args ...any) *bun.UpdateQuery {
		count, backupState, lastUsed, id := args[0], args[1], args[2], args[3]
		return s.db.NewUpdate().Model((*passkeyRow)(nil)).
			Set("sign_count = ?", count).
			Set("backup_state = ?", backupState).
			Set("last_used_at = ?", lastUsed).
			Where("id = ?", id).
			Where("(sign_count < ? OR (? = 0 AND sign_count = 0))", count, count)
	}
	n, err := s.update(ctx, "record passkey use", query, count, backupState, lastUsed, passkeyID)
	if err != nil {
		return mapError("record passkey use", err)
	}
	if n > 0 {
		return nil
	}
	exists, err := s.db.NewSelect().Model((*passkeyRow)(nil)).Where("id = ?", passkeyID).Exists(ctx)
	if err != nil {
		return mapError("record passkey use", err)
	}
	if !exists {
		return fmt.Errorf("bunstore: record passkey use: passkey %d: %w", passkeyID, auth.ErrNotFound)
	}
	return auth.SignCountRefused(fmt.Errorf("passkey %d: sign count %d not above the stored one", passkeyID, signCount))
}

// RenamePasskey implements auth.UserStore.
func (s *Store) RenamePasskey(ctx context.Context, userID int64, passkeyUID, name string) (*auth.Passkey, error) {
	row := new(passkeyRow)
	if err := s.db.NewUpdate().Model(row).
		Set("name = ?", name).
		Where("uid = ?", passkeyUID).
		Where("user_id = ?", userID).
		Returning("*").
		Scan(ctx); err != nil {
		return nil, mapError("rename passkey", err)
	}
	return row.toPasskey()
}

// DeletePasskey implements auth.UserStore.
func (s *Store) DeletePasskey(ctx context.Context, userID int64, passkeyUID string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Two deletes of a two-passkey user's passkeys must not both see a
		// count of two. SQLite already runs one write transaction at a time
		// (BEGIN IMMEDIATE); Postgres needs the user's row locked. NO KEY
		// UPDATE is enough to queue deletes and, unlike UPDATE, does not
		// block AddPasskey's foreign-key check.
		if s.dialect == DialectPostgres {
			var id int64
			if err := tx.NewSelect().Model((*userRow)(nil)).Column("id").
				Where("id = ?", userID).
				For("NO KEY UPDATE").
				Scan(ctx, &id); err != nil {
				return err
			}
		}
		var id int64
		if err := tx.NewSelect().Model((*passkeyRow)(nil)).Column("id").
			Where("uid = ?", passkeyUID).
			Where("user_id = ?", userID).
			Scan(ctx, &id); err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*passkeyRow)(nil)).Where("user_id = ?", userID).Count(ctx)
		if err != nil {
			return err
		}
		if n <= 1 {
			return auth.LastPasskey()
		}
		_, err = tx.NewDelete().Model((*passkeyRow)(nil)).Where("id = ?", id).Exec(ctx)
		return err
	})
	var ae *auth.Error
	if errors.As(err, &ae) {
		return err
	}
	return mapError("delete passkey", err)
}

// MarkEmailProven implements auth.UserStore.
func (s *Store) MarkEmailProven(ctx context.Context, userID int64, email string, at time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Model((*userRow)(nil)).
		Set("email_verified_at = ?", at.UTC()).
		Set("updated_at = ?", at.UTC()).
		Where("id = ?", userID).
		// Compared by key, as UserByEmail and the unique index do.
		Where("email_key = ?", auth.EmailKey(email)).
		Where("email_verified_at IS NULL").
		Exec(ctx)
	if err != nil {
		return false, mapError("mark email proven", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("bunstore: mark email proven: %w", err)
	}
	return n > 0, nil
}

// SetEmail implements auth.UserStore.
func (s *Store) SetEmail(ctx context.Context, userID int64, email string, provenAt time.Time) error {
	res, err := s.db.NewUpdate().Model((*userRow)(nil)).
		Set("email = ?", nullIfEmpty(email)).
		Set("email_key = ?", nullIfEmpty(auth.EmailKey(email))).
		Set("email_verified_at = ?", provenAt.UTC()).
		Set("email_pending = NULL").
		Set("updated_at = ?", provenAt.UTC()).
		Where("id = ?", userID).
		Exec(ctx)
	if err != nil {
		return mapError("set email", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("bunstore: set email: %w", err)
	} else if n == 0 {
		return fmt.Errorf("bunstore: set email: user %d: %w", userID, auth.ErrNotFound)
	}
	return nil
}

// ReleaseUnprovenEmails implements auth.UserStore.
func (s *Store) ReleaseUnprovenEmails(ctx context.Context, createdBefore time.Time, email string) (int, error) {
	q := s.db.NewUpdate().Model((*userRow)(nil)).
		Set("email = NULL").
		Set("email_key = NULL").
		Set("email_pending = NULL").
		// Served by users_unproven_idx.
		Where("email_verified_at IS NULL").
		Where("created_at < ?", createdBefore.UTC())
	if email != "" {
		q = q.Where("email_key = ?", auth.EmailKey(email))
	} else {
		q = q.Where("(email IS NOT NULL OR email_pending IS NOT NULL)")
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, mapError("release unproven emails", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("bunstore: release unproven emails: %w", err)
	}
	return int(n), nil
}

// DeleteUser implements auth.UserStore. Passkeys, consents and grants go
// with the user through ON DELETE CASCADE.
func (s *Store) DeleteUser(ctx context.Context, userID int64) error {
	res, err := s.db.NewDelete().Model((*userRow)(nil)).Where("id = ?", userID).Exec(ctx)
	if err != nil {
		return mapError("delete user", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("bunstore: delete user: %w", err)
	} else if n == 0 {
		return fmt.Errorf("bunstore: delete user %d: %w", userID, auth.ErrNotFound)
	}
	return nil
}

func isForeignKeyViolation(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23503"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// nullIfEmpty writes an empty string as NULL, as nullzero does for models:
// no address, no key, and the unique index allows any number of those.
func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}
