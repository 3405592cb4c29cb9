package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// testBehaviour covers what the behaviour consumer writes inside its
// transaction (so.ConsumerTx) and what the API reads back (so.BehaviourStore).
func testBehaviour(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"States":         testBehaviourStates,
		"Detections":     testBehaviourDetections,
		"Interventions":  testBehaviourInterventions,
		"OutcomeStore":   func(t *testing.T, db DB) { testBehaviourOutcome(t, db, false) },
		"OutcomeInTx":    func(t *testing.T, db DB) { testBehaviourOutcome(t, db, true) },
		"StepCompleted":  testBehaviourStepCompleted,
		"Engagement":     testBehaviourEngagement,
		"Effects":        testBehaviourEffects,
		"EffectsWindows": testBehaviourEffectsWindows,
	})
}

// inConsumer ingests one event and runs fn in the Consume call of consumer "x"
// (started by the test) that reads it: a ConsumerTx exists only there. fn
// reports its own failures with t.Errorf and returns them, which rolls the
// transaction back.
func inConsumer(t *testing.T, db DB, fn func(ctx context.Context, tx so.ConsumerTx) error) {
	t.Helper()
	ingestIDs(t, db, so.NewID())
	// On PostgreSQL an event writer still open elsewhere on the server (another
	// test's database) holds the log's horizon back for a moment: wait it out.
	deadline := time.Now().Add(15 * time.Second)
	for {
		calls := 0
		n, err := db.Consume(context.Background(), "x", 100, func(ctx context.Context, tx so.ConsumerTx, _ []*so.Event) error {
			calls++
			return fn(ctx, tx)
		})
		if err != nil {
			t.Fatalf("consume: %v", err)
		}
		if n > 0 && calls == 1 {
			return
		}
		if n > 0 || calls > 0 || time.Now().After(deadline) {
			t.Fatalf("consume read %d events and ran fn %d times, want the one event and one call", n, calls)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// behaviourBase is a fixed millisecond time a little in the past.
func behaviourBase() time.Time {
	return so.Truncate(time.Date(2031, 4, 5, 6, 7, 8, 123_000_000, time.UTC))
}

// newIntervention is a sent (or held out) struggle intervention triggered at
// at, with an id derived from what it is about and tag.
func newIntervention(projectID, userID, flow, step string, kind so.InterventionKind, heldOut bool, at time.Time, tag string) *so.Intervention {
	return &so.Intervention{ID: so.DerivedID(at, projectID, userID, flow, step, string(kind), tag), ProjectID: projectID,
		UserID: userID, JourneyID: "j-" + userID, Flow: flow, Step: step, SessionID: "s-" + userID, Kind: kind,
		Trigger: so.TriggerStruggle, Rule: so.RuleHesitation, DetectionID: "d-" + tag, HeldOut: heldOut, ContentID: "c-" + tag,
		Title: "Need a hand? " + tag, Body: "<p>Try <b>this</b> " + tag + "</p>", Actions: []so.Action{}, TriggeredAt: at}
}

func interventionIDs(is []*so.Intervention) []string {
	out := []string{}
	for _, i := range is {
		out = append(out, i.ID)
	}
	return out
}

func insertInterventions(t *testing.T, db DB, is ...*so.Intervention) {
	t.Helper()
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		fresh, err := tx.InsertInterventions(ctx, is)
		if err != nil {
			t.Errorf("insert interventions: %v", err)
			return err
		}
		for k, f := range fresh {
			if !f {
				t.Errorf("intervention %d (%s) was not new", k, is[k].ID)
			}
		}
		return nil
	})
}

func findIntervention(t *testing.T, db DB, projectID, id string) *so.Intervention {
	t.Helper()
	i, err := db.FindIntervention(context.Background(), projectID, id)
	if err != nil {
		t.Fatalf("find intervention %s of %s: %v", id, projectID, err)
	}
	return i
}

// isInterventionNotFound checks err is exactly so.InterventionNotFound(id).
func isInterventionNotFound(err error, id string) error {
	want := so.InterventionNotFound(id)
	var got *so.Error
	if !errors.As(err, &got) || *got != *want {
		return fmt.Errorf("error %#v (%v), want %#v", got, err, want)
	}
	if so.ErrorCode(err) != so.ENOTFOUND || err.Error() != want.Error() || so.ErrorMessage(err) != fmt.Sprintf("intervention %q not found", id) {
		return fmt.Errorf("error %q (code %s), want not_found %q", err, so.ErrorCode(err), want.Error())
	}
	return nil
}

func testBehaviourStates(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	// Byte-exact: odd spacing, key order and escapes must survive.
	u1 := json.RawMessage(`{"z": 1,  "a":[1,2.50, "\u00e9"],"n":null}`)
	u2 := json.RawMessage(`{"streak":3,"text":"é <>&"}`)
	p2u1 := json.RawMessage(`{"other":true}`)
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		err := tx.SaveBehaviour(ctx, []so.UserBehaviour{{ProjectID: "p1", UserID: "u1", State: u1},
			{ProjectID: "p1", UserID: "u2", State: u2}, {ProjectID: "p2", UserID: "u1", State: p2u1}})
		if err != nil {
			t.Errorf("save behaviour: %v", err)
		}
		return err
	})
	load := func(ctx context.Context, tx so.ConsumerTx, projectID string, users []string, want map[string]string) error {
		got, err := tx.LoadBehaviour(ctx, projectID, users)
		if err != nil {
			t.Errorf("load behaviour %s %v: %v", projectID, users, err)
			return err
		}
		gotS := map[string]string{}
		for k, v := range got {
			gotS[k] = string(v)
		}
		if fmt.Sprint(gotS) != fmt.Sprint(want) || len(gotS) != len(want) {
			t.Errorf("load behaviour %s %v = %q\n want %q", projectID, users, gotS, want)
		}
		return nil
	}
	replaced := json.RawMessage(`{"v":2}`)
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		for _, c := range []struct {
			project string
			users   []string
			want    map[string]string
		}{
			{"p1", []string{"u1", "u2", "u3"}, map[string]string{"u1": string(u1), "u2": string(u2)}},
			{"p1", []string{"u2", "u2"}, map[string]string{"u2": string(u2)}},
			{"p1", []string{"u3"}, map[string]string{}},
			{"p2", []string{"u1", "u2"}, map[string]string{"u1": string(p2u1)}},
			{"p2", []string{"u2"}, map[string]string{}},
		} {
			if err := load(ctx, tx, c.project, c.users, c.want); err != nil {
				return err
			}
		}
		err := tx.SaveBehaviour(ctx, []so.UserBehaviour{{ProjectID: "p1", UserID: "u1", State: replaced}})
		if err != nil {
			t.Errorf("save behaviour again: %v", err)
		}
		return err
	})
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		if err := load(ctx, tx, "p1", []string{"u1", "u2"}, map[string]string{"u1": string(replaced), "u2": string(u2)}); err != nil {
			return err
		}
		return load(ctx, tx, "p2", []string{"u1"}, map[string]string{"u1": string(p2u1)})
	})
}

