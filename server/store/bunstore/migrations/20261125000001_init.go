package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		type user struct {
			bun.BaseModel `bun:"table:users"`

			ID          int64     `bun:"id,pk,autoincrement"`
			UID         string    `bun:"uid,type:text,notnull,unique"`
			Handle      []byte    `bun:"handle,notnull,unique"`
			Username    string    `bun:"username,type:text,notnull"`
			Email       string    `bun:"email,type:text,notnull"`
			DisplayName string    `bun:"display_name,type:text,notnull"`
			CreatedAt   time.Time `bun:"created_at,notnull"`
			UpdatedAt   time.Time `bun:"updated_at,notnull"`
		}
		type passkey struct {
			bun.BaseModel `bun:"table:passkeys"`

			ID              int64     `bun:"id,pk,autoincrement"`
			UID             string    `bun:"uid,type:text,notnull,unique"`
			UserID          int64     `bun:"user_id,notnull"`
			CredentialID    []byte    `bun:"credential_id,notnull,unique"`
			PublicKey       []byte    `bun:"public_key,notnull"`
			AAGUID          []byte    `bun:"aaguid,notnull"`
			SignCount       int64     `bun:"sign_count,notnull"`
			Transports      string    `bun:"transports,type:text,notnull"`
			BackupEligible  bool      `bun:"backup_eligible,notnull"`
			BackupState     bool      `bun:"backup_state,notnull"`
			AttestationType string    `bun:"attestation_type,type:text,notnull"`
			Name            string    `bun:"name,type:text,notnull"`
			CreatedAt       time.Time `bun:"created_at,notnull"`
			LastUsedAt      time.Time `bun:"last_used_at,nullzero"`
		}

		// DDL is transactional in both Postgres and SQLite, so a failure
		// part-way leaves no half-built schema for the next attempt to trip on.
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewCreateTable().Model((*user)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create users: %w", err)
			}
			if _, err := tx.NewCreateTable().Model((*passkey)(nil)).
				ForeignKey(`("user_id") REFERENCES "users" ("id") ON DELETE CASCADE`).
				Exec(ctx); err != nil {
				return fmt.Errorf("create passkeys: %w", err)
			}
			// Case-insensitive uniqueness lives in the database rather than in
			// a check-then-insert, which two concurrent sign-ups would race
			// past. The index names are how the store recognises which
			// uniqueness was violated.
			for _, stmt := range []string{
				`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`,
				`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`,
				`CREATE INDEX passkeys_user_id_idx ON passkeys (user_id)`,
			} {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
	}, func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, table := range []string{"passkeys", "users"} {
				if _, err := tx.NewDropTable().Table(table).IfExists().Exec(ctx); err != nil {
					return fmt.Errorf("drop %s: %w", table, err)
				}
			}
			return nil
		})
	})
}
