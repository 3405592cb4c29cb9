// Package storetest is the conformance suite every storage engine must pass: the
// same tests, run against embedded SQLite and against PostgreSQL, so both engines
// behave identically behind the domain interfaces.
package storetest

import (
	"context"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/migrate"
)

// DB is what an engine offers the rest of the program.
type DB interface {
	so.ContentStore
	so.ProjectStore
	Migrator() *migrate.Migrator
	Ping(ctx context.Context) error
}

// Opener returns a fresh, empty, never-migrated database for one test; the engine's
// test arranges its cleanup.
type Opener func(tb testing.TB) DB

// Run runs the whole suite against the engine that open creates.
func Run(t *testing.T, open Opener) {
	t.Run("Migrations", func(t *testing.T) { testMigrations(t, open) })
	t.Run("Projects", func(t *testing.T) { testProjects(t, migrated(t, open)) })
	t.Run("Bootstrap", func(t *testing.T) { testBootstrap(t, migrated(t, open)) })
	t.Run("Content", func(t *testing.T) { testContent(t, open) })
}

// migrated opens a database and applies every migration.
func migrated(tb testing.TB, open Opener) DB {
	tb.Helper()
	db := open(tb)
	if _, err := db.Migrator().Up(context.Background()); err != nil {
		tb.Fatalf("migrate up: %v", err)
	}
	return db
}
