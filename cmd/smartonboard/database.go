package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/jobs"
	"github.com/smartonboarding/smartonboard/migrate"
	"github.com/smartonboarding/smartonboard/postgres"
	"github.com/smartonboarding/smartonboard/sqlite"
)

// database is what the program needs of a storage engine; both engines provide it.
type database interface {
	so.ProjectStore
	so.ContentStore
	so.FlowStore
	so.UserStore
	so.JourneyStore
	so.EventStore
	so.AccountStore
	so.AuditStore
	so.PipelineStore
	so.BehaviourStore
	so.WebhookStore
	so.AnalyticsStore
	so.AnalyticsRebuilder
	so.UserEraser
	so.AlertStore
	so.InsightStore
	so.RejectionStore
	so.ModelStore
	so.HistoryStore
	so.TrainingQueue
	StartQueue(ctx context.Context, cfg jobs.Config) error
	StopQueue(ctx context.Context) error
	Ping(ctx context.Context) error
	Migrator() *migrate.Migrator
	Engine() string
}

// openDatabase opens the engine the configuration selects and returns a closer.
func openDatabase(ctx context.Context, cfg config.Config) (database, func(), error) {
	if cfg.Engine() == config.EngineSQLite {
		db, err := sqlite.Open(ctx, cfg.SQLitePath())
		if err != nil {
			return nil, nil, err
		}
		return db, func() { _ = db.Close() }, nil
	}
	db, err := postgres.Open(ctx, postgres.Options{
		URL: cfg.DatabaseURL, MaxConns: int32(cfg.DatabaseMaxConns), ConnectTimeout: cfg.DatabaseConnectTimeout,
		IdleTimeout: cfg.DatabaseIdleTimeout, SSLRootCert: cfg.DatabaseSSLRootCert,
	})
	if err != nil {
		return nil, nil, err
	}
	return db, db.Close, nil
}

// poolCollector exports connection pool usage of either engine as gauges.
type poolCollector struct {
	db   database
	desc *prometheus.Desc
}

func newPoolCollector(db database) *poolCollector {
	return &poolCollector{db: db, desc: prometheus.NewDesc("smartonboard_db_connections",
		"Database connections by pool and state.", []string{"pool", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	emit := func(pool, state string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, pool, state)
	}
	switch db := c.db.(type) {
	case *sqlite.DB:
		w, r := db.Stats()
		for pool, s := range map[string]struct{ inUse, idle, max int }{
			"writer": {w.InUse, w.Idle, w.MaxOpenConnections}, "reader": {r.InUse, r.Idle, r.MaxOpenConnections},
		} {
			emit(pool, "in_use", float64(s.inUse))
			emit(pool, "idle", float64(s.idle))
			emit(pool, "max", float64(s.max))
		}
	case *postgres.DB:
		s := db.Stats()
		emit("main", "in_use", float64(s.Acquired))
		emit("main", "idle", float64(s.Idle))
		emit("main", "max", float64(s.Max))
	default:
		panic(fmt.Sprintf("poolCollector: unknown engine %T", db))
	}
}

// openMigrated opens the configured database for a subcommand that needs
// its schema current, and says how to make it so when it is not.
func openMigrated(ctx context.Context, cfg config.Config) (database, func(), error) {
	db, closeDB, err := openDatabase(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrator().Check(ctx); err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("%w (run `smartonboard migrate up` first)", err)
	}
	return db, closeDB, nil
}