func testBehaviourDetections(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "x")
	base := so.Now().Add(-time.Hour)
	det := func(projectID, userID, session string, rule so.StruggleRule, at time.Time, evidence ...string) *so.Detection {
		return &so.Detection{ID: so.DerivedID(at, projectID, userID, "f", "s", session, string(rule)), ProjectID: projectID,
			UserID: userID, JourneyID: "j-" + userID, Flow: "f", Step: "s", SessionID: session, Rule: rule,
			Evidence: append([]string{}, evidence...), DetectedAt: at}
	}
	d1 := det("p1", "u1", "s1", so.RuleHesitation, base, "e1")
	d2 := det("p1", "u1", "s1", so.RuleErrors, base.Add(time.Minute), "e2", "e3", "e4")
	d3 := det("p1", "u1", "s2", so.RuleRageClick, base.Add(2*time.Minute), "e9", "e5")
	other := det("p1", "u2", "s1", so.RuleStuck, base.Add(3*time.Minute), "e6")
	inP2 := det("p2", "u1", "s1", so.RuleStepBack, base.Add(4*time.Minute), "e7", "e8")
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		fresh, err := tx.InsertDetections(ctx, []*so.Detection{d1, d2})
		if err != nil || fmt.Sprint(fresh) != "[true true]" {
			t.Errorf("insert new detections = %v, %v; want [true true]", fresh, err)
			return errors.Join(err, errors.New("bad insert"))
		}
		return nil
	})
	changed := *d1
	changed.Evidence, changed.Step, changed.DetectedAt = []string{"changed"}, "other", base.Add(time.Hour)
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		fresh, err := tx.InsertDetections(ctx, []*so.Detection{&changed})
		if err != nil || fmt.Sprint(fresh) != "[false]" {
			t.Errorf("insert a repeated detection = %v, %v; want [false]", fresh, err)
			return errors.Join(err, errors.New("bad insert"))
		}
		fresh, err = tx.InsertDetections(ctx, []*so.Detection{d3, other, d2, inP2})
		if err != nil || fmt.Sprint(fresh) != "[true true false true]" {
			t.Errorf("insert mixed detections = %v, %v; want [true true false true]", fresh, err)
			return errors.Join(err, errors.New("bad insert"))
		}
		return nil
	})
	for _, c := range []struct {
		project, user string
		limit         int
		want          []*so.Detection
	}{
		{"p1", "u1", 10, []*so.Detection{d3, d2, d1}},
		{"p1", "u1", 2, []*so.Detection{d3, d2}},
		{"p1", "u1", 1, []*so.Detection{d3}},
		{"p1", "u2", 10, []*so.Detection{other}},
		{"p1", "u3", 10, []*so.Detection{}},
		{"p2", "u1", 10, []*so.Detection{inP2}},
		{"p2", "u2", 10, []*so.Detection{}},
	} {
		got, err := db.ListDetections(ctx, c.project, c.user, c.limit)
		if err != nil {
			t.Fatalf("list detections %s/%s: %v", c.project, c.user, err)
		}
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		assertJSONEqual(t, fmt.Sprintf("detections of %s/%s limit %d", c.project, c.user, c.limit), got, c.want)
		for k := range got {
			if !got[k].DetectedAt.Equal(c.want[k].DetectedAt) || got[k].DetectedAt.Location() != time.UTC {
				t.Fatalf("detected_at %v, want %v in UTC", got[k].DetectedAt, c.want[k].DetectedAt)
			}
		}
	}
}

