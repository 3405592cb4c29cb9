package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/postgres"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
	"github.com/smartonboarding/smartonboard/storetest"
)

// open connects to a new empty database and closes it when tb ends.
func open(tb testing.TB) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), postgres.Options{URL: pgtest.URL(tb), ConnectTimeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// migrated opens a new database and applies every migration.
func migrated(tb testing.TB) *postgres.DB {
	tb.Helper()
	db := open(tb)
	if _, err := db.Migrator().Up(context.Background()); err != nil {
		tb.Fatalf("migrate up: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(tb testing.TB) storetest.DB { return open(tb) })
}

func TestEngineAndStats(t *testing.T) {
	t.Parallel()
	db := open(t)
	if db.Engine() != "postgres" {
		t.Fatalf("Engine() = %q", db.Engine())
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.Max <= 0 || st.Total < 1 || st.AcquireCount < 1 {
		t.Fatalf("Stats() = %+v, want a pool that has been used", st)
	}
	if db.Pool() == nil {
		t.Fatal("Pool() is nil")
	}
}
