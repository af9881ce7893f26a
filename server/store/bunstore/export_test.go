package bunstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun/migrate"

	"github.com/latchkey/latchkey/server/store/bunstore/migrations"
)

// OpenBefore opens a database and brings it only to the migrations whose
// names sort before version: the schema an older release left behind, for
// testing the migrations that follow.
func OpenBefore(ctx context.Context, databaseURL, version string) (*Store, error) {
	s, err := open(databaseURL, "")
	if err != nil {
		return nil, err
	}
	older := migrate.NewMigrations()
	for _, m := range migrations.Migrations.Sorted() {
		if m.Name < version {
			older.Add(m)
		}
	}
	m := migrate.NewMigrator(s.db, older, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("init migration tables: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