func testBehaviourInterventions(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "x")
	base := behaviourBase()
	tm := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	score := 0.25
	a0 := newIntervention("p1", "u1", "f", "s1", so.InterventionTip, false, tm(0), "a0")
	a0.Trigger, a0.Rule, a0.Predictor, a0.Score, a0.DetectionID = so.TriggerLowSuccess, "", so.PredictorHeuristic, &score, ""
	a0.Actions = []so.Action{{ID: "ok", Label: "Got it"}, {ID: "docs", Label: "Read the docs", URL: "https://example.com/docs?a=1&b=2"}}
	a0.ShownAt, a0.AcceptedAt, a0.DismissedAt, a0.StepCompletedAt = ptr(tm(1)), ptr(tm(2)), ptr(tm(3)), ptr(tm(4))
	a0.Feedback, a0.Title, a0.Body = so.OutcomeHelpful, hostile, "<p>"+hostile+"</p>"
	a1 := newIntervention("p1", "u1", "f", "s2", so.InterventionGuide, true, tm(10), "a1")
	a1.Actions = nil // stored as no actions
	a2 := newIntervention("p1", "u2", "f", "s1", so.InterventionTip, true, tm(20), "a2")
	a3 := newIntervention("p1", "u2", "g", "s1", so.InterventionHuman, false, tm(30), "a3")
	a4 := newIntervention("p1", "u1", "f", "s1", so.InterventionSimplify, false, tm(40), "a4")
	a5 := newIntervention("p2", "u1", "f", "s1", so.InterventionTip, false, tm(50), "a5")
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		fresh, err := tx.InsertInterventions(ctx, []*so.Intervention{a0, a1, a2})
		if err != nil || fmt.Sprint(fresh) != "[true true true]" {
			t.Errorf("insert new interventions = %v, %v; want [true true true]", fresh, err)
			return errors.Join(err, errors.New("bad insert"))
		}
		return nil
	})
	changed := *a0
	changed.Title, changed.HeldOut, changed.ShownAt, changed.Score = "changed", true, nil, nil
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		fresh, err := tx.InsertInterventions(ctx, []*so.Intervention{&changed, a3, a4, a5})
		if err != nil || fmt.Sprint(fresh) != "[false true true true]" {
			t.Errorf("insert mixed interventions = %v, %v; want [false true true true]", fresh, err)
			return errors.Join(err, errors.New("bad insert"))
		}
		return nil
	})
	a1.Actions = []so.Action{}

	// Every field round-trips, through FindIntervention and ListInterventions.
	for _, want := range []*so.Intervention{a0, a1, a2, a3, a4} {
		assertJSONEqual(t, "found intervention "+want.ID, findIntervention(t, db, "p1", want.ID), want)
	}
	assertJSONEqual(t, "found intervention of p2", findIntervention(t, db, "p2", a5.ID), a5)
	got := findIntervention(t, db, "p1", a0.ID)
	if got.Score == nil || *got.Score != 0.25 || !got.ShownAt.Equal(tm(1)) || got.ShownAt.Location() != time.UTC || !got.TriggeredAt.Equal(tm(0)) {
		t.Fatalf("a0 read back as %+v", got)
	}
	if got := findIntervention(t, db, "p1", a1.ID); got.Score != nil || got.ShownAt != nil || got.AcceptedAt != nil ||
		got.DismissedAt != nil || got.StepCompletedAt != nil || got.Actions == nil || len(got.Actions) != 0 || !got.HeldOut {
		t.Fatalf("a1 read back as %+v", got)
	}
	for _, miss := range [][2]string{{"p2", a0.ID}, {"p1", a5.ID}, {"p1", "ghost"}} {
		_, err := db.FindIntervention(ctx, miss[0], miss[1])
		if err := isInterventionNotFound(err, miss[1]); err != nil {
			t.Fatalf("FindIntervention%v: %v", miss, err)
		}
	}

	all, err := db.ListInterventions(ctx, "p1", so.InterventionFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "all interventions of p1", all, []*so.Intervention{a4, a3, a2, a1, a0})

	no, yes := false, true
	for _, c := range []struct {
		name string
		f    so.InterventionFilter
		want []*so.Intervention
	}{
		{"limit", so.InterventionFilter{Limit: 2}, []*so.Intervention{a4, a3}},
		{"after", so.InterventionFilter{After: a3.ID, Limit: 2}, []*so.Intervention{a2, a1}},
		{"after the last page", so.InterventionFilter{After: a1.ID, Limit: 2}, []*so.Intervention{a0}},
		{"after the oldest", so.InterventionFilter{After: a0.ID, Limit: 2}, nil},
		{"user u1", so.InterventionFilter{UserID: "u1", Limit: 10}, []*so.Intervention{a4, a1, a0}},
		{"user u2", so.InterventionFilter{UserID: "u2", Limit: 10}, []*so.Intervention{a3, a2}},
		{"unknown user", so.InterventionFilter{UserID: "u9", Limit: 10}, nil},
		{"flow g", so.InterventionFilter{Flow: "g", Limit: 10}, []*so.Intervention{a3}},
		{"flow f", so.InterventionFilter{Flow: "f", Limit: 10}, []*so.Intervention{a4, a2, a1, a0}},
		{"step s2", so.InterventionFilter{Step: "s2", Limit: 10}, []*so.Intervention{a1}},
		{"kind tip", so.InterventionFilter{Kind: so.InterventionTip, Limit: 10}, []*so.Intervention{a2, a0}},
		{"kind human", so.InterventionFilter{Kind: so.InterventionHuman, Limit: 10}, []*so.Intervention{a3}},
		{"held out", so.InterventionFilter{HeldOut: &yes, Limit: 10}, []*so.Intervention{a2, a1}},
		{"sent", so.InterventionFilter{HeldOut: &no, Limit: 10}, []*so.Intervention{a4, a3, a0}},
		{"from (inclusive)", so.InterventionFilter{From: tm(10), Limit: 10}, []*so.Intervention{a4, a3, a2, a1}},
		{"to (exclusive)", so.InterventionFilter{To: tm(30), Limit: 10}, []*so.Intervention{a2, a1, a0}},
		{"from and to", so.InterventionFilter{From: tm(10), To: tm(30), Limit: 10}, []*so.Intervention{a2, a1}},
		{"from a millisecond later", so.InterventionFilter{From: tm(10).Add(time.Millisecond), To: tm(30).Add(time.Millisecond), Limit: 10},
			[]*so.Intervention{a3, a2}},
		{"user, flow, step and kind", so.InterventionFilter{UserID: "u1", Flow: "f", Step: "s1", Kind: so.InterventionTip, Limit: 10},
			[]*so.Intervention{a0}},
		{"user and held out", so.InterventionFilter{UserID: "u2", HeldOut: &no, Limit: 10}, []*so.Intervention{a3}},
		{"flow with after and limit", so.InterventionFilter{Flow: "f", After: a4.ID, Limit: 2}, []*so.Intervention{a2, a1}},
	} {
		got, err := db.ListInterventions(ctx, "p1", c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		assertEqual(t, c.name, interventionIDs(got), interventionIDs(c.want))
	}
	inP2, err := db.ListInterventions(ctx, "p2", so.InterventionFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "interventions of p2", inP2, []*so.Intervention{a5})
}

