package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Latchkey becomes an OpenID Connect provider (issue 10). It keeps:
//   - consents: a person's remembered "Allow" for an app, one per user and
//     app;
//   - grants: what one authorization code gave an app, the family of its
//     access tokens and its rotating refresh token;
//   - signing_keys: the provider's keys, sealed, one per algorithm and
//     rotation epoch, so every instance signs with the same key.
//
// Consents and grants go with their user (ON DELETE CASCADE, as passkeys
// do; the store turns SQLite's foreign keys on). Scope and AMR lists are
// JSON arrays, as passkeys' transports are: one portable column type that
// keeps the order.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		type consent struct {
			bun.BaseModel `bun:"table:consents"`

			UserID    int64     `bun:"user_id,pk"`
			AppID     string    `bun:"app_id,pk,type:text"`
			Scopes    string    `bun:"scopes,type:text,notnull"`
			GrantedAt time.Time `bun:"granted_at,notnull"`
		}
		type grant struct {
			bun.BaseModel `bun:"table:grants"`

			ID               string    `bun:"id,pk,type:text"`
			UserID           int64     `bun:"user_id,notnull"`
			AppID            string    `bun:"app_id,type:text,notnull"`
			Scopes           string    `bun:"scopes,type:text,notnull"`
			AuthTime         time.Time `bun:"auth_time,notnull"`
			AMR              string    `bun:"amr,type:text,notnull"`
			PasskeyUID       string    `bun:"passkey_uid,type:text,notnull"`
			RefreshGen       int64     `bun:"refresh_gen,notnull"`
			RefreshExpiresAt time.Time `bun:"refresh_expires_at,notnull"`
			CreatedAt        time.Time `bun:"created_at,notnull"`
			// NULL while the grant is live.
			RevokedAt time.Time `bun:"revoked_at,nullzero"`
		}
		type signingKey struct {
			bun.BaseModel `bun:"table:signing_keys"`

			Alg       string    `bun:"alg,pk,type:text"`
			Epoch     int64     `bun:"epoch,pk"`
			KID       string    `bun:"kid,type:text,notnull,unique"`
			Sealed    []byte    `bun:"sealed,notnull"`
			CreatedAt time.Time `bun:"created_at,notnull"`
		}

		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewCreateTable().Model((*consent)(nil)).
				ForeignKey(`("user_id") REFERENCES "users" ("id") ON DELETE CASCADE`).
				Exec(ctx); err != nil {
				return fmt.Errorf("create consents: %w", err)
			}
			if _, err := tx.NewCreateTable().Model((*grant)(nil)).
				ForeignKey(`("user_id") REFERENCES "users" ("id") ON DELETE CASCADE`).
				Exec(ctx); err != nil {
				return fmt.Errorf("create grants: %w", err)
			}
			if _, err := tx.NewCreateTable().Model((*signingKey)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create signing_keys: %w", err)
			}
			return execAll(ctx, tx, []string{
				// Revoking a user's grants, or one app's; it also serves the
				// cascade from users.
				`CREATE INDEX grants_user_app_idx ON grants (user_id, app_id)`,
				// The periodic cleanup deletes grants revoked, or whose refresh
				// expired, before a time: one index for each side of its OR.
				`CREATE INDEX grants_revoked_at_idx ON grants (revoked_at) WHERE revoked_at IS NOT NULL`,
				`CREATE INDEX grants_refresh_expires_at_idx ON grants (refresh_expires_at)`,
			})
		})
	}, func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, table := range []string{"signing_keys", "grants", "consents"} {
				if _, err := tx.NewDropTable().Table(table).IfExists().Exec(ctx); err != nil {
					return fmt.Errorf("drop %s: %w", table, err)
				}
			}
			return nil
		})
	})
}
