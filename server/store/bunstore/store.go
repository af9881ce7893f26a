// Package bunstore implements auth.UserStore and auth.GrantStore on
// Postgres or SQLite through Bun. The schema is versioned in package
// migrations and brought up to date by Open, so a binary never runs against
// a schema older than itself.
package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/migrate"

	// Pure Go, so the server builds with CGO_ENABLED=0.
	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/urlsecret"
	"github.com/latchkey/latchkey/server/store/bunstore/migrations"
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// SQLiteFile is the database file Open uses in the data directory when no
// DATABASE_URL is given.
const SQLiteFile = "latchkey.db"

// DefaultMaxConns is the size of the Postgres pool when DATABASE_MAX_CONNS
// is not set: four connections per CPU the process may use (GOMAXPROCS,
// which follows a container's CPU limit), and at least four. Measured on 2
// cores, 8 connections served logins about 40% faster than 32: beyond a few
// per core, more backends only compete for the same CPUs.
func DefaultMaxConns() int { return max(4, 4*runtime.GOMAXPROCS(0)) }

// The life of a pooled Postgres connection. An idle one is closed after
// poolIdleTime, so a quiet instance gives its backends back; every one is
// replaced after poolLifetime, so the pool follows a failover or a DNS
// change and no backend grows without end.
const (
	poolIdleTime = 5 * time.Minute
	poolLifetime = 30 * time.Minute
)

// Option changes how Open sets up the database.
type Option func(*options)

type options struct{ maxConns int }

// MaxConns bounds the Postgres pool at n connections (DATABASE_MAX_CONNS);
// n <= 0 keeps DefaultMaxConns. SQLite ignores it.
func MaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// Store is a UserStore and a GrantStore backed by a SQL database.
type Store struct {
	db      *bun.DB
	dialect string
	// stmts are the prepared forms of the login's queries (prepared.go).
	stmts statements
}

var _ auth.UserStore = (*Store)(nil)

// Open connects to databaseURL, or to an SQLite file in dataDir when it is
// empty, checks the connection and applies pending migrations.
//
// Accepted URLs: postgres:// and postgresql:// for Postgres (as pgdriver
// reads them; search_path and other parameters pass to the server);
// sqlite:PATH and file: URIs for an SQLite file.
func Open(ctx context.Context, databaseURL, dataDir string, opts ...Option) (*Store, error) {
	s, err := open(databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	if s.dialect == DialectPostgres {
		o := options{maxConns: DefaultMaxConns()}
		for _, opt := range opts {
			opt(&o)
		}
		if o.maxConns <= 0 {
			o.maxConns = DefaultMaxConns()
		}
		s.bound(o.maxConns)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("bunstore: connect to %s: %w", describe(databaseURL, dataDir), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("bunstore: migrate %s: %w", describe(databaseURL, dataDir), err)
	}
	return s, nil
}

// CheckURL reports whether databaseURL is a DATABASE_URL Open accepts,
// without connecting: the configuration checks it at start with this, so
// the rules are written once.
func CheckURL(databaseURL string) error {
	s, err := open(databaseURL, "")
	if err != nil {
		return err
	}
	return s.db.Close()
}

func open(databaseURL, dataDir string) (*Store, error) {
	switch {
	case databaseURL == "":
		if dataDir == "" {
			return nil, errors.New("bunstore: DATABASE_URL is empty and there is no data directory for the default SQLite database")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("bunstore: create data directory: %w", err)
		}
		return openSQLite(filepath.Join(dataDir, SQLiteFile), "")
	case hasScheme(databaseURL, "postgres"), hasScheme(databaseURL, "postgresql"):
		return openPostgres(databaseURL)
	case hasScheme(databaseURL, "sqlite"), hasScheme(databaseURL, "file"):
		return openSQLiteURL(databaseURL)
	default:
		got := "it has no scheme"
		// Only the scheme: the rest may carry a password.
		if i := strings.IndexByte(databaseURL, ':'); i >= 0 {
			got = fmt.Sprintf("got %q", databaseURL[:i+1])
		}
		return nil, fmt.Errorf("bunstore: DATABASE_URL must start with postgres://, postgresql://, sqlite: or file: (%s)", got)
	}
}

func hasScheme(raw, scheme string) bool {
	return len(raw) > len(scheme) && strings.EqualFold(raw[:len(scheme)+1], scheme+":")
}

func openPostgres(databaseURL string) (*Store, error) {
	if _, err := url.Parse(databaseURL); err != nil {
		return nil, fmt.Errorf("bunstore: DATABASE_URL is not a valid URL: %v", urlsecret.ParseError(err))
	}
	connector, err := pgConnector(databaseURL)
	if err != nil {
		return nil, err
	}
	db := bun.NewDB(sql.OpenDB(connector), pgdialect.New())
	return &Store{db: db, dialect: DialectPostgres}, nil
}

// bound sizes the Postgres pool. database/sql keeps only two idle
// connections by default and opens as many as are asked for, so under load
// almost every query paid for a new backend (776 for 1,400 logins in one
// measurement). Keeping as many idle as may be open makes the pool's
// connections live on between requests; the bound keeps Postgres from
// running more backends than the CPUs can serve.
func (s *Store) bound(n int) {
	s.db.SetMaxOpenConns(n)
	s.db.SetMaxIdleConns(n)
	s.db.SetConnMaxIdleTime(poolIdleTime)
	s.db.SetConnMaxLifetime(poolLifetime)
}

// pgConnector turns pgdriver's panic on a bad DSN (an unsupported sslmode,
// say) into an error a misconfigured deployment can report.
func pgConnector(dsn string) (c *pgdriver.Connector, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bunstore: DATABASE_URL: %v", r)
		}
	}()
	return pgdriver.NewConnector(pgdriver.WithDSN(dsn)), nil
}

