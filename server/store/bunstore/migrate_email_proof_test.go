package bunstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun/migrate"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore/migrations"
)

// Accounts that existed before addresses needed proof count as proven, keep
// their passkeys, and the rebuilt SQLite table still cascades deletes.
func TestEmailProofMigrationKeepsExistingAccountsProven(t *testing.T) {
	t.Parallel()
	for name, newURL := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "x.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s, err := open(newURL(t), "")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The schema as the first release left it.
			before := migrate.NewMigrations()
			for _, m := range migrations.Migrations.Sorted() {
				if m.Name < "20261207000001" {
					before.Add(m)
				}
			}
			m := migrate.NewMigrator(s.db, before, migrate.WithMarkAppliedOnSuccess(true))
			if err := m.Init(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if _, err := s.db.ExecContext(ctx, `INSERT INTO users (uid, handle, username, email, display_name, created_at, updated_at)
				VALUES ('u1', ?, 'olduser', 'old@example.com', 'Old', ?, ?)`, []byte{1, 2, 3}, created, created); err != nil {
				t.Fatal(err)
			}
			var id int64
			if err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE uid = 'u1'`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.ExecContext(ctx, `INSERT INTO passkeys (uid, user_id, credential_id, public_key, aaguid, sign_count, transports,
				backup_eligible, backup_state, attestation_type, name, created_at) VALUES ('p1', ?, ?, ?, ?, 0, '[]', false, false, 'none', 'Key', ?)`,
				id, []byte{9}, []byte{8}, []byte{7}, created); err != nil {
				t.Fatal(err)
			}

			if err := s.migrate(ctx); err != nil {
				t.Fatalf("migrating an existing database: %v", err)
			}
			u, err := s.UserByEmail(ctx, "old@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if !u.EmailVerifiedAt.Equal(created) {
				t.Fatalf("an existing account's address is not proven: EmailVerifiedAt = %v, want %v", u.EmailVerifiedAt, created)
			}
			if keys, err := s.Passkeys(ctx, u.ID); err != nil || len(keys) != 1 {
				t.Fatalf("passkeys after the migration: %v, %v", keys, err)
			}
			if n, err := s.ReleaseUnprovenEmails(ctx, created.Add(1000*time.Hour), ""); err != nil || n != 0 {
				t.Fatalf("the release took %d proven addresses (%v)", n, err)
			}
			if err := s.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PasskeyByCredentialID(ctx, []byte{9}); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("deleting the user left its passkey (foreign key lost?): %v", err)
			}
		})
	}
}