// testBehaviourOutcome records outcomes with BehaviourStore.RecordOutcome or,
// inTx, with ConsumerTx.RecordOutcome.
func testBehaviourOutcome(t *testing.T, db DB, inTx bool) {
	ctx := context.Background()
	startConsumer(t, db, "x")
	base := so.Now().Add(-time.Hour)
	t1, t2, t3 := base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second)
	mk := func(projectID, userID string, held bool, tag string) *so.Intervention {
		return newIntervention(projectID, userID, "f", "s", so.InterventionTip, held, base, tag)
	}
	shown, accepted, dismissed, feedback := mk("p1", "u1", false, "shown"), mk("p1", "u1", false, "accepted"),
		mk("p1", "u1", false, "dismissed"), mk("p1", "u1", false, "feedback")
	shownLater := mk("p1", "u1", false, "shown-later")
	shownLater.ShownAt = ptr(base.Add(-time.Minute)) // shown before, as the store holds it
	held, others, inP2 := mk("p1", "u1", true, "held"), mk("p1", "u2", false, "others"), mk("p2", "u1", false, "p2")
	insertInterventions(t, db, shown, accepted, dismissed, feedback, shownLater, held, others, inP2)

	type step struct {
		user, id string
		o        so.InterventionOutcome
		at       time.Time
		want     func(i *so.Intervention) // applied to the expected record
	}
	expected := map[string]*so.Intervention{}
	for _, i := range []*so.Intervention{shown, accepted, dismissed, feedback, shownLater, held, others, inP2} {
		c := *i
		expected[i.ID] = &c
	}
	steps := []step{
		{"u1", shown.ID, so.OutcomeShown, t1, func(i *so.Intervention) { i.ShownAt = ptr(t1) }},
		{"u1", shown.ID, so.OutcomeShown, t2, func(*so.Intervention) {}}, // the first time is kept
		{"u1", shown.ID, so.OutcomeAccepted, t3, func(i *so.Intervention) { i.AcceptedAt = ptr(t3) }},
		{"u1", accepted.ID, so.OutcomeAccepted, t1, func(i *so.Intervention) { i.ShownAt, i.AcceptedAt = ptr(t1), ptr(t1) }},
		{"u1", accepted.ID, so.OutcomeAccepted, t2, func(*so.Intervention) {}},
		{"u1", accepted.ID, so.OutcomeShown, t3, func(*so.Intervention) {}},
		{"u1", dismissed.ID, so.OutcomeDismissed, t2, func(i *so.Intervention) { i.ShownAt, i.DismissedAt = ptr(t2), ptr(t2) }},
		{"u1", dismissed.ID, so.OutcomeDismissed, t3, func(*so.Intervention) {}},
		{"u1", dismissed.ID, so.OutcomeAccepted, t3, func(i *so.Intervention) { i.AcceptedAt = ptr(t3) }},
		{"u1", feedback.ID, so.OutcomeHelpful, t1, func(i *so.Intervention) { i.ShownAt, i.Feedback = ptr(t1), so.OutcomeHelpful }},
		{"u1", feedback.ID, so.OutcomeNotHelpful, t2, func(i *so.Intervention) { i.Feedback = so.OutcomeNotHelpful }},
		{"u1", feedback.ID, so.OutcomeShown, t3, func(*so.Intervention) {}},
		{"u1", shownLater.ID, so.OutcomeDismissed, t1, func(i *so.Intervention) { i.DismissedAt = ptr(t1) }},
		{"u1", shownLater.ID, so.OutcomeHelpful, t2, func(i *so.Intervention) { i.Feedback = so.OutcomeHelpful }},
		{"u2", others.ID, so.OutcomeShown, t1, func(i *so.Intervention) { i.ShownAt = ptr(t1) }},
	}
	misses := [][3]string{
		{"p1", "u2", shown.ID},  // another user's
		{"p2", "u1", shown.ID},  // another project's
		{"p1", "u1", held.ID},   // held out: nothing was sent
		{"p1", "u1", "ghost"},   // unknown
		{"p1", "u1", inP2.ID},   // in p2, asked in p1
		{"p1", "u1", others.ID}, // u2's, asked for u1
	}
	run := func(ctx context.Context, record func(ctx context.Context, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error)) error {
		for k, s := range steps {
			want := expected[s.id]
			s.want(want)
			got, err := record(ctx, "p1", s.user, s.id, s.o, s.at)
			if err != nil {
				t.Errorf("step %d: record %s on %s: %v", k, s.o, s.id, err)
				return err
			}
			if g, w := dump(got), dump(want); g != w {
				t.Errorf("step %d: record %s at %s returned\n %s\nwant %s", k, s.o, so.FormatTime(s.at), g, w)
			}
		}
		for _, o := range so.InterventionOutcomes {
			for _, m := range misses {
				_, err := record(ctx, m[0], m[1], m[2], o, t3)
				if err := isInterventionNotFound(err, m[2]); err != nil {
					t.Errorf("record %s on %v: %v", o, m, err)
				}
			}
		}
		return nil
	}
	if inTx {
		inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return run(ctx, tx.RecordOutcome) })
	} else if err := run(ctx, db.RecordOutcome); err != nil {
		t.FailNow()
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, i := range []*so.Intervention{shown, accepted, dismissed, feedback, shownLater, held, others} {
		assertJSONEqual(t, "stored intervention "+i.ID, findIntervention(t, db, "p1", i.ID), expected[i.ID])
	}
	assertJSONEqual(t, "stored intervention of p2", findIntervention(t, db, "p2", inP2.ID), inP2)
}

