package bunstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/shared"
)

// emailKeyVersion is the migration that introduced users.email_key.
const emailKeyVersion = "20261207000001"

// insertOldUser stores a user as the schema before email_key had it, with
// no check on the address: what an older release may have let in.
func insertOldUser(t *testing.T, s *bunstore.Store, username, email string) int64 {
	t.Helper()
	now := time.Now().UTC()
	var id int64
	err := s.DB().QueryRowContext(t.Context(),
		`INSERT INTO users (uid, handle, username, email, display_name, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		"uid-"+username, []byte("handle-"+username), username, email, username, now, now).Scan(&id)
	if err != nil {
		t.Fatalf("insert %s: %v", username, err)
	}
	return id
}

func appliedMigrations(t *testing.T, s *bunstore.Store) []string {
	t.Helper()
	var names []string
	if err := s.DB().NewSelect().Table("bun_migrations").Column("name").Order("name").Scan(t.Context(), &names); err != nil {
		t.Fatalf("read bun_migrations: %v", err)
	}
	return names
}

func TestEmailKeyMigrationReportsCollidingAccountsInOneLine(t *testing.T) {
	t.Parallel()
	for dialect, newURL := range databases(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := newURL(t)
			old, err := bunstore.OpenBefore(t.Context(), url, emailKeyVersion)
			if err != nil {
				t.Fatal(err)
			}
			// Pairs both old lower(email) indexes let in: a composed and a
			// decomposed é, an address and its copy with a zero-width space.
			eve := insertOldUser(t, old, "eve", "éve@example.com")
			eve2 := insertOldUser(t, old, "eve2", "e\u0301ve@example.com")
			bob := insertOldUser(t, old, "bob", "bob@example.com")
			bob2 := insertOldUser(t, old, "bob2", "bob\u200b@example.com")
			insertOldUser(t, old, "carol", "carol@example.com")
			before := appliedMigrations(t, old)
			old.Close()

			_, err = bunstore.Open(t.Context(), url, "")
			if err == nil {
				t.Fatal("Open succeeded although two pairs of accounts share an address under the new rule")
			}
			msg := err.Error()
			t.Logf("the operator reads: %s", msg)
			for _, want := range []string{
				emailKeyVersion,
				"2 group(s)",
				fmt.Sprintf("users %d (eve), %d (eve2); users %d (bob), %d (bob2)", eve, eve2, bob, bob2),
				"Nothing was changed",
				"UPDATE users SET email",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("report does not say %q:\n%s", want, msg)
				}
			}
			if strings.ContainsAny(msg, "\n\r") || len(msg) > 600 {
				t.Errorf("report is not one short line (%d bytes):\n%s", len(msg), msg)
			}
			if strings.Contains(msg, "example.com") || strings.Contains(msg, "carol") {
				t.Errorf("report names addresses or accounts that do not collide: %s", msg)
			}

			// Nothing changed: the migration is not recorded and the column
			// is not there.
			again, err := bunstore.OpenBefore(t.Context(), url, emailKeyVersion)
			if err != nil {
				t.Fatal(err)
			}
			if after := appliedMigrations(t, again); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("applied migrations %v after the failed start, want %v", after, before)
			}
			if _, err := again.DB().ExecContext(t.Context(), "SELECT email_key FROM users"); err == nil {
				t.Error("users.email_key exists after the failed migration")
			}
			// What the report asks the operator to do lets the next start
			// through.
			for id, email := range map[int64]string{eve2: "eve2@example.net", bob2: "bob2@example.net"} {
				if _, err := again.DB().ExecContext(t.Context(), "UPDATE users SET email = ? WHERE id = ?", email, id); err != nil {
					t.Fatal(err)
				}
			}
			again.Close()
			s := openStore(t, url, "")
			if got, err := s.UserByEmail(t.Context(), "e\u0301ve@example.com"); err != nil || got.ID != eve {
				t.Fatalf("after the fix, UserByEmail(decomposed) = %+v, %v; want user %d", got, err, eve)
			}
		})
	}
}

func TestEmailKeyMigrationFillsKeysOfExistingAccounts(t *testing.T) {
	t.Parallel()
	for dialect, newURL := range databases(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := newURL(t)
			old, err := bunstore.OpenBefore(t.Context(), url, emailKeyVersion)
			if err != nil {
				t.Fatal(err)
			}
			want := map[int64]string{
				insertOldUser(t, old, "eve", "Éve@example.com"):             "éve@example.com",
				insertOldUser(t, old, "bob", "Bob@Bücher.example"):          "bob@xn--bcher-kva.example",
				insertOldUser(t, old, "legacy", "le\u200bgacy@example.com"): "legacy@example.com",
				insertOldUser(t, old, "under", "u@Under_Score.example"):     "u@under_score.example",
			}
			old.Close()

			s := openStore(t, url, "")
			for id, key := range want {
				var got, email string
				if err := s.DB().QueryRowContext(t.Context(), "SELECT email_key, email FROM users WHERE id = ?", id).Scan(&got, &email); err != nil {
					t.Fatalf("read user %d: %v", id, err)
				}
				// The literal pins the rule; the call checks that the
				// migration and the domain agree.
				if got != key || got != auth.EmailKey(email) {
					t.Errorf("user %d (%+q): email_key %+q, want %+q", id, email, got, key)
				}
			}
			got, err := s.UserByEmail(t.Context(), "e\u0301VE@EXAMPLE.com")
			if err != nil || got.Username != "eve" || got.Email != "Éve@example.com" {
				t.Fatalf("UserByEmail(decomposed, upper case) = %+v, %v; want eve, as typed", got, err)
			}
			u := &auth.User{UID: "new", Handle: []byte("new"), Username: "eve_again", Email: "éve@example.com", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			p := &auth.Passkey{UID: "pk-new", CredentialID: []byte("new"), PublicKey: []byte{1}, CreatedAt: time.Now()}
			if err := s.CreateUser(t.Context(), u, p); auth.ErrorCode(err) != shared.CodeEmailTaken {
				t.Fatalf("CreateUser with an existing account's address after the migration: %v, want email_taken", err)
			}
		})
	}
}
