package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/smartonboarding/smartonboard/sqlite"
	"github.com/smartonboarding/smartonboard/storetest"
)

func open(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "nested", "test.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func opener(tb testing.TB) storetest.DB { return open(tb) }

func TestConformance(t *testing.T) { storetest.Run(t, opener) }

func BenchmarkContent(b *testing.B) { storetest.BenchmarkContent(b, opener) }
