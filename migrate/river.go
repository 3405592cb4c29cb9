package migrate

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverVersion is the version of River's schema this binary runs on (River
// v0.51.2 ships versions 1 to 8); moving to a newer River adds a migration
// that targets its version.
const RiverVersion = 8

// River is migration `version`: the job queue's tables, created and dropped
// by River's own migrator, so the job queue's schema is versioned, applied
// and rolled back with ours. With inTx River runs inside goose's transaction
// (SQLite: goose holds the writer's one connection, so nothing else could
// write); without, on the pool (PostgreSQL: River adds an enum value and
// then uses it, which one transaction may not do).
func River(version int64, driver riverdriver.Driver[*sql.Tx], inTx bool) *goose.Migration {
	migrator := func() (*rivermigrate.Migrator[*sql.Tx], error) { return rivermigrate.New(driver, nil) }
	step := func(direction rivermigrate.Direction, target int) *goose.GoFunc {
		opts := &rivermigrate.MigrateOpts{TargetVersion: target}
		if inTx {
			return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
				m, err := migrator()
				if err == nil {
					_, err = m.MigrateTx(ctx, tx, direction, opts)
				}
				return err
			}}
		}
		return &goose.GoFunc{RunDB: func(ctx context.Context, _ *sql.DB) error {
			m, err := migrator()
			if err == nil {
				_, err = m.Migrate(ctx, direction, opts)
			}
			return err
		}}
	}
	return goose.NewGoMigration(version, step(rivermigrate.DirectionUp, RiverVersion), step(rivermigrate.DirectionDown, -1))
}
