package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/smartonboarding/smartonboard/sqlite"
	"github.com/smartonboarding/smartonboard/storetest"
)

func open(t *testing.T) storetest.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nested", "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }
