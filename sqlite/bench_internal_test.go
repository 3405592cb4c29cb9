package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/storetest"
)

func benchOpener(tb testing.TB) storetest.DB {
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkBaseline is what the driver does alone in the same process: the same
// row inserted by one Exec on the writer with no domain layer, a primary-key
// lookup of one column, and an empty query.
func BenchmarkBaseline(b *testing.B) {
	ctx := context.Background()
	db := storetest.BenchDB(b, benchOpener).(*DB)
	item := storetest.BenchItem(b, 0)
	if err := db.CreateContentItem(ctx, item); err != nil {
		b.Fatal(err)
	}
	b.Run("RawInsert", func(b *testing.B) {
		for b.Loop() {
			_, err := db.writer.ExecContext(ctx, `INSERT INTO content_items (`+contentColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				so.NewID(), "p1", "article", "item", "body text", "draft", "", `["bench"]`, "en",
				"standard", nil, nil, item.CreatedAt.UnixMilli(), item.UpdatedAt.UnixMilli(), 1, "{}")
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RawSelect", func(b *testing.B) {
		var title string
		for b.Loop() {
			if err := db.reader.QueryRowContext(ctx, `SELECT title FROM content_items WHERE id = ?`, item.ID).Scan(&title); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RoundTrip", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.reader.ExecContext(ctx, `SELECT 1`); err != nil {
				b.Fatal(err)
			}
		}
	})
}
