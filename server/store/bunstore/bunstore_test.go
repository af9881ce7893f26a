package bunstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/server/store/bunstore/migrations"
	"github.com/latchkey/latchkey/server/store/storetest"
)

func openStore(t *testing.T, databaseURL, dataDir string) *bunstore.Store {
	t.Helper()
	s, err := bunstore.Open(t.Context(), databaseURL, dataDir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteUserStore(t *testing.T) {
	t.Parallel()
	storetest.UserStore(t, func(t *testing.T) storetest.Users {
		return openStore(t, "", t.TempDir())
	})
}

func TestPostgresUserStore(t *testing.T) {
	t.Parallel()
	storetest.UserStore(t, func(t *testing.T) storetest.Users {
		return openStore(t, testenv.Postgres(t), "")
	})
}

func TestSQLiteGrantStore(t *testing.T) {
	t.Parallel()
	storetest.GrantStore(t, func(t *testing.T) storetest.Grants {
		return openStore(t, "", t.TempDir())
	})
}

func TestPostgresGrantStore(t *testing.T) {
	t.Parallel()
	storetest.GrantStore(t, func(t *testing.T) storetest.Grants {
		return openStore(t, testenv.Postgres(t), "")
	})
}

// databases yields a fresh database URL of each dialect; Postgres is
// skipped (or fails in CI) like every Postgres test when it is unreachable.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "x.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	}
}

func TestOpenTwiceAppliesNothingNew(t *testing.T) {
	t.Parallel()
	for dialect, newURL := range databases(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := newURL(t)
			first := openStore(t, url, "")
			if first.Dialect() != dialect {
				t.Fatalf("Dialect() = %q, want %q", first.Dialect(), dialect)
			}
			before := migrationRows(t, first)
			if before == 0 {
				t.Fatal("no migration recorded after the first Open")
			}
			second := openStore(t, url, "")
			if after := migrationRows(t, second); after != before {
				t.Fatalf("bun_migrations has %d rows after the second Open, %d before", after, before)
			}
		})
	}
}

// Instances of a service start together; they must all come up, not trip
// over each other's migrations.
func TestConcurrentOpensOnPostgres(t *testing.T) {
	t.Parallel()
	url := testenv.Postgres(t)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			s, err := bunstore.Open(t.Context(), url, "")
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	s := openStore(t, url, "")
	// One row per migration: none ran twice.
	if n, want := migrationRows(t, s), int64(len(migrations.Migrations.Sorted())); n != want {
		t.Fatalf("bun_migrations has %d rows after concurrent Opens, want %d", n, want)
	}
}

func migrationRows(t *testing.T, s *bunstore.Store) int64 {
	t.Helper()
	n, err := s.DB().NewSelect().Table("bun_migrations").Count(t.Context())
	if err != nil {
		t.Fatalf("count bun_migrations: %v", err)
	}
	return n
}

func TestOpenDefaultsToSQLiteInDataDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := openStore(t, "", dir)
	if s.Dialect() != bunstore.DialectSQLite {
		t.Fatalf("Dialect() = %q, want sqlite", s.Dialect())
	}
	var file string
	if err := s.DB().QueryRowContext(t.Context(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, bunstore.SQLiteFile); file != want {
		t.Fatalf("database file %q, want %q", file, want)
	}
}

func TestOpenSetsSQLitePragmas(t *testing.T) {
	t.Parallel()
	s := openStore(t, "file:"+filepath.Join(t.TempDir(), "p.db"), "")
	// Every pooled connection must carry the pragmas, not only the first,
	// so hold several at once.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := s.DB().Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{
			"foreign_keys": "1", "journal_mode": "wal", "busy_timeout": "5000", "synchronous": "1",
		} {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if got != want {
				t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"mysql://root:hunter2@db/latchkey", "DATABASE_URL"},
		{"latchkey.db", "DATABASE_URL"},
		{"postgres://user:hunter2@[::1/latchkey", "DATABASE_URL"},
		{"postgres://user:hunter2@127.0.0.1/latchkey?sslmode=sometimes", "DATABASE_URL"},
		{"sqlite:", "DATABASE_URL"},
		{"sqlite://remote-host/x.db", "DATABASE_URL"},
	} {
		_, err := bunstore.Open(t.Context(), tc.url, t.TempDir())
		if err == nil {
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want it to mention %s", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error reveals the password: %v", tc.url, err)
		}
	}
}

func TestOpenUnreachablePostgresSaysWhatFailed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 refuses connections at once; nothing listens there.
	_, err := bunstore.Open(ctx, "postgres://latchkey:hunter2@127.0.0.1:1/latchkey?sslmode=disable", "")
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") {
		t.Fatalf("error reveals the password: %v", err)
	}
	if !strings.Contains(msg, "connect") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("error %q does not say that connecting to 127.0.0.1:1 failed", msg)
	}
}

// The contract compares times to the second; this store keeps microseconds
// and always answers in UTC, which callers formatting times rely on.
func TestTimesComeBackInUTC(t *testing.T) {
	t.Parallel()
	for dialect, newURL := range databases(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, newURL(t), "")
			ctx := t.Context()
			east := time.FixedZone("UTC+5", 5*3600)
			created := time.Date(2026, 1, 2, 3, 4, 5, 678901000, east)
			u := &auth.User{UID: "u1", Handle: []byte{1}, Username: "tz", Email: "tz@example.com", CreatedAt: created, UpdatedAt: created}
			p := &auth.Passkey{UID: "p1", CredentialID: []byte{2}, PublicKey: []byte{3}, CreatedAt: created}
			if err := s.CreateUser(ctx, u, p); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordPasskeyUse(ctx, p.ID, 0, false, created); err != nil {
				t.Fatal(err)
			}
			got, err := s.UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
			if err != nil {
				t.Fatal(err)
			}
			for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt, "passkey CreatedAt": pk.CreatedAt, "LastUsedAt": pk.LastUsedAt} {
				if tm.Location() != time.UTC || !tm.Equal(created) {
					t.Errorf("%s = %v, want %v in UTC", name, tm, created.UTC())
				}
			}
		})
	}
}

// Write transactions on SQLite must queue at BEGIN: a deferred transaction
// that read first fails its upgrade to writing with SQLITE_BUSY at once, and
// DeletePasskey relies on nothing writing between its count and its delete.
func TestSQLiteTransactionsTakeTheWriteLockAtBegin(t *testing.T) {
	t.Parallel()
	s := openStore(t, "", t.TempDir())
	ctx := t.Context()
	first, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := make(chan error, 1)
	go func() {
		second, err := s.DB().BeginTx(ctx, nil)
		if err == nil {
			err = second.Rollback()
		}
		began <- err
	}()
	select {
	case err := <-began:
		t.Fatalf("a second transaction began (err %v) while the first held the write lock", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := first.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-began; err != nil {
		t.Fatalf("second transaction, after the first ended: %v", err)
	}
}

func TestOpenAcceptsSQLiteURLForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, form := range []string{"sqlite:%s", "sqlite://%s", "file:%s", "file://%s?cache=private", "SQLite:%s"} {
		file := filepath.Join(dir, fmt.Sprintf("db%d.sqlite", i))
		url := fmt.Sprintf(form, file)
		s, err := bunstore.Open(t.Context(), url, "")
		if err != nil {
			t.Errorf("Open(%q): %v", url, err)
			continue
		}
		s.Close()
		if _, err := os.Stat(file); err != nil {
			t.Errorf("Open(%q) did not create %s: %v", url, file, err)
		}
	}
}
