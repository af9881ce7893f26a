package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// A passkey added from an email-link session is provisional for a while;
// NULL is a passkey that never was.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			typ := "TIMESTAMPTZ"
			if db.Dialect().Name().String() == "sqlite" {
				// What Bun's SQLite dialect writes for time.Time columns.
				typ = "TIMESTAMP"
			}
			if _, err := tx.ExecContext(ctx, "ALTER TABLE passkeys ADD COLUMN provisional_until "+typ); err != nil {
				return fmt.Errorf("add passkeys.provisional_until: %w", err)
			}
			return nil
		})
	}, func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE passkeys DROP COLUMN provisional_until"); err != nil {
				return fmt.Errorf("drop passkeys.provisional_until: %w", err)
			}
			return nil
		})
	})
}
