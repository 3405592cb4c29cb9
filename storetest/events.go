package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testEvents(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Ingest":     testEventIngest,
		"Duplicates": testEventDuplicates,
		"Concurrent": testEventConcurrent,
		"Users":      testEventTouchUsers,
		"Bulk":       testEventBulk,
		"RoundTrip":  testEventRoundTrip,
	})
}

func noApply(context.Context, so.IngestTx, []*so.Event) error { return nil }

// countEvents counts a project's events; a count it cannot read fails the test
// rather than pass for zero.
func countEvents(t *testing.T, db DB, projectID string) int {
	t.Helper()
	n, err := db.CountEvents(context.Background(), projectID)
	if err != nil {
		t.Fatalf("count events of %s: %v", projectID, err)
	}
	return n
}

// findUser reads a user the test expects to exist.
func findUser(t *testing.T, db DB, projectID, userID string) *so.EndUser {
	t.Helper()
	u, err := db.FindEndUser(context.Background(), projectID, userID)
	if err != nil {
		t.Fatalf("find user %s: %v", userID, err)
	}
	return u
}

func testEventIngest(t *testing.T, db DB) {
	ctx := context.Background()
	e1, e2 := newEvent(t, "p1", "e1", "u1"), newEvent(t, "p1", "e2", "u1")
	e2.Timestamp = e1.Timestamp.Add(-time.Hour) // older events are accepted and sort first
	var applied []*so.Event
	inserted, err := db.IngestEvents(ctx, []*so.Event{e1, e2}, func(_ context.Context, _ so.IngestTx, in []*so.Event) error {
		applied = in
		return nil
	})
	if err != nil || fmt.Sprint(inserted) != "[true true]" || len(applied) != 2 || applied[0] != e1 {
		t.Fatalf("ingest = %v, %v; applied %v", inserted, err, applied)
	}
	got, err := db.ListUserEvents(ctx, "p1", "u1", 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("list = %v, %v", got, err)
	}
	assertJSONEqual(t, "first event", got[0], e2)
	assertJSONEqual(t, "second event", got[1], e1)
	if got, err := db.ListUserEvents(ctx, "p2", "u1", 10); err != nil || len(got) != 0 {
		t.Fatalf("other project sees the events: %v, %v", got, err)
	}
}

func testEventDuplicates(t *testing.T, db DB) {
	ctx := context.Background()
	a, b := newEvent(t, "p1", "same", "u1"), newEvent(t, "p1", "same", "u1")
	other := newEvent(t, "p2", "same", "u1") // ids are unique per project only
	var applied []*so.Event
	inserted, err := db.IngestEvents(ctx, []*so.Event{a, b, other}, func(_ context.Context, _ so.IngestTx, in []*so.Event) error {
		applied = in
		return nil
	})
	if err != nil || fmt.Sprint(inserted) != "[true false true]" || len(applied) != 2 {
		t.Fatalf("ingest = %v, %v; applied %d", inserted, err, len(applied))
	}
	inserted, err = db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "same", "u1"), newEvent(t, "p1", "new", "u1")}, noApply)
	if err != nil || fmt.Sprint(inserted) != "[false true]" {
		t.Fatalf("retry = %v, %v", inserted, err)
	}
	if n := countEvents(t, db, "p1"); n != 2 {
		t.Fatalf("%d events in p1, want 2", n)
	}
}

// testEventConcurrent posts the same batch from 20 goroutines: exactly one row per id.
func testEventConcurrent(t *testing.T, db DB) {
	ctx := context.Background()
	const clients, size = 20, 50
	batch := make([]*so.Event, size)
	for i := range batch {
		batch[i] = newEvent(t, "p1", fmt.Sprintf("ev-%d", i), fmt.Sprintf("u%d", i%7))
	}
	var wg sync.WaitGroup
	insertedPerID := make([]int, size)
	var mu sync.Mutex
	for range clients {
		wg.Go(func() {
			copies := make([]*so.Event, size)
			for i, e := range batch {
				c := *e
				copies[i] = &c
			}
			for attempt := 0; ; attempt++ {
				inserted, err := db.IngestEvents(ctx, copies, func(ctx context.Context, tx so.IngestTx, in []*so.Event) error {
					return tx.TouchUsers(ctx, "p1", so.Sightings(in))
				})
				if so.ErrorCode(err) == so.EUNAVAILABLE && attempt < 5 { // a deadlock victim may retry
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i, ok := range inserted {
					if ok {
						insertedPerID[i]++
					}
				}
				mu.Unlock()
				return
			}
		})
	}
	wg.Wait()
	for i, n := range insertedPerID {
		if n != 1 {
			t.Fatalf("event %d reported inserted %d times, want exactly 1", i, n)
		}
	}
	if n := countEvents(t, db, "p1"); n != size {
		t.Fatalf("%d rows, want %d", n, size)
	}
}

func testEventTouchUsers(t *testing.T, db DB) {
	ctx := context.Background()
	t0 := so.Now()
	_, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e1", "new-user")}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		return tx.TouchUsers(ctx, "p1", map[string]so.Sighting{"new-user": {First: t0, Last: t0}, "other": {First: t0.Add(-time.Hour), Last: t0.Add(-time.Hour)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.FindEndUser(ctx, "p1", "new-user")
	if err != nil || string(u.Traits) != "{}" || !u.FirstSeenAt.Equal(t0) || !u.LastSeenAt.Equal(t0) {
		t.Fatalf("implicit user = %+v, %v", u, err)
	}
	later := t0.Add(time.Minute)
	_, err = db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e2", "new-user")}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		if err := tx.TouchUsers(ctx, "p1", map[string]so.Sighting{"new-user": {First: later, Last: later}}); err != nil {
			return err
		}
		return tx.TouchUsers(ctx, "p1", map[string]so.Sighting{"new-user": {First: t0, Last: t0}}) // last never backwards
	})
	if err != nil {
		t.Fatal(err)
	}
	u = findUser(t, db, "p1", "new-user")
	if !u.FirstSeenAt.Equal(t0) || !u.LastSeenAt.Equal(later) {
		t.Fatalf("touched user = %+v", u)
	}
	// A late-arriving older event moves the first sighting back.
	earlier := t0.Add(-time.Hour)
	_, err = db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e3", "new-user")}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		return tx.TouchUsers(ctx, "p1", so.Sightings([]*so.Event{{UserID: "new-user", Timestamp: later}, {UserID: "new-user", Timestamp: earlier}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	u = findUser(t, db, "p1", "new-user")
	if !u.FirstSeenAt.Equal(earlier) || !u.LastSeenAt.Equal(later) {
		t.Fatalf("after an older event = %+v", u)
	}
}

