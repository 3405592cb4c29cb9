// Package postgres is the PostgreSQL storage engine: several stateless instances
// share one database through a pgx connection pool. Its SQL lives here, and driver
// errors become *smartonboard.Error values at this boundary.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/migrate"
)

// EngineName is the name this engine reports, in health checks and metrics labels.
const EngineName = "postgres"

// DefaultConnectTimeout bounds how long Open waits for the server when
// Options.ConnectTimeout is zero, so a bad address fails fast instead of hanging.
const DefaultConnectTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configures a connection; zero values keep pgx's defaults.
type Options struct {
	URL            string        // postgres://user:password@host:port/database?sslmode=...
	MaxConns       int32         // pool size; 0 keeps pgx's default (4 or the CPU count)
	ConnectTimeout time.Duration // total wait for the server at Open, and per connection attempt; 0 means 5s
	IdleTimeout    time.Duration // how long an unused connection stays open
	SSLRootCert    string        // CA file used to verify the server, unless the URL names one
	Logger         *slog.Logger
}

func (o Options) connectTimeout() time.Duration {
	if o.ConnectTimeout <= 0 {
		return DefaultConnectTimeout
	}
	return o.ConnectTimeout
}

// DB is an open PostgreSQL database: a connection pool and the migrator for it.
type DB struct {
	pool     *pgxpool.Pool
	sqlDB    *sql.DB
	queue    *river.Client[pgx.Tx] // nil until StartQueue
	cursors  so.CursorMemo
	migrator *migrate.Migrator
	logger   *slog.Logger
}

// Open connects to PostgreSQL and waits, with backoff, until the server answers or
// ConnectTimeout has passed, so that a deploy fails with a clear cause at startup.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := parseConfig(o)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %s", Describe(o.URL), scrub(err.Error(), secretsOf(o.URL)))
	}
	db := &DB{pool: pool, sqlDB: stdlib.OpenDBFromPool(pool), logger: o.Logger}
	if err := db.waitReady(ctx, cfg, o.URL, o.connectTimeout()); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.initMigrator(); err != nil {
		db.Close()
		return nil, err
	}
	o.Logger.Info("connected to PostgreSQL", "target", describeConfig(cfg))
	return db, nil
}

// parseConfig turns Options into a pool configuration without ever letting the
// password reach an error message.
func parseConfig(o Options) (*pgxpool.Config, error) {
	connString, err := withRootCert(o.URL, o.SSLRootCert)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, invalidURL(o.URL, parseErrorText(err, o.URL))
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.IdleTimeout > 0 {
		cfg.MaxConnIdleTime = o.IdleTimeout
	}
	if o.ConnectTimeout > 0 || cfg.ConnConfig.ConnectTimeout == 0 { // else keep the URL's connect_timeout
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout()
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "smartonboard"
	}
	return cfg, nil
}

func (db *DB) initMigrator() error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: embedded migrations: %w", err)
	}
	river := migrate.River(9, riverdatabasesql.New(db.sqlDB), false)
	m, err := migrate.New(migrate.Postgres, db.sqlDB, fsys, river)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	db.migrator = m
	return nil
}

// Close releases every connection; the DB must not be used afterwards.
func (db *DB) Close() {
	_ = db.sqlDB.Close()
	db.pool.Close()
}

// Ping checks that the server answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Engine names the engine, so health output and metrics can tell engines apart.
func (db *DB) Engine() string { return EngineName }

// Migrator returns the migrator for this database's embedded schema.
func (db *DB) Migrator() *migrate.Migrator { return db.migrator }

// Pool exposes the pgx pool for components that need PostgreSQL itself, such as
// LISTEN/NOTIFY fan-out and the job queue.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// PoolStats is a snapshot of the connection pool, shaped for Prometheus gauges.
type PoolStats struct {
	Acquired          int32         // connections in use
	Idle              int32         // connections open and free
	Total             int32         // connections open, including ones being opened
	Max               int32         // pool size limit
	AcquireCount      int64         // successful acquisitions so far
	EmptyAcquireCount int64         // acquisitions that had to wait or open a connection
	AcquireDuration   time.Duration // total time spent acquiring
}

// Stats reports pool usage, so saturation shows up in metrics before it shows up
// as latency.
func (db *DB) Stats() PoolStats {
	s := db.pool.Stat()
	return PoolStats{
		Acquired: s.AcquiredConns(), Idle: s.IdleConns(), Total: s.TotalConns(), Max: s.MaxConns(),
		AcquireCount: s.AcquireCount(), EmptyAcquireCount: s.EmptyAcquireCount(),
		AcquireDuration: s.AcquireDuration(),
	}
}

// inTx runs fn in one transaction, committing if it returns nil and rolling back
// otherwise; all multi-statement work goes through it.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}