func testBehaviourStepCompleted(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	at := behaviourBase().Add(10 * time.Minute)
	const window = 5 * time.Minute
	mk := func(projectID, userID, flow, step string, held bool, trig time.Time, tag string) *so.Intervention {
		return newIntervention(projectID, userID, flow, step, so.InterventionTip, held, trig, tag)
	}
	before := mk("p1", "u1", "f", "s", false, at.Add(-window-time.Millisecond), "before-window")
	edge := mk("p1", "u1", "f", "s", false, at.Add(-window), "window-edge")
	inside := mk("p1", "u1", "f", "s", false, at.Add(-time.Minute), "inside")
	heldOut := mk("p1", "u1", "f", "s", true, at.Add(-2*time.Minute), "held")
	exact := mk("p1", "u1", "f", "s", false, at, "exact")
	after := mk("p1", "u1", "f", "s", false, at.Add(time.Second), "after")
	marked := mk("p1", "u1", "f", "s", false, at.Add(-3*time.Minute), "marked")
	marked.StepCompletedAt = ptr(at.Add(-3 * time.Minute).Add(time.Second)) // already marked
	otherStep := mk("p1", "u1", "f", "s2", false, at.Add(-time.Minute), "other-step")
	otherFlow := mk("p1", "u1", "g", "s", false, at.Add(-time.Minute), "other-flow")
	otherUser := mk("p1", "u2", "f", "s", false, at.Add(-time.Minute), "other-user")
	inP2 := mk("p2", "u1", "f", "s", false, at.Add(-time.Minute), "p2")
	all := []*so.Intervention{before, edge, inside, heldOut, exact, after, marked, otherStep, otherFlow, otherUser, inP2}
	insertInterventions(t, db, all...)

	check := func(when string, want map[string]*time.Time) {
		t.Helper()
		for _, i := range all {
			got := findIntervention(t, db, i.ProjectID, i.ID)
			w := i.StepCompletedAt
			if v, ok := want[i.ID]; ok {
				w = v
			}
			if (got.StepCompletedAt == nil) != (w == nil) || (w != nil && !got.StepCompletedAt.Equal(*w)) {
				t.Fatalf("%s: intervention %s (%s) step_completed_at = %v, want %v", when, i.Title, i.ID, got.StepCompletedAt, w)
			}
			if got.ShownAt != nil || got.Feedback != "" {
				t.Fatalf("%s: intervention %s changed: %+v", when, i.Title, got)
			}
		}
	}
	complete := func(at time.Time) {
		t.Helper()
		inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
			err := tx.StepCompleted(ctx, "p1", "u1", "f", "s", at, window)
			if err != nil {
				t.Errorf("step completed: %v", err)
			}
			return err
		})
	}
	complete(at)
	first := map[string]*time.Time{edge.ID: &at, inside.ID: &at, heldOut.ID: &at, exact.ID: &at}
	check("after the first completion", first)

	// Later: the window now reaches back to at+1m-5m, taking in "after"; the
	// ones already marked keep their first time.
	later := at.Add(time.Minute)
	complete(later)
	first[after.ID] = &later
	check("after the second completion", first)
}

