package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
)

// testDB is a migrated database holding project p1.
func testDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: pgtest.URL(t), ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &so.Project{ID: "p1", Name: "p1", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	return db
}

// largeBatch is n new events of p1, large enough for the COPY path.
func largeBatch(t *testing.T, n int) []*so.Event {
	t.Helper()
	if n < copyThreshold {
		t.Fatalf("a batch of %d does not reach the COPY path (%d)", n, copyThreshold)
	}
	return benchBatches(1)[0][:n]
}

// TestIngestLargeBatchWithStoredEvents sends a COPY-sized batch holding events
// already stored and repeated ones: only the new first occurrences are inserted
// and applied, in input order.
func TestIngestLargeBatchWithStoredEvents(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), testDB(t)
	batch := largeBatch(t, 3*copyThreshold)
	if _, err := db.IngestEvents(ctx, []*so.Event{batch[5], batch[17]}, nil); err != nil {
		t.Fatal(err)
	}
	again := *batch[40]
	input := append(slices.Clone(batch), &again)
	var applied []*so.Event
	inserted, err := db.IngestEvents(ctx, input, func(_ context.Context, _ so.IngestTx, in []*so.Event) error {
		applied = in
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []*so.Event
	for i, e := range input {
		isNew := i != 5 && i != 17 && i != len(input)-1
		if inserted[i] != isNew {
			t.Fatalf("inserted[%d] = %v, want %v", i, inserted[i], isNew)
		}
		if isNew {
			want = append(want, e)
		}
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("applied %d events, want the %d new ones in input order", len(applied), len(want))
	}
	if n, err := db.CountEvents(ctx, "p1"); err != nil || n != len(batch) {
		t.Fatalf("%d events stored, %v; want %d", n, err, len(batch))
	}
}

// TestIngestLargeBatchConcurrent races identical COPY-sized batches: each event
// is reported inserted exactly once.
func TestIngestLargeBatchConcurrent(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), testDB(t)
	batch := largeBatch(t, 2*copyThreshold)
	const clients = 8
	counts := make([]int, len(batch))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			inserted, err := db.IngestEvents(ctx, slices.Clone(batch), touchSeen)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, ok := range inserted {
				if ok {
					counts[i]++
				}
			}
		})
	}
	wg.Wait()
	for i, n := range counts {
		if n != 1 {
			t.Fatalf("event %d reported inserted %d times", i, n)
		}
	}
}

// TestIngestRetriesDeadlocks runs the batch again when it loses a deadlock, and
// gives up with unavailable when it keeps losing.
func TestIngestRetriesDeadlocks(t *testing.T) {
	t.Parallel()
	ctx, db := context.Background(), testDB(t)
	deadlock := fmt.Errorf("journeys: %w", &pgconn.PgError{Code: deadlockDetected})
	calls := 0
	inserted, err := db.IngestEvents(ctx, largeBatch(t, copyThreshold), func(context.Context, so.IngestTx, []*so.Event) error {
		if calls++; calls == 1 {
			return deadlock
		}
		return nil
	})
	if err != nil || calls != 2 || !inserted[0] {
		t.Fatalf("after one deadlock: err %v, %d calls, inserted %v", err, calls, inserted[0])
	}
	calls = 0
	_, err = db.IngestEvents(ctx, benchBatches(1)[0][:3], func(context.Context, so.IngestTx, []*so.Event) error {
		calls++
		return deadlock
	})
	if so.ErrorCode(err) != so.EUNAVAILABLE || calls != maxIngestAttempts {
		t.Fatalf("always deadlocking: %v after %d calls, want unavailable after %d", err, calls, maxIngestAttempts)
	}
}
