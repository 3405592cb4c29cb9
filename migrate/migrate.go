// Package migrate applies the numbered SQL migrations that each storage engine
// embeds, through goose, and tells whether a database's schema is one this binary
// knows.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// VersionTable is the table that records applied migrations, in every engine.
const VersionTable = "schema_migrations"

// Migrator runs one engine's migrations against one database.
type Migrator struct {
	provider    *goose.Provider
	db          *sql.DB
	existsQuery string
}

// Migration is one migration and whether it has been applied.
type Migration struct {
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// Dialects supported by this package.
const (
	SQLite   = goose.DialectSQLite3
	Postgres = goose.DialectPostgres
)

// New returns a Migrator for the migrations in fsys (files NNNNN_name.sql) and
// the Go migrations gos (for schemas a library owns, such as the job queue's).
// PostgreSQL runs take an advisory lock so that instances starting together
// migrate once.
func New(dialect goose.Dialect, db *sql.DB, fsys fs.FS, gos ...*goose.Migration) (*Migrator, error) {
	store, err := database.NewStore(dialect, VersionTable)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithStore(store), goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(gos...)}
	if dialect == Postgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider("", db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrate: load migrations: %w", err)
	}
	exists := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if dialect == Postgres {
		exists = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	return &Migrator{provider: p, db: db, existsQuery: exists}, nil
}

// tableExists tells whether the database was ever migrated, without creating the
// version table as goose would.
func (m *Migrator) tableExists(ctx context.Context) (bool, error) {
	var n int
	err := m.db.QueryRowContext(ctx, m.existsQuery, VersionTable).Scan(&n)
	return n > 0, err
}

// Up applies every pending migration and returns the versions it applied.
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	if err := m.checkKnown(ctx); err != nil {
		return nil, err
	}
	res, err := m.provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	versions := make([]int64, len(res))
	for i, r := range res {
		versions[i] = r.Source.Version
	}
	return versions, nil
}

// Down rolls back the latest applied migration and returns its version (0 if none).
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	if err := m.checkKnown(ctx); err != nil {
		return 0, err
	}
	res, err := m.provider.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return res.Source.Version, nil
}

// Status lists every known migration with whether it is applied. It never writes:
// on a database that was never migrated, all are pending.
func (m *Migrator) Status(ctx context.Context) ([]Migration, error) {
	exists, err := m.tableExists(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	var out []Migration
	if !exists {
		for _, s := range m.provider.ListSources() {
			out = append(out, Migration{Version: s.Version, Name: name(s.Path)})
		}
		return out, nil
	}
	statuses, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", err)
	}
	for _, s := range statuses {
		out = append(out, Migration{Version: s.Source.Version, Name: name(s.Source.Path),
			Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt})
	}
	return out, nil
}

// Latest is the newest version this binary knows.
func (m *Migrator) Latest() int64 {
	sources := m.provider.ListSources()
	return sources[len(sources)-1].Version
}

// Current is the newest version applied to the database (0 if none).
func (m *Migrator) Current(ctx context.Context) (int64, error) {
	applied, err := m.applied(ctx)
	if err != nil {
		return 0, err
	}
	var cur int64
	for v := range applied {
		cur = max(cur, v)
	}
	return cur, nil
}

// applied reads the applied versions straight from the version table. Unlike
// goose's status calls it takes no advisory lock, so readiness probes from many
// instances never queue behind each other or behind a running migration.
func (m *Migrator) applied(ctx context.Context) (map[int64]bool, error) {
	exists, err := m.tableExists(ctx)
	if err != nil || !exists {
		return map[int64]bool{}, err
	}
	rows, err := m.db.QueryContext(ctx, `SELECT version_id, is_applied FROM `+VersionTable+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var v int64
		var ok bool
		if err := rows.Scan(&v, &ok); err != nil {
			return nil, fmt.Errorf("read schema version: %w", err)
		}
		if ok { // goose's legacy rows mark a rollback with is_applied = false
			out[v] = true
		} else {
			delete(out, v)
		}
	}
	delete(out, 0) // goose's own bootstrap row
	return out, rows.Err()
}

// ErrSchemaTooNew means the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// ErrPending means migrations are waiting to be applied.
var ErrPending = errors.New("database has pending migrations")

// Check returns nil when the schema is exactly current, and otherwise an error
// wrapping ErrPending or ErrSchemaTooNew that says what to do. It takes no lock.
func (m *Migrator) Check(ctx context.Context) error {
	applied, err := m.applied(ctx)
	if err != nil {
		return err
	}
	latest, pending := m.Latest(), 0
	for v := range applied {
		if v > latest {
			return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; deploy the newer binary or roll the schema back with it", ErrSchemaTooNew, v, latest)
		}
	}
	sources := m.provider.ListSources()
	for _, src := range sources {
		if !applied[src.Version] {
			pending++
		}
	}
	if pending > 0 {
		return fmt.Errorf("%w: %d of %d not applied; run `smartonboard migrate up`", ErrPending, pending, len(sources))
	}
	return nil
}

func (m *Migrator) checkKnown(ctx context.Context) error {
	cur, err := m.Current(ctx)
	if err != nil {
		return err
	}
	if latest := m.Latest(); cur > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; deploy the newer binary or roll the schema back with it", ErrSchemaTooNew, cur, latest)
	}
	return nil
}

func name(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}