// testEventBulk sends a batch large enough for each engine's bulk path, mixing
// events already stored and ids repeated inside the batch.
func testEventBulk(t *testing.T, db DB) {
	ctx := context.Background()
	var stored []*so.Event
	for i := range 10 {
		stored = append(stored, newEvent(t, "p1", fmt.Sprintf("bulk-%d", i*30), "u1"))
	}
	if _, err := db.IngestEvents(ctx, stored, noApply); err != nil {
		t.Fatal(err)
	}
	var batch []*so.Event
	for i := range 300 {
		batch = append(batch, newEvent(t, "p1", fmt.Sprintf("bulk-%d", i), fmt.Sprintf("u%d", i%13)))
	}
	for i := range 5 { // repeats inside the batch
		batch = append(batch, newEvent(t, "p1", fmt.Sprintf("bulk-%d", 1+i*30), "u1"))
	}
	var applied int
	inserted, err := db.IngestEvents(ctx, batch, func(_ context.Context, _ so.IngestTx, in []*so.Event) error {
		applied = len(in)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i, ok := range inserted {
		expect := i < 300 && i%30 != 0
		if ok != expect {
			t.Fatalf("event %d (%s) inserted=%v, want %v", i, batch[i].ID, ok, expect)
		}
		if ok {
			want++
		}
	}
	if n := countEvents(t, db, "p1"); n != 300 || applied != want {
		t.Fatalf("%d rows, %d applied; want 300 rows and %d applied", n, applied, want)
	}
}

// testEventRoundTrip stores a batch large enough for each engine's bulk path and
// one small enough for its row-by-row path, with hostile strings, step events,
// nested properties and timestamps from year 1 to now, and reads every field
// back unchanged.
func testEventRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	stamps := []string{"0001-01-01T00:00:00.001Z", "1969-12-31T23:59:59.999Z", "1999-12-31T23:59:59.999Z",
		"2000-01-01T00:00:00Z", so.FormatTime(so.Now())}
	var batch []*so.Event
	for i := range 150 {
		in := so.EventInput{ID: fmt.Sprintf("rt-%03d %s", i, hostile[:12]), Type: so.EventClick, UserID: "rt user ümlaut",
			SessionID: hostile[:20], Timestamp: so.FormatTime(so.Now()),
			Properties: json.RawMessage(fmt.Sprintf(`{"i":%d,"s":%q,"nested":{"list":[1,"\u00e9",null,true]},"esc":"tab\tnl\n"}`, i, hostile))}
		if i%7 == 0 {
			in.Properties = nil // stored as {}
		}
		if i%3 == 0 {
			in.Type, in.Flow, in.Step = so.EventStepStarted, "getting-started", fmt.Sprintf("step-%d", i%4)
		}
		e, err := so.NewEvent("p1", in, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		// Engines store any time; refusing those before 2000 is NewEvent's rule.
		if e.Timestamp, err = time.Parse(time.RFC3339Nano, stamps[i%len(stamps)]); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	for _, part := range [][]*so.Event{batch[:120], batch[120:]} { // bulk, then small
		if _, err := db.IngestEvents(ctx, part, noApply); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.ListUserEvents(ctx, "p1", "rt user ümlaut", 1000)
	if err != nil || len(got) != len(batch) {
		t.Fatalf("list = %d events, %v; want %d", len(got), err, len(batch))
	}
	byID := map[string]*so.Event{}
	for _, e := range got {
		byID[e.ID] = e
	}
	for _, want := range batch {
		g := byID[want.ID]
		if g == nil {
			t.Fatalf("event %q is missing", want.ID)
		}
		if !g.Timestamp.Equal(want.Timestamp) || !g.ReceivedAt.Equal(want.ReceivedAt) {
			t.Fatalf("event %q times: got %s %s, want %s %s", want.ID, g.Timestamp, g.ReceivedAt, want.Timestamp, want.ReceivedAt)
		}
		assertJSONEqual(t, "event "+want.ID, g, want)
	}
}
