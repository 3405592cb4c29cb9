package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
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

// ingestBatch is the size of one group commit in the ingest benchmarks.
const ingestBatch = 2500

// benchEvents returns batch n: unique ids spread over 500 users.
func benchEvents(n int) []*so.Event {
	now := so.Now()
	events := make([]*so.Event, ingestBatch)
	for i := range events {
		events[i] = &so.Event{ProjectID: "p1", ID: fmt.Sprintf("e-%d-%d", n, i), Type: so.EventClick,
			UserID: fmt.Sprintf("u%d", i%500), SessionID: "s1", Timestamp: now, ReceivedAt: now,
			Properties: json.RawMessage(`{"x":1}`)}
	}
	return events
}

// BenchmarkIngest measures IngestEvents in group-commit batches, with an apply
// that touches the batch's users, beside the same rows inserted by a raw
// prepared statement in one transaction.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	touch := func(ctx context.Context, tx so.IngestTx, in []*so.Event) error {
		return tx.TouchUsers(ctx, "p1", so.Sightings(in))
	}
	b.Run("IngestEvents", func(b *testing.B) {
		db := storetest.BenchDB(b, benchOpener).(*DB)
		n := 0
		for b.Loop() {
			if _, err := db.IngestEvents(ctx, benchEvents(n), touch); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n*ingestBatch)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("RawTx", func(b *testing.B) {
		db := storetest.BenchDB(b, benchOpener).(*DB)
		n := 0
		for b.Loop() {
			if err := rawIngest(ctx, db, benchEvents(n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n*ingestBatch)/b.Elapsed().Seconds(), "events/s")
	})
}

// rawIngest is the driver alone: one transaction, one prepared insert per event.
func rawIngest(ctx context.Context, db *DB, events []*so.Event) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, e := range events {
		if _, err := stmt.ExecContext(ctx, e.ProjectID, e.ID, string(e.Type), e.UserID, e.SessionID, e.Flow,
			e.Step, e.Timestamp.UnixMilli(), e.ReceivedAt.UnixMilli(), string(e.Properties)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
