package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// ingestBatch is how many events one ingest benchmark iteration writes: about
// what group commit hands the store under load.
const ingestBatch = 2500

// benchBatches builds n batches of new events of project p1, ten per user, with
// ids and payloads like the SDK's, built before the timer starts.
func benchBatches(n int) [][]*so.Event {
	received := so.Now()
	batches := make([][]*so.Event, n)
	for b := range batches {
		batches[b] = make([]*so.Event, ingestBatch)
		for i := range batches[b] {
			batches[b][i] = &so.Event{ProjectID: "p1", ID: so.NewID(), Type: so.EventClick,
				UserID: fmt.Sprintf("user-%d-%d", b, i/10), SessionID: fmt.Sprintf("s-%d-%d", b, i/10),
				Flow: "getting-started", Step: "connect", Timestamp: received.Add(time.Duration(i) * time.Millisecond),
				ReceivedAt: received, Properties: json.RawMessage(`{"selector":"#connect-button","page":"/settings/integrations"}`)}
		}
	}
	return batches
}

// reportEventRate reports the benchmark's throughput in events per second.
func reportEventRate(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestBaseline is what the driver does alone on the same events table:
// COPY of a whole batch per iteration (the ceiling ingestion is measured against),
// and one autocommitted INSERT per iteration (what naive per-event writes give).
func BenchmarkIngestBaseline(b *testing.B) {
	ctx := context.Background()
	b.Run("RawCopy", func(b *testing.B) {
		db := storetest.BenchDB(b, benchOpener).(*DB)
		batches := benchBatches(b.N)
		b.ResetTimer()
		for _, batch := range batches {
			_, err := db.pool.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumnNames,
				pgx.CopyFromSlice(len(batch), func(i int) ([]any, error) { return eventValues(batch[i]), nil }))
			if err != nil {
				b.Fatal(err)
			}
		}
		reportEventRate(b, b.N*ingestBatch)
	})
	b.Run("InsertPerEvent", func(b *testing.B) {
		db := storetest.BenchDB(b, benchOpener).(*DB)
		events := benchBatches(b.N/ingestBatch + 1)
		b.ResetTimer()
		for i := range b.N {
			e := events[i/ingestBatch][i%ingestBatch]
			_, err := db.pool.Exec(ctx, `INSERT INTO events (`+eventColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				e.ProjectID, e.ID, string(e.Type), e.UserID, e.SessionID, e.Flow, e.Step, e.Timestamp, e.ReceivedAt, string(e.Properties))
			if err != nil {
				b.Fatal(err)
			}
		}
		reportEventRate(b, b.N)
	})
}

// BenchmarkIngest measures IngestEvents on batches of ingestBatch new events,
// with an apply that records every user as seen, as ingestion without journeys does.
func BenchmarkIngest(b *testing.B) { benchmarkIngest(b, false) }

// BenchmarkIngestRedelivered is BenchmarkIngest with one event of the previous
// batch repeated in each batch, as after a client retry: the worst case, where
// COPY meets a stored event and the batch is inserted again with ON CONFLICT.
func BenchmarkIngestRedelivered(b *testing.B) { benchmarkIngest(b, true) }

func benchmarkIngest(b *testing.B, redeliver bool) {
	ctx := context.Background()
	db := storetest.BenchDB(b, benchOpener).(*DB)
	batches := benchBatches(b.N)
	for i := 1; redeliver && i < len(batches); i++ {
		batches[i][0] = batches[i-1][1]
	}
	b.ResetTimer()
	for _, batch := range batches {
		inserted, err := db.IngestEvents(ctx, batch, touchSeen)
		if err != nil || len(inserted) != len(batch) || !inserted[len(batch)-1] {
			b.Fatalf("ingest: %v", err)
		}
	}
	reportEventRate(b, b.N*ingestBatch)
}

// touchSeen records the latest sighting of each user of the inserted events.
func touchSeen(ctx context.Context, tx so.IngestTx, inserted []*so.Event) error {
	return tx.TouchUsers(ctx, "p1", so.Sightings(inserted))
}

// eventColumnNames are eventColumns for pgx's CopyFrom.
var eventColumnNames = []string{"project_id", "id", "type", "user_id", "session_id", "flow", "step", "ts", "received_at", "properties"}

// eventValues is one event as a pgx CopyFrom row in eventColumnNames order.
func eventValues(e *so.Event) []any {
	return []any{e.ProjectID, e.ID, string(e.Type), e.UserID, e.SessionID, e.Flow, e.Step,
		e.Timestamp, e.ReceivedAt, objectText(e.Properties)}
}
