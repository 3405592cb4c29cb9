package postgres

import (
	"context"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
	"github.com/smartonboarding/smartonboard/storetest"
)

func benchOpener(tb testing.TB) storetest.DB {
	db, err := Open(context.Background(), Options{URL: pgtest.URL(tb), ConnectTimeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// BenchmarkContent runs the shared content benchmarks on PostgreSQL.
func BenchmarkContent(b *testing.B) { storetest.BenchmarkContent(b, benchOpener) }

// BenchmarkBaseline is what the driver does alone in the same process: the same
// row inserted by one pool Exec with no domain layer, a primary-key lookup of one
// column, and an empty round trip.
func BenchmarkBaseline(b *testing.B) {
	ctx := context.Background()
	db := storetest.BenchDB(b, benchOpener).(*DB)
	item := storetest.BenchItem(b, 0)
	if err := db.CreateContentItem(ctx, item); err != nil {
		b.Fatal(err)
	}
	b.Run("RawInsert", func(b *testing.B) {
		for b.Loop() {
			_, err := db.pool.Exec(ctx, `INSERT INTO content_items (`+contentColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
				so.NewID(), "p1", "article", "item", "body text", "draft", "", []string{"bench"}, "en",
				"standard", nil, nil, item.CreatedAt, item.UpdatedAt, 1, "{}")
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RawSelect", func(b *testing.B) {
		var title string
		for b.Loop() {
			if err := db.pool.QueryRow(ctx, `SELECT title FROM content_items WHERE id = $1`, item.ID).Scan(&title); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RoundTrip", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.pool.Exec(ctx, `SELECT 1`); err != nil {
				b.Fatal(err)
			}
		}
	})
}
