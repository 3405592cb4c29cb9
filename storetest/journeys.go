package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testJourneys(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Start":      testJourneyStart,
		"StartRace":  testJourneyStartRace,
		"Abandon":    testJourneyAbandon,
		"InIngestTx": testJourneyInIngest,
	})
}

// publishedFlow creates and publishes a flow, returning its version 1.
func publishedFlow(t *testing.T, db DB, projectID, key string) *so.FlowVersion {
	t.Helper()
	f := newFlow(t, db, projectID, key)
	if err := db.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return publish(t, db, f, 1)
}

func testJourneyStart(t *testing.T, db DB) {
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "onboard")
	j := so.NewJourney("p1", "u1", v, so.Now())
	got, created, err := db.StartJourney(ctx, j)
	if err != nil || !created {
		t.Fatalf("start = %v, %v", created, err)
	}
	assertJSONEqual(t, "journey", got, j)
	again, created, err := db.StartJourney(ctx, so.NewJourney("p1", "u1", v, so.Now()))
	if err != nil || created || again.ID != j.ID {
		t.Fatalf("second start = %+v, %v, %v; want the first journey", again, created, err)
	}
	found, err := db.FindJourney(ctx, "p1", "u1", "onboard")
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "found journey", found, j)
	// The start, and only the first, is in the log for the consumers.
	logged, err := db.ListUserEvents(ctx, "p1", "u1", 10)
	if err != nil || len(logged) != 1 || logged[0].Type != so.EventJourneyStarted || logged[0].ID != so.StartedEvent(j).ID ||
		logged[0].Flow != "onboard" {
		t.Fatalf("the log holds %+v, %v; want one journey_started event", logged, err)
	}
	for _, miss := range [][3]string{{"p1", "u2", "onboard"}, {"p1", "u1", "other"}, {"p2", "u1", "onboard"}} {
		if _, err := db.FindJourney(ctx, miss[0], miss[1], miss[2]); so.ErrorCode(err) != so.ENOTFOUND {
			t.Fatalf("FindJourney%v = %v, want not_found", miss, err)
		}
	}
}

func testJourneyStartRace(t *testing.T, db DB) {
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "race")
	var wg sync.WaitGroup
	const n = 10
	ids, created := make([]string, n), make([]bool, n)
	for i := range n {
		wg.Go(func() {
			j, c, err := db.StartJourney(ctx, so.NewJourney("p1", "u1", v, so.Now()))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], created[i] = j.ID, c
		})
	}
	wg.Wait()
	count := 0
	for i := range n {
		if created[i] {
			count++
		}
		if ids[i] != ids[0] {
			t.Fatalf("racing starts returned different journeys: %v", ids)
		}
	}
	if count != 1 {
		t.Fatalf("%d starts created a journey, want 1", count)
	}
}