func testBehaviourEngagement(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "x")
	v := publishedFlow(t, db, "p1", "f")
	vP2 := publishedFlow(t, db, "p2", "f")
	start := func(projectID, userID string, v *so.FlowVersion) *so.Journey {
		j, _, err := db.StartJourney(ctx, so.NewJourney(projectID, userID, v, so.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	j1, j2, j3, j4 := start("p1", "u1", v), start("p1", "u2", v), start("p1", "u3", v), start("p2", "u1", vP2)
	m0 := so.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	m1 := m0.Add(time.Minute)
	pt := func(j *so.Journey, minute time.Time, score float64, session string, sessionScore float64) so.EngagementPoint {
		return so.EngagementPoint{ProjectID: j.ProjectID, JourneyID: j.ID, Minute: minute, Score: score,
			Level: so.EngagementLevel(score), SessionID: session, SessionScore: sessionScore}
	}
	save := func(points ...so.EngagementPoint) {
		t.Helper()
		inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
			err := tx.SaveEngagement(ctx, points)
			if err != nil {
				t.Errorf("save engagement: %v", err)
			}
			return err
		})
	}
	series := func(what string, projectID string, j *so.Journey, want []so.EngagementPoint) {
		t.Helper()
		got, err := db.EngagementSeries(ctx, projectID, j.ID)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		assertJSONEqual(t, what, got, want)
		for k := range got {
			if !got[k].Minute.Equal(want[k].Minute) || got[k].Minute.Location() != time.UTC {
				t.Fatalf("%s: minute %v, want %v in UTC", what, got[k].Minute, want[k].Minute)
			}
		}
	}
	latest := func(what string, want map[string]float64) {
		t.Helper()
		got, err := db.JourneyEngagement(ctx, []string{j1.ID, j2.ID, j3.ID, j4.ID, "ghost"})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		assertEqual(t, what, got, want)
	}

	// Two points in one minute keep one row, with the later values.
	save(pt(j1, m0, 30, "s1", 20), pt(j1, m0, 45, "s2", 50), pt(j4, m0, 70, "s9", 71))
	series("j1 after one minute", "p1", j1, []so.EngagementPoint{pt(j1, m0, 45, "s2", 50)})
	latest("latest after one minute", map[string]float64{j1.ID: 45, j4.ID: 70})

	// A second minute makes a two-point series, in time order.
	save(pt(j2, m1, 90, "s3", 91), pt(j1, m1, 85, "s2", 88))
	series("j1 after two minutes", "p1", j1, []so.EngagementPoint{pt(j1, m0, 45, "s2", 50), pt(j1, m1, 85, "s2", 88)})
	series("j2", "p1", j2, []so.EngagementPoint{pt(j2, m1, 90, "s3", 91)})
	latest("latest after two minutes", map[string]float64{j1.ID: 85, j2.ID: 90, j4.ID: 70})

	// An older point saved later rewrites its minute but not the latest score.
	save(pt(j1, m0, 10, "s1", 5))
	series("j1 after a late point", "p1", j1, []so.EngagementPoint{pt(j1, m0, 10, "s1", 5), pt(j1, m1, 85, "s2", 88)})
	latest("latest after a late point", map[string]float64{j1.ID: 85, j2.ID: 90, j4.ID: 70})

	// A later minute moves it again, even at a lower score.
	save(pt(j1, m1.Add(time.Minute), 12, "s3", 0))
	latest("latest after a later point", map[string]float64{j1.ID: 12, j2.ID: 90, j4.ID: 70})

	series("j3 (no points)", "p1", j3, nil)
	series("j1 asked in p2", "p2", j1, nil)
	series("j4 in p2", "p2", j4, []so.EngagementPoint{pt(j4, m0, 70, "s9", 71)})
	series("j4 asked in p1", "p1", j4, nil)
	if got, err := db.JourneyEngagement(ctx, []string{j3.ID}); err != nil || len(got) != 0 {
		t.Fatalf("engagement of a journey without points = %v, %v", got, err)
	}
}

