// Package migrations holds the versioned schema of the Bun store. Each file
// named <version>_<name>.go registers one migration; bun records applied
// versions in bun_migrations, so a migration runs once per database.
//
// A migration is history: once released it must never change. Models used by
// a migration are declared inside it, not shared with the store, so that
// evolving the store's row types cannot rewrite an old migration.
package migrations

import "github.com/uptrace/bun/migrate"

// Migrations is the ordered set every database is brought up to at Open.
var Migrations = migrate.NewMigrations()
