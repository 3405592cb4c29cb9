package storetest

import (
	"context"
	"fmt"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/ingest"
)

// testEventOwners: an event id is unique per project, so an id another user's
// event holds is refused as a conflict, never counted as a duplicate, while a
// retry of the same user's event stays a duplicate; on each engine's row-by-row
// and bulk paths alike.
func testEventOwners(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Lookup":    testEventOwnersLookup,
		"Ingest":    testEventOwnersIngest,
		"BulkBatch": testEventOwnersBulk,
	})
}

// testEventOwnersLookup: inside the ingestion transaction, EventOwners sees the
// stored events and the ones the batch has just inserted.
func testEventOwnersLookup(t *testing.T, db DB) {
	ctx := context.Background()
	if _, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "x", "alice")}, noApply); err != nil {
		t.Fatal(err)
	}
	batch := []*so.Event{newEvent(t, "p1", "x", "bob"), newEvent(t, "p1", "y", "carol"), newEvent(t, "p1", "y", "dave"),
		newEvent(t, "p2", "x", "erin")}
	var owners []string
	inserted, err := db.IngestEvents(ctx, batch, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		var err error
		owners, err = tx.EventOwners(ctx, []*so.Event{batch[0], batch[2], batch[3], newEvent(t, "p1", "nowhere", "u")})
		return err
	})
	if err != nil || fmt.Sprint(inserted) != "[false true false true]" {
		t.Fatalf("ingest = %v, %v", inserted, err)
	}
	if fmt.Sprintf("%q", owners) != `["alice" "carol" "erin" ""]` {
		t.Fatalf("owners = %q", owners)
	}
}

// testEventOwnersIngest runs the committer over the engine: taken ids are
// refused, retries are duplicates, and refused events are not stored.
func testEventOwnersIngest(t *testing.T, db DB) {
	ctx := context.Background()
	in := ingest.New(db, noJourneys, ingest.Options{})
	defer in.Close()
	if _, err := in.Submit(ctx, []*so.Event{newEvent(t, "p1", "x", "alice")}); err != nil {
		t.Fatal(err)
	}
	r, err := in.Submit(ctx, []*so.Event{newEvent(t, "p1", "x", "bob"), newEvent(t, "p1", "x", "alice"),
		newEvent(t, "p1", "y", "carol"), newEvent(t, "p1", "y", "dave"), newEvent(t, "p2", "x", "bob")})
	if err != nil {
		t.Fatal(err)
	}
	assertRefused(t, r, "[false false true false true]", 0, 3)
	for _, user := range []string{"bob", "dave"} {
		if got, err := db.ListUserEvents(ctx, "p1", user, 10); err != nil || len(got) != 0 {
			t.Fatalf("%s's refused event stored: %v, %v", user, got, err)
		}
	}
	if n, err := db.CountEvents(ctx, "p1"); err != nil || n != 2 {
		t.Fatalf("%d events in p1, %v; want 2", n, err)
	}
}

// testEventOwnersBulk sends batches large enough for the bulk path: one of new
// ids with an id repeated across users (PostgreSQL COPYs it), then one holding an
// id another user's event took earlier (COPY meets it and the batch is retried).
func testEventOwnersBulk(t *testing.T, db DB) {
	ctx := context.Background()
	in := ingest.New(db, noJourneys, ingest.Options{})
	defer in.Close()
	bulk := func(prefix string) []*so.Event {
		batch := make([]*so.Event, 150)
		for i := range batch {
			batch[i] = newEvent(t, "p1", fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("u%d", i%5))
		}
		return batch
	}
	want := make([]bool, 150)
	for i := range want {
		want[i] = i != 20
	}
	first := bulk("a")
	first[20] = newEvent(t, "p1", "a-5", "u1") // a-5 is u0's, earlier in the batch
	r, err := in.Submit(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	assertRefused(t, r, fmt.Sprint(want), 20)
	second := bulk("b")
	second[20] = newEvent(t, "p1", "a-0", "u1") // stored as u0's
	if r, err = in.Submit(ctx, second); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, r, fmt.Sprint(want), 20)
	if n, err := db.CountEvents(ctx, "p1"); err != nil || n != 2*149 {
		t.Fatalf("%d events in p1, %v; want %d", n, err, 2*149)
	}
}

// assertRefused checks which events were inserted and that exactly the listed
// ones were refused as conflicts on their id.
func assertRefused(t *testing.T, r *ingest.Result, inserted string, refused ...int) {
	t.Helper()
	if fmt.Sprint(r.Inserted) != inserted {
		t.Fatalf("inserted %v, want %s", r.Inserted, inserted)
	}
	for i, err := range r.Refused {
		want := false
		for _, k := range refused {
			want = want || k == i
		}
		if want != (err != nil) || want && (so.ErrorCode(err) != so.ECONFLICT || so.ErrorField(err) != "id") {
			t.Fatalf("event %d refused with %v; want refused: %v", i, err, want)
		}
	}
}

func noJourneys(context.Context, so.IngestTx, []*so.Event) (*so.Outcome, error) {
	return &so.Outcome{Notices: map[*so.Event]*so.Notice{}}, nil
}