// effectsFixture stores, in p1 and p2, interventions on flow f, step s for
// several users, and returns the window [from, to) they were triggered in.
func effectsFixture(t *testing.T, db DB) (from, to time.Time) {
	ctx := context.Background()
	startConsumer(t, db, "x")
	v, vP2 := publishedFlow(t, db, "p1", "f"), publishedFlow(t, db, "p2", "f")
	from = behaviourBase()
	to = from.Add(time.Hour)
	journeys := map[string]*so.Journey{}
	start := func(projectID, userID string, v *so.FlowVersion, completed bool) {
		j, _, err := db.StartJourney(ctx, so.NewJourney(projectID, userID, v, so.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if completed {
			j.Status, j.Revision = so.JourneyCompleted, j.Revision+1
			if err := saveInIngest(t, db, j); err != nil {
				t.Fatalf("complete journey of %s: %v", userID, err)
			}
		}
		journeys[projectID+"/"+userID] = j
	}
	for _, u := range []struct {
		user      string
		completed bool
	}{{"uA", true}, {"uB", false}, {"uC", false}, {"uD", true}, {"uE", false}, {"uF", true}, {"uG", true}, {"uH", false}} {
		start("p1", u.user, v, u.completed)
	}
	start("p2", "uA", vP2, true)
	mk := func(projectID, userID string, kind so.InterventionKind, held bool, at time.Time, tag string) *so.Intervention {
		i := newIntervention(projectID, userID, "f", "s", kind, held, at, tag)
		i.JourneyID = journeys[projectID+"/"+userID].ID
		return i
	}
	in := func(m int) time.Time { return from.Add(time.Duration(m) * time.Minute) }
	sent := func(userID string, at time.Time, tag string) *so.Intervention {
		return mk("p1", userID, so.InterventionTip, false, at, tag)
	}
	heldOut := func(userID string, at time.Time, tag string) *so.Intervention {
		return mk("p1", userID, so.InterventionTip, true, at, tag)
	}

	// Sent: uA completed the step and the journey, and accepted.
	a := sent("uA", in(5), "a")
	a.ShownAt, a.AcceptedAt, a.StepCompletedAt = ptr(in(6)), ptr(in(6)), ptr(in(7))
	// uB got two on the step: one shown and helpful, then one not shown that
	// was followed by the step's completion. uB counts once everywhere.
	b1, b2 := sent("uB", in(10), "b1"), sent("uB", in(20), "b2")
	b1.ShownAt, b1.Feedback = ptr(in(11)), so.OutcomeHelpful
	b2.StepCompletedAt = ptr(in(21))
	// uC, triggered at the start of the window: shown, dismissed, not helpful.
	c := sent("uC", from, "c")
	c.ShownAt, c.DismissedAt, c.Feedback = ptr(in(1)), ptr(in(1)), so.OutcomeNotHelpful
	// Held out: uD completed step and journey, uE nothing, uF only the journey.
	d := heldOut("uD", in(30), "d")
	d.StepCompletedAt = ptr(in(31))
	e := heldOut("uE", in(40), "e")
	f := heldOut("uF", in(50), "f")
	// Outside the window: uG just before it, uH at its (exclusive) end.
	g := heldOut("uG", from.Add(-time.Millisecond), "g")
	g.StepCompletedAt = ptr(in(1))
	h := sent("uH", to, "h")
	h.ShownAt, h.StepCompletedAt = ptr(to), ptr(to)
	// Another kind for uA, sent, and uE's guide held out.
	guide := mk("p1", "uA", so.InterventionGuide, false, in(8), "guide")
	guide.ShownAt = ptr(in(9))
	guideHeld := mk("p1", "uE", so.InterventionGuide, true, in(41), "guide-held")
	// Another project.
	other := mk("p2", "uA", so.InterventionTip, false, in(5), "other")
	other.StepCompletedAt = ptr(in(6))
	insertInterventions(t, db, a, b1, b2, c, d, e, f, g, h, guide, guideHeld, other)
	return from, to
}

func testBehaviourEffects(t *testing.T, db DB) {
	ctx := context.Background()
	from, to := effectsFixture(t, db)
	got, err := db.InterventionEffects(ctx, "p1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "effects in p1", got, []so.EffectCounts{
		{Kind: so.InterventionGuide, Step: "s", Flow: "f", Sent: 1, SentStepCompleted: 0, SentJourneyCompleted: 1,
			HeldOut: 1, HeldStepCompleted: 0, HeldJourneyCompleted: 0, Shown: 1},
		{Kind: so.InterventionTip, Step: "s", Flow: "f",
			Sent: 3, SentStepCompleted: 2, SentJourneyCompleted: 1, // uA uB uC; uA uB; uA
			HeldOut: 3, HeldStepCompleted: 1, HeldJourneyCompleted: 2, // uD uE uF; uD; uD uF
			Shown: 3, Accepted: 1, Dismissed: 1, Helpful: 1, NotHelpful: 1},
	})
	got, err = db.InterventionEffects(ctx, "p2", from, to)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "effects in p2", got, []so.EffectCounts{
		{Kind: so.InterventionTip, Step: "s", Flow: "f", Sent: 1, SentStepCompleted: 1, SentJourneyCompleted: 1},
	})
}

