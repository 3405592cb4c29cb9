package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testErasure(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"EmptyRowsGo": testEmptyRollupsDeleted,
		"DeleteUser":  testEraseUser,
		"RolledBack":  testEraseRolledBack,
	})
}

// Saving a row that counts nothing deletes the stored one, so rows a user's
// erasure empties are gone, as a rebuild would leave them.
func testEmptyRollupsDeleted(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		return tx.SaveRollups(ctx, sampleRollups("p1", hour0))
	})
	empty := sampleRollups("p1", hour0)
	a, j, s := &empty.Activity[1], &empty.Journeys[0], &empty.Steps[0]
	a.Events, a.Users, a.Abandoned = 0, nil, 0
	j.Started, j.Completed, j.Abandoned, j.CompleteSeconds = 0, 0, 0, nil
	*s = so.StepRollup{ProjectID: s.ProjectID, Hour: s.Hour, Flow: s.Flow, Version: s.Version, Step: s.Step}
	if !a.Empty() || !j.Empty() || !s.Empty() || empty.Activity[0].Empty() {
		t.Fatal("Empty misjudges the rows")
	}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return tx.SaveRollups(ctx, empty) })
	ctx := context.Background()
	q := so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(time.Hour)}
	hours, err := db.ActivityRollups(ctx, q, so.UnitHour)
	if err != nil || len(hours) != 0 {
		t.Errorf("hour rows = %+v, %v; want the emptied one gone", hours, err)
	}
	if minutes, err := db.ActivityRollups(ctx, q, so.UnitMinute); err != nil || len(minutes) != 1 {
		t.Errorf("minute rows = %+v, %v; want the one that still counts", minutes, err)
	}
	if js, err := db.JourneyRollups(ctx, q); err != nil || len(js) != 0 {
		t.Errorf("journey rows = %+v, %v; want none", js, err)
	}
	if steps, err := db.StepRollups(ctx, q); err != nil || len(steps) != 0 {
		t.Errorf("step rows = %+v, %v; want none", steps, err)
	}
}

