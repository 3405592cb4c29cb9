package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// migratedDB is a new database, migrated, with project p1.
func migratedDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &so.Project{ID: "p1", Name: "p1", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRecentEventsThatAreGoneAreNotConsumed deletes committed events (as a
// project's deletion cascades) before the consumer runs: the events this
// instance remembers must not be handed over in place of the log.
func TestRecentEventsThatAreGoneAreNotConsumed(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), migratedDB(t)
	if err := db.StartConsumer(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	var events []*so.Event
	for _, id := range []string{"a", "b", "c"} {
		e, err := so.NewEvent("p1", so.EventInput{ID: id, Type: so.EventClick, UserID: "u", Timestamp: so.FormatTime(so.Now())}, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, err := db.IngestEvents(ctx, events, func(context.Context, so.IngestTx, []*so.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM events WHERE id = 'b'`); err != nil {
		t.Fatal(err)
	}
	var seen []string
	if _, err := db.ConsumeWith(ctx, "c", so.ConsumeOptions{Limit: 10, Recent: events}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
		for _, e := range evs {
			seen = append(seen, e.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[a c]" {
		t.Fatalf("consumed %v, want the log's [a c]", seen)
	}
}

// TestDerivedConsumerCommitsWithoutSync: a derived consumer's transaction
// runs with synchronous NORMAL on the writer, another's with FULL, and FULL
// is back on the writer afterwards, so ingestion still syncs every commit.
func TestDerivedConsumerCommitsWithoutSync(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), migratedDB(t)
	for _, c := range []string{"derived", "durable"} {
		if err := db.StartConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e, err := so.NewEvent("p1", so.EventInput{ID: "e1", Type: so.EventClick, UserID: "u", Timestamp: so.FormatTime(so.Now())}, so.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.IngestEvents(ctx, []*so.Event{e}, func(context.Context, so.IngestTx, []*so.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	const normal, full = 1, 2 // PRAGMA synchronous's numbers
	for _, tc := range []struct {
		consumer string
		derived  bool
		want     int
	}{{"derived", true, normal}, {"durable", false, full}} {
		got := -1
		n, err := db.ConsumeWith(ctx, tc.consumer, so.ConsumeOptions{Limit: 10, Derived: tc.derived},
			func(_ context.Context, tx so.ConsumerTx, _ []*so.Event) error {
				return tx.(consumerTx).tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got)
			})
		if err != nil || n != 1 {
			t.Fatalf("%s: consumed %d, %v; want the 1 event", tc.consumer, n, err)
		}
		if got != tc.want {
			t.Fatalf("%s consumer: synchronous %d in its transaction, want %d", tc.consumer, got, tc.want)
		}
	}
	var after int
	if err := db.writer.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&after); err != nil || after != full {
		t.Fatalf("the writer after a derived consumer: synchronous %d (%v), want FULL", after, err)
	}
}

// TestConsumerReadsUseTheJourneyIndexes guards the analytics consumer's
// reads by journey: with a long IN list and no statistics (a new
// database), a project filter beside it made SQLite read every fact or
// detection of the project through the project's own indexes.
func TestConsumerReadsUseTheJourneyIndexes(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), migratedDB(t)
	args := make([]any, lockChunk)
	for i := range args {
		args[i] = fmt.Sprint("j", i)
	}
	for query, index := range map[string]string{
		factsQuery(placeholders(lockChunk)):     "sqlite_autoindex_journey_facts_1",
		strugglesQuery(placeholders(lockChunk)): "struggle_detections_journey",
	} {
		rows, err := db.reader.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		var id, parent, unused int
		var detail string
		if err := eachRow(rows, []any{&id, &parent, &unused, &detail}, func() { plan = append(plan, detail) }); err != nil {
			t.Fatal(err)
		}
		if text := fmt.Sprint(plan); !strings.Contains(text, index) {
			t.Errorf("%s\nplans %s, want a search by %s", query, text, index)
		}
	}
}