func testJourneyAbandon(t *testing.T, db DB) {
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "idle")
	now := so.Now()
	old, recent, done := so.NewJourney("p1", "old", v, now.Add(-8*24*time.Hour)), so.NewJourney("p1", "recent", v, now), so.NewJourney("p1", "done", v, now.Add(-9*24*time.Hour))
	done.Status = so.JourneyCompleted
	for _, j := range []*so.Journey{old, recent, done} {
		if _, _, err := db.StartJourney(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	abandoned, err := db.AbandonIdleJourneys(ctx, now.Add(-so.DefaultAbandonAfter), now, nil)
	if err != nil || len(abandoned) != 1 || abandoned[0].ID != old.ID || abandoned[0].Status != so.JourneyAbandoned || abandoned[0].Revision != 2 {
		t.Fatalf("abandoned = %+v, %v; want only the idle active one", abandoned, err)
	}
	got := findJourney(t, db, "p1", "old", "idle")
	if got.Status != so.JourneyAbandoned || !got.UpdatedAt.Equal(now) {
		t.Fatalf("stored = %+v", got)
	}
	if again, err := db.AbandonIdleJourneys(ctx, now.Add(-so.DefaultAbandonAfter), now, nil); err != nil || len(again) != 0 {
		t.Fatalf("abandoned twice: %+v, %v", again, err)
	}
	logged, err := db.ListUserEvents(ctx, "p1", "old", 10)
	if err != nil {
		t.Fatal(err)
	}
	logged = slices.DeleteFunc(logged, func(e *so.Event) bool { return e.Type == so.EventJourneyStarted })
	// Idle for eight days with a seven-day window: abandoned a day ago.
	want := so.AbandonedEvent(abandoned[0], now.Add(-so.DefaultAbandonAfter), now)
	at := old.LastActivityAt.Add(so.DefaultAbandonAfter).Truncate(time.Millisecond)
	if len(logged) != 1 || logged[0].ID != want.ID || logged[0].Type != so.EventJourneyAbandoned ||
		logged[0].Flow != "idle" || !logged[0].Timestamp.Equal(at) || !logged[0].ReceivedAt.Equal(now.Truncate(time.Millisecond)) {
		t.Fatalf("the log holds %+v, want one journey_abandoned event %s at %s, received %s", logged, want.ID, at, now)
	}
	if others, err := db.ListUserEvents(ctx, "p1", "recent", 10); err != nil || len(others) != 1 || others[0].Type != so.EventJourneyStarted {
		t.Fatalf("a journey left alone logged %+v, %v; want its start only", others, err)
	}
}

// testJourneyInIngest uses the journey operations of the ingestion transaction.
func testJourneyInIngest(t *testing.T, db DB) {
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "tx")
	existing, _, err := db.StartJourney(ctx, so.NewJourney("p1", "u1", v, so.Now()))
	if err != nil {
		t.Fatal(err)
	}
	events := []*so.Event{newEvent(t, "p1", "e1", "u1"), newEvent(t, "p1", "e2", "u2")}
	_, err = db.IngestEvents(ctx, events, func(ctx context.Context, tx so.IngestTx, inserted []*so.Event) error {
		locked, err := tx.LockJourneys(ctx, "p1", []string{"u1", "u2", "u3"})
		if err != nil || len(locked) != 1 || locked[0].ID != existing.ID {
			return fmt.Errorf("LockJourneys = %+v, %v", locked, err)
		}
		fresh := so.NewJourney("p1", "u2", v, so.Now())
		both, err := tx.InsertJourneys(ctx, []*so.Journey{so.NewJourney("p1", "u1", v, so.Now()), fresh})
		if err != nil || len(both) != 2 || both[0].ID != existing.ID || both[1].ID != fresh.ID {
			return fmt.Errorf("InsertJourneys = %+v, %v; want the existing u1 journey, then the new u2 one", both, err)
		}
		stored := both[1]
		locked[0].Status, locked[0].Revision = so.JourneyPaused, locked[0].Revision+1
		stored.Sessions = 3
		return tx.SaveJourneys(ctx, []*so.Journey{locked[0], stored})
	})
	if err != nil {
		t.Fatal(err)
	}
	u1, u2 := findJourney(t, db, "p1", "u1", "tx"), findJourney(t, db, "p1", "u2", "tx")
	if u1.Status != so.JourneyPaused || u1.Revision != 2 || u2.Sessions != 3 {
		t.Fatalf("saved journeys = %+v / %+v", u1, u2)
	}

	// A failing apply rolls back the journey changes with the events.
	_, err = db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e3", "u3")}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		if _, err := tx.InsertJourneys(ctx, []*so.Journey{so.NewJourney("p1", "u3", v, so.Now())}); err != nil {
			return err
		}
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("apply error not returned")
	}
	if _, err := db.FindJourney(ctx, "p1", "u3", "tx"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("journey of a rolled-back batch is stored: %v", err)
	}
	if n := countEvents(t, db, "p1"); n != 3 { // e1, e2 and the start of u1's journey
		t.Fatalf("%d events stored, want 3 (the rolled-back one must not be)", n)
	}
}

// findJourney reads a journey the test expects to exist.
func findJourney(t *testing.T, db DB, projectID, userID, flowKey string) *so.Journey {
	t.Helper()
	j, err := db.FindJourney(context.Background(), projectID, userID, flowKey)
	if err != nil {
		t.Fatalf("find journey of %s in %s: %v", userID, flowKey, err)
	}
	return j
}

func newEvent(t *testing.T, projectID, id, userID string) *so.Event {
	t.Helper()
	e, err := so.NewEvent(projectID, so.EventInput{ID: id, Type: so.EventClick, UserID: userID, SessionID: "s1",
		Timestamp: so.FormatTime(so.Now()), Properties: json.RawMessage(`{"x": 1, "s": "` + hostile[:20] + `"}`)}, so.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}