// The erasure's transaction reads the user's facts and the events the
// analytics consumer has counted, finds who was seen when, and deletes the
// user's rows of one project only.
func testEraseUser(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "analytics")
	startConsumer(t, db, "x")
	v := publishedFlow(t, db, "p1", "onboard")
	j, _, err := db.StartJourney(ctx, so.NewJourney("p1", "u1", v, hour0))
	if err != nil {
		t.Fatal(err)
	}
	fact := &so.JourneyFact{ProjectID: "p1", JourneyID: j.ID, UserID: "u1", Flow: "onboard", Version: v.Version, Revision: 1,
		StartHour: hour0, Status: so.JourneyActive, Steps: []so.StepFact{{Key: "a", Reached: true}}}
	at := behaviourBase()
	detection := &so.Detection{ID: "d-u1", ProjectID: "p1", UserID: "u1", JourneyID: j.ID, Flow: "onboard", Step: "a",
		SessionID: "s1", Rule: so.RuleHesitation, Evidence: []string{"a1"}, DetectedAt: at}
	kept := newIntervention("p1", "u2", "onboard", "a", so.InterventionTip, false, at, "u2")
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		return errors.Join(tx.SaveFacts(ctx, []*so.JourneyFact{fact}),
			tx.SaveBehaviour(ctx, []so.UserBehaviour{{ProjectID: "p1", UserID: "u1", State: []byte(`{}`)}, {ProjectID: "p1", UserID: "u2", State: []byte(`{}`)}}),
			insertAll(ctx, tx, []*so.Detection{detection}, []*so.Intervention{newIntervention("p1", "u1", "onboard", "a", so.InterventionTip, false, at, "u1"), kept}))
	})
	ingestEvents(t, db, newEvent(t, "p1", "a1", "u1"), newEvent(t, "p1", "a2", "u1"), newEvent(t, "p1", "b1", "u2"))
	ingestEvents(t, db, newEvent(t, "p2", "c1", "u1"))
	drain(t, db, "analytics", 100)
	ingestEvents(t, db, newEvent(t, "p1", "a3", "u1")) // past the analytics cursor: not counted yet
	var events, journeys int64
	err = db.EraseUser(ctx, func(ctx context.Context, tx so.ErasureTx) error {
		facts, err := tx.UserFacts(ctx, "p1", "u1")
		if err != nil || len(facts) != 1 || facts[0].JourneyID != j.ID {
			t.Errorf("facts = %+v, %v; want u1's journey's", facts, err)
		}
		if got := counted(t, tx, "p1", []string{"u1", "u2"}, time.Time{}, time.Now().Add(time.Hour)); !slices.Equal(got, []string{"a1", "a2", "b1", "journey_started"}) {
			t.Errorf("counted events = %v; want a1 a2 b1 and the journey's start (a3 is past the cursor, c1 another project's)", got)
		}
		if got := counted(t, tx, "p1", []string{"u1"}, time.Now().Add(time.Minute), time.Now().Add(time.Hour)); len(got) != 0 {
			t.Errorf("counted events after now = %v; want none", got)
		}
		seen, err := tx.SeenBetween(ctx, "p1", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil || !slices.Contains(seen, "u1") || !slices.Contains(seen, "u2") || !slices.IsSorted(seen) {
			t.Errorf("seen = %v, %v; want u1 and u2 among them, sorted", seen, err)
		}
		if later, err := tx.SeenBetween(ctx, "p1", time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)); err != nil || len(later) != 0 {
			t.Errorf("seen in an hour = %v, %v; want none", later, err)
		}
		events, journeys, err = tx.DeleteUser(ctx, "p1", "u1")
		if err != nil {
			return err
		}
		_, _, err = tx.DeleteUser(ctx, "p1", "nobody")
		if so.ErrorCode(err) != so.ENOTFOUND {
			t.Errorf("deleting a user never seen: %v; want not_found", err)
		}
		return nil
	})
	if err != nil || events != 4 || journeys != 1 {
		t.Fatalf("erase = %d events, %d journeys, %v; want 4 (a1 a2 a3 and the journey's start) and 1", events, journeys, err)
	}
	if _, err := db.FindEndUser(ctx, "p1", "u1"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Errorf("u1 after the erasure: %v; want not_found", err)
	}
	if j, err := db.FindJourney(ctx, "p1", "u1", "onboard"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Errorf("u1's journey after the erasure: %+v, %v; want not_found", j, err)
	}
	if is, err := db.ListInterventions(ctx, "p1", so.InterventionFilter{Limit: 10}); err != nil || len(is) != 1 || is[0].ID != kept.ID {
		t.Errorf("interventions after the erasure = %v, %v; want u2's only", interventionIDs(is), err)
	}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		states, err := tx.LoadBehaviour(ctx, "p1", []string{"u1", "u2"})
		if _, gone := states["u1"]; err != nil || gone || len(states) != 1 {
			t.Errorf("behaviour states after the erasure = %v, %v; want u2's only", states, err)
		}
		fresh, err := tx.InsertDetections(ctx, []*so.Detection{detection})
		if err != nil || len(fresh) != 1 || !fresh[0] {
			t.Errorf("u1's detection inserted again = %v, %v; want new (the erasure deleted it)", fresh, err)
		}
		return err
	})
	findUser(t, db, "p1", "u2")
	findUser(t, db, "p2", "u1")
	if n := countEvents(t, db, "p1"); n != 3 {
		t.Errorf("p1 holds %d events; want u2's and the two inConsumer added", n)
	}
	if n := countEvents(t, db, "p2"); n != 1 {
		t.Errorf("p2 holds %d events; want its u1's one", n)
	}
}

// An erasure whose function fails deletes nothing.
func testEraseRolledBack(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "analytics")
	ingestEvents(t, db, newEvent(t, "p1", "a1", "u1"))
	failed := errors.New("stop")
	err := db.EraseUser(ctx, func(ctx context.Context, tx so.ErasureTx) error {
		if _, _, err := tx.DeleteUser(ctx, "p1", "u1"); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("erase = %v; want the function's error", err)
	}
	findUser(t, db, "p1", "u1")
	if n := countEvents(t, db, "p1"); n != 1 {
		t.Errorf("p1 holds %d events after a failed erasure; want 1", n)
	}
}

// counted lists the ids of the events CountedEvents gives (the server's own
// by their type), sorted.
func counted(t *testing.T, tx so.ErasureTx, projectID string, users []string, from, to time.Time) []string {
	t.Helper()
	var ids []string
	err := tx.CountedEvents(context.Background(), projectID, users, from, to, func(evs []*so.Event) error {
		for _, e := range evs {
			if so.ServerEvent(e.Type) {
				ids = append(ids, string(e.Type))
			} else {
				ids = append(ids, e.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("counted events: %v", err)
	}
	slices.Sort(ids)
	return ids
}

// ingestEvents stores one project's events and their users, failing the
// test if it cannot.
func ingestEvents(t *testing.T, db DB, events ...*so.Event) {
	t.Helper()
	touch := func(ctx context.Context, tx so.IngestTx, inserted []*so.Event) error {
		return tx.TouchUsers(ctx, events[0].ProjectID, so.Sightings(inserted))
	}
	if _, err := db.IngestEvents(context.Background(), events, touch); err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

// insertAll stores detections and interventions in a consumer transaction.
func insertAll(ctx context.Context, tx so.ConsumerTx, ds []*so.Detection, is []*so.Intervention) error {
	if _, err := tx.InsertDetections(ctx, ds); err != nil {
		return err
	}
	_, err := tx.InsertInterventions(ctx, is)
	return err
}