// testBehaviourEffectsWindows moves the window over the same fixture.
func testBehaviourEffectsWindows(t *testing.T, db DB) {
	ctx := context.Background()
	from, to := effectsFixture(t, db)
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     []so.EffectCounts
	}{
		{"the hour after (uH at its start)", to, to.Add(time.Hour), []so.EffectCounts{
			{Kind: so.InterventionTip, Step: "s", Flow: "f", Sent: 1, SentStepCompleted: 1, Shown: 1}}},
		{"the minute before (uG)", from.Add(-time.Minute), from, []so.EffectCounts{
			{Kind: so.InterventionTip, Step: "s", Flow: "f", HeldOut: 1, HeldStepCompleted: 1, HeldJourneyCompleted: 1}}},
		{"uB's second only", from.Add(15 * time.Minute), from.Add(25 * time.Minute), []so.EffectCounts{
			{Kind: so.InterventionTip, Step: "s", Flow: "f", Sent: 1, SentStepCompleted: 1}}},
		{"uB's first only", from.Add(10 * time.Minute), from.Add(15 * time.Minute), []so.EffectCounts{
			{Kind: so.InterventionTip, Step: "s", Flow: "f", Sent: 1, Shown: 1, Helpful: 1}}},
		{"empty", to.Add(2 * time.Hour), to.Add(3 * time.Hour), nil},
	} {
		got, err := db.InterventionEffects(ctx, "p1", c.from, c.to)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		assertEqual(t, c.name, got, c.want)
	}
}
