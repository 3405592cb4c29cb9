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
	so.FlowStore
	so.UserStore
	so.JourneyStore
	so.EventStore
	so.AccountStore
	so.AuditStore
	so.PipelineStore
	so.BehaviourStore
	so.AnalyticsStore
	so.UserEraser
	so.AlertStore
	so.InsightStore
	so.RejectionStore
	so.ModelStore
	so.HistoryStore
	Migrator() *migrate.Migrator
	Ping(ctx context.Context) error
}

// Opener returns a fresh, empty, never-migrated database for one test; the engine's
// test arranges its cleanup.
type Opener func(tb testing.TB) DB

// Run runs the whole suite against the engine that open creates.
// Every test has a database of its own, so they all run in parallel.
func Run(t *testing.T, open Opener) {
	for name, fn := range map[string]func(*testing.T){
		"Migrations":        func(t *testing.T) { testMigrations(t, open) },
		"AccountsMigration": func(t *testing.T) { testAccountsMigration(t, open) },
		"ProjectStore":      func(t *testing.T) { testProjectStore(t, open) },
		"Accounts":          func(t *testing.T) { testAccounts(t, open) },
		"Audit":             func(t *testing.T) { testAudit(t, open) },
		"Projects":          func(t *testing.T) { testProjects(t, migrated(t, open)) },
		"Bootstrap":         func(t *testing.T) { testBootstrap(t, migrated(t, open)) },
		"Content":           func(t *testing.T) { testContent(t, open) },
		"Flows":             func(t *testing.T) { testFlows(t, open) },
		"Users":             func(t *testing.T) { testUsers(t, open) },
		"Journeys":          func(t *testing.T) { testJourneys(t, open) },
		"Events":            func(t *testing.T) { testEvents(t, open) },
		"Errors":            func(t *testing.T) { testErrors(t, open) },
		"EventOwners":       func(t *testing.T) { testEventOwners(t, open) },
		"Pipeline":          func(t *testing.T) { testPipeline(t, open) },
		"Behaviour":         func(t *testing.T) { testBehaviour(t, open) },
		"Analytics":         func(t *testing.T) { testAnalytics(t, open) },
		"Erasure":           func(t *testing.T) { testErasure(t, open) },
		"Alerts":            func(t *testing.T) { testAlerts(t, open) },
		"Rejections":        func(t *testing.T) { testRejections(t, open) },
		"Models":            func(t *testing.T) { testModels(t, open) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t)
		})
	}
}

// runAll runs each named test, in parallel, on its own migrated database with
// projects p1, p2.
func runAll(t *testing.T, open Opener, tests map[string]func(*testing.T, DB)) {
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t, open)
			setupProjects(t, db, "p1", "p2")
			fn(t, db)
		})
	}
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