// openSQLiteURL accepts sqlite:PATH (sqlite:///abs/path too) and file:URI.
// A file: URL goes to SQLite as a URI, so its own parameters (mode=ro,
// cache=shared) keep working; the driver's underscore parameters apply to
// both forms.
func openSQLiteURL(databaseURL string) (*Store, error) {
	scheme, rest, _ := strings.Cut(databaseURL, ":")
	name, query, _ := strings.Cut(rest, "?")
	// SQLite has no users. A user and password in the authority would
	// only travel on into error messages (describe, the driver's).
	if authority, ok := strings.CutPrefix(name, "//"); ok {
		if i := strings.IndexByte(authority, '/'); i >= 0 {
			authority = authority[:i]
		}
		if strings.Contains(authority, "@") {
			return nil, errors.New("bunstore: DATABASE_URL: an SQLite URL takes no user name or password")
		}
	}
	if strings.EqualFold(scheme, "file") {
		if strings.TrimLeft(name, "/") == "" {
			return nil, errors.New("bunstore: DATABASE_URL names no SQLite file")
		}
		return openSQLite("file:"+name, query)
	}
	if strings.HasPrefix(name, "//") {
		u, err := url.Parse("sqlite:" + name)
		if err != nil {
			return nil, fmt.Errorf("bunstore: DATABASE_URL is not a valid SQLite URL: %v", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("bunstore: DATABASE_URL: SQLite URL names host %q; use sqlite:/absolute/path or sqlite:relative/path", u.Host)
		}
		name = u.Path
	}
	if name == "" {
		return nil, errors.New("bunstore: DATABASE_URL names no SQLite file")
	}
	return openSQLite(name, query)
}

// openSQLite opens name, a file name or a file: URI, with query (URL
// parameters for the driver or SQLite) plus the settings the store needs.
func openSQLite(name, query string) (*Store, error) {
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("bunstore: DATABASE_URL has a malformed query: %v", err)
	}
	// Foreign keys are off by default in SQLite and ON DELETE CASCADE depends
	// on them. WAL lets readers proceed during a write. busy_timeout makes a
	// writer wait for the lock instead of failing at once. synchronous=NORMAL
	// is durable enough under WAL (a power cut can lose the last commits, not
	// corrupt the file) and much faster than FULL.
	params["_pragma"] = append(params["_pragma"],
		"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(5000)", "synchronous(NORMAL)")
	// A deferred transaction that reads first and writes later must upgrade
	// its lock, and SQLite fails that upgrade with SQLITE_BUSY at once rather
	// than waiting out busy_timeout. Taking the write lock at BEGIN makes
	// concurrent write transactions queue instead.
	if params.Get("_txlock") == "" {
		params.Set("_txlock", "immediate")
	}
	sqldb, err := sql.Open("sqlite", name+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("bunstore: open SQLite %s: %w", name, err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	return &Store{db: db, dialect: DialectSQLite}, nil
}

// describe names the database for error messages: enough to find it, never
// the password.
func describe(databaseURL, dataDir string) string {
	switch {
	case databaseURL == "":
		return "SQLite " + filepath.Join(dataDir, SQLiteFile)
	case hasScheme(databaseURL, "postgres"), hasScheme(databaseURL, "postgresql"):
		u, err := url.Parse(databaseURL)
		if err != nil {
			return "Postgres"
		}
		return fmt.Sprintf("Postgres at %s (database %q)", u.Host, strings.TrimPrefix(u.Path, "/"))
	default:
		rest := databaseURL[strings.IndexByte(databaseURL, ':')+1:]
		path, _, _ := strings.Cut(rest, "?")
		return "SQLite " + path
	}
}

func (s *Store) migrate(ctx context.Context) error {
	m := migrate.NewMigrator(s.db, migrations.Migrations,
		// bun otherwise records a migration as applied before running it, so
		// one that failed would never be retried.
		migrate.WithMarkAppliedOnSuccess(true))

	if s.dialect == DialectPostgres {
		unlock, err := s.lockMigrations(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migration tables: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// lockMigrations serialises instances migrating the same schema at once. It
// takes a session-level advisory lock rather than bun's Migrator.Lock: that
// one fails instead of waiting when another instance holds it, does not cover
// Init (whose concurrent CREATE TABLE IF NOT EXISTS can itself collide in
// Postgres), and stays taken forever if its holder crashes, whereas an
// advisory lock is released when the connection drops.
func (s *Store) lockMigrations(ctx context.Context) (unlock func(), err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	var schema sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	if !schema.Valid {
		conn.Close()
		return nil, errors.New("lock migrations: no current schema (does the search_path schema exist?)")
	}
	// Keyed by schema so databases sharing a server but not a schema (tests,
	// staging beside production) do not wait for each other.
	h := fnv.New64a()
	h.Write([]byte("latchkey/bunstore migrations\x00" + schema.String))
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", key); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	return func() {
		// Closing returns the connection to the pool with the lock still
		// held, so release it explicitly; if that fails, discarding the
		// session is the only other way to free it.
		if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?)", key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.stmts.close(), s.db.Close()) }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("bunstore: ping: %w", err)
	}
	return nil
}

// MaxConns is the bound of the connection pool; 0 means none (SQLite).
func (s *Store) MaxConns() int { return s.db.Stats().MaxOpenConnections }

// DB exposes the Bun handle, for tests that inspect the schema.
func (s *Store) DB() *bun.DB { return s.db }

// Dialect returns DialectPostgres or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect }
