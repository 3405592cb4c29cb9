package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testAnalytics(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Rollups":    testAnalyticsRollups,
		"Windows":    testAnalyticsWindows,
		"Days":       testAnalyticsDays,
		"Facts":      testAnalyticsFacts,
		"Struggles":  testAnalyticsStruggles,
		"Engagement": testAnalyticsEngagement,
		"FirstSeen":  testAnalyticsFirstSeen,
		"Prune":      testAnalyticsPrune,
		"Segments":   testAnalyticsSegments,
		"Insights":   testAnalyticsInsights,
		"NotInTheTx": testAnalyticsRolledBack,
	})
}

var hour0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// sampleRollups is one row of each kind, with sketches as opaque bytes.
func sampleRollups(projectID string, at time.Time) *so.Rollups {
	return &so.Rollups{
		Activity: []so.ActivityRollup{
			{ProjectID: projectID, Unit: so.UnitMinute, Start: at.Add(5 * time.Minute), Events: 7, Users: []byte{1, 2, 3}},
			{ProjectID: projectID, Unit: so.UnitHour, Start: at, Events: 70, Users: []byte{4, 5}, Abandoned: 3},
		},
		Journeys: []so.JourneyRollup{{ProjectID: projectID, Hour: at, Flow: "onboard", Version: 2, Started: 5, Completed: 3,
			Abandoned: 1, CompleteSeconds: []byte{9, 9}, ValueSeconds: nil}},
		Steps: []so.StepRollup{{ProjectID: projectID, Hour: at, Flow: "onboard", Version: 2, Step: "connect", Reached: 5,
			Started: 4, Completed: 3, Skipped: 1, Dropped: 1, Struggled: 2, Seconds: []byte{7}, Engagement: []byte{1, 1},
			Rules: []byte{2, 2, 2}}},
	}
}

// Rows written in a consumer transaction read back the same, by key, and a
// second write replaces them.
func testAnalyticsRollups(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	rows := sampleRollups("p1", hour0)
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		if got, err := tx.LoadRollups(ctx, rows); err != nil || len(got.Activity)+len(got.Journeys)+len(got.Steps) != 0 {
			t.Errorf("before any write: %+v, %v", got, err)
			return err
		}
		return tx.SaveRollups(ctx, rows)
	})
	changed := sampleRollups("p1", hour0)
	changed.Journeys[0].Completed, changed.Steps[0].Seconds, changed.Activity[0].Users = 4, nil, []byte{8}
	changed.Steps[0].Rules = nil
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		got, err := tx.LoadRollups(ctx, rows)
		if err != nil {
			t.Error(err)
			return err
		}
		if !reflect.DeepEqual(got, rows) {
			t.Errorf("loaded %+v\nwant %+v", got, rows)
		}
		return tx.SaveRollups(ctx, changed)
	})
	ctx := context.Background()
	js, err := db.JourneyRollups(ctx, so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(time.Hour)})
	if err != nil || !reflect.DeepEqual(js, changed.Journeys) {
		t.Fatalf("journey rows = %+v, %v; want %+v", js, err, changed.Journeys)
	}
	steps, err := db.StepRollups(ctx, so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(time.Hour)})
	if err != nil || !reflect.DeepEqual(steps, changed.Steps) {
		t.Fatalf("step rows = %+v, %v; want %+v", steps, err, changed.Steps)
	}
	minutes, err := db.ActivityRollups(ctx, so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(time.Hour)}, so.UnitMinute)
	if err != nil || !reflect.DeepEqual(minutes, changed.Activity[:1]) {
		t.Fatalf("minute rows = %+v, %v; want %+v", minutes, err, changed.Activity[:1])
	}
}

// Windows are [from, to) on the row's start, and flow and version narrow them.
func testAnalyticsWindows(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	all := &so.Rollups{}
	for h := range 3 {
		r := sampleRollups("p1", hour0.Add(time.Duration(h)*time.Hour))
		other := sampleRollups("p1", hour0.Add(time.Duration(h)*time.Hour))
		other.Journeys[0].Version, other.Steps[0].Flow = 3, "other"
		all.Activity = append(all.Activity, r.Activity...)
		all.Journeys = append(all.Journeys, r.Journeys[0], other.Journeys[0])
		all.Steps = append(all.Steps, r.Steps[0], other.Steps[0])
	}
	all.Activity = append(all.Activity, sampleRollups("p2", hour0).Activity...)
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return tx.SaveRollups(ctx, all) })
	ctx := context.Background()
	window := so.RollupQuery{ProjectID: "p1", From: hour0.Add(time.Hour), To: hour0.Add(2 * time.Hour)}
	hours, err := db.ActivityRollups(ctx, window, so.UnitHour)
	if err != nil || len(hours) != 1 || !hours[0].Start.Equal(window.From) {
		t.Fatalf("hours in [from, to) = %+v, %v; want the one starting at from", hours, err)
	}
	js, err := db.JourneyRollups(ctx, window)
	if err != nil || len(js) != 2 {
		t.Fatalf("journey rows of every version = %+v, %v; want 2", js, err)
	}
	window.Version = 3
	if js, err = db.JourneyRollups(ctx, window); err != nil || len(js) != 1 || js[0].Version != 3 {
		t.Fatalf("journey rows of version 3 = %+v, %v", js, err)
	}
	window.Version, window.Flow = 0, "other"
	steps, err := db.StepRollups(ctx, window)
	if err != nil || len(steps) != 1 || steps[0].Flow != "other" {
		t.Fatalf("step rows of flow other = %+v, %v", steps, err)
	}
	window.Flow, window.From, window.To = "", hour0, hour0.Add(3*time.Hour)
	if steps, err = db.StepRollups(ctx, window); err != nil || len(steps) != 6 {
		t.Fatalf("all step rows = %d, %v; want 6", len(steps), err)
	}
	if hours, err = db.ActivityRollups(ctx, so.RollupQuery{ProjectID: "p2", From: hour0, To: hour0.Add(time.Hour)}, so.UnitHour); err != nil || len(hours) != 1 || hours[0].ProjectID != "p2" {
		t.Fatalf("p2's hours = %+v, %v", hours, err)
	}
}

// Day rows are kept apart from hour rows of the same start, and counts come
// back without the users sketches.
func testAnalyticsDays(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	day0 := hour0.Truncate(24 * time.Hour)
	rows := &so.Rollups{Activity: []so.ActivityRollup{
		{ProjectID: "p1", Unit: so.UnitHour, Start: day0, Events: 4, Users: []byte{1}, Abandoned: 1},
		{ProjectID: "p1", Unit: so.UnitDay, Start: day0, Events: 9, Users: []byte{2, 2}, Abandoned: 2},
		{ProjectID: "p1", Unit: so.UnitDay, Start: day0.Add(24 * time.Hour), Events: 5, Users: []byte{3}},
	}}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return tx.SaveRollups(ctx, rows) })
	ctx := context.Background()
	window := so.RollupQuery{ProjectID: "p1", From: day0, To: day0.Add(24 * time.Hour)}
	days, err := db.ActivityRollups(ctx, window, so.UnitDay)
	if err != nil || !reflect.DeepEqual(days, rows.Activity[1:2]) {
		t.Fatalf("day rows of the first day = %+v, %v; want %+v", days, err, rows.Activity[1:2])
	}
	window.To = day0.Add(48 * time.Hour)
	counts, err := db.ActivityCounts(ctx, window, so.UnitDay)
	want := []so.ActivityRollup{rows.Activity[1], rows.Activity[2]}
	want[0].Users, want[1].Users = nil, nil
	if err != nil || !reflect.DeepEqual(counts, want) {
		t.Fatalf("day counts = %+v, %v; want %+v (no users)", counts, err, want)
	}
	hours, err := db.ActivityCounts(ctx, window, so.UnitHour)
	if err != nil || len(hours) != 1 || hours[0].Events != 4 || hours[0].Users != nil || hours[0].Abandoned != 1 {
		t.Fatalf("hour counts = %+v, %v; want the one hour, 4 events, 1 abandoned, no users", hours, err)
	}

	// Journey day rows live beside the hour rows of the same start.
	hourRow := so.JourneyRollup{ProjectID: "p1", Hour: day0, Flow: "onboard", Version: 1, Started: 2, Completed: 1,
		CompleteSeconds: []byte{5}, ValueSeconds: []byte{6}}
	dayRow := hourRow
	dayRow.Started, dayRow.CompleteSeconds = 7, []byte{8, 8}
	js := &so.Rollups{Journeys: []so.JourneyRollup{hourRow}, JourneyDays: []so.JourneyRollup{dayRow}}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		if err := tx.SaveRollups(ctx, js); err != nil {
			return err
		}
		got, err := tx.LoadRollups(ctx, js)
		if err == nil && (!reflect.DeepEqual(got.Journeys, js.Journeys) || !reflect.DeepEqual(got.JourneyDays, js.JourneyDays)) {
			t.Errorf("loaded back %+v / %+v, want %+v / %+v", got.Journeys, got.JourneyDays, js.Journeys, js.JourneyDays)
		}
		return err
	})
	if got, err := db.JourneyDays(ctx, window); err != nil || !reflect.DeepEqual(got, js.JourneyDays) {
		t.Fatalf("journey day rows = %+v, %v; want %+v", got, err, js.JourneyDays)
	}
	noHistograms := hourRow
	noHistograms.CompleteSeconds, noHistograms.ValueSeconds = nil, nil
	if got, err := db.JourneyCounts(ctx, window); err != nil || !reflect.DeepEqual(got, []so.JourneyRollup{noHistograms}) {
		t.Fatalf("journey counts = %+v, %v; want %+v", got, err, noHistograms)
	}
}

// Facts round-trip whole, are replaced by journey id, and go with their journey.
func testAnalyticsFacts(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "onboard")
	j, _, err := db.StartJourney(ctx, so.NewJourney("p1", "u1", v, hour0))
	if err != nil {
		t.Fatal(err)
	}
	secs := 42.5
	fact := &so.JourneyFact{ProjectID: "p1", JourneyID: j.ID, UserID: "u1", Flow: "onboard", Version: v.Version, Revision: 1,
		StartHour: hour0, Status: so.JourneyActive, Steps: []so.StepFact{{Key: "a", Reached: true, Started: true}}}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return tx.SaveFacts(ctx, []*so.JourneyFact{fact}) })
	done := *fact
	done.Revision, done.Status, done.CompleteSeconds = 2, so.JourneyCompleted, &secs
	done.Steps = []so.StepFact{{Key: "a", Reached: true, Started: true, Completed: true, Seconds: &secs}}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		got, err := tx.LoadFacts(ctx, "p1", []string{j.ID, "missing"})
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[j.ID], fact) {
			t.Errorf("facts = %+v, %v; want %+v", got, err, fact)
			return err
		}
		if other, err := tx.LoadFacts(ctx, "p2", []string{j.ID}); err != nil || len(other) != 0 {
			t.Errorf("p2 sees p1's fact: %+v, %v", other, err)
		}
		return tx.SaveFacts(ctx, []*so.JourneyFact{&done})
	})
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		got, err := tx.LoadFacts(ctx, "p1", []string{j.ID})
		if err != nil || !reflect.DeepEqual(got[j.ID], &done) {
			t.Errorf("replaced fact = %+v, %v; want %+v", got[j.ID], err, &done)
		}
		return err
	})
}

// Struggles names each journey's rules per step, once each, sorted.
func testAnalyticsStruggles(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	det := func(id, journey, step string, rule so.StruggleRule) *so.Detection {
		return &so.Detection{ID: id, ProjectID: "p1", UserID: "u1", JourneyID: journey, Flow: "onboard", Step: step,
			SessionID: "s", Rule: rule, Evidence: []string{"e"}, DetectedAt: hour0}
	}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		_, err := tx.InsertDetections(ctx, []*so.Detection{det("d1", "j1", "b", "rage_click"), det("d2", "j1", "a", "hesitation"),
			det("d3", "j1", "b", "hesitation"), det("d5", "j1", "b", "hesitation"), det("d4", "j2", "c", "hesitation")})
		return err
	})
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		got, err := tx.Struggles(ctx, "p1", []string{"j1", "j3"})
		want := map[string]map[string][]string{"j1": {"a": {"hesitation"}, "b": {"hesitation", "rage_click"}}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("struggled steps = %v, %v; want %v", got, err, want)
		}
		return err
	})
}

// Engagement returns the behaviour engine's latest score per journey.
func testAnalyticsEngagement(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "onboard")
	j, _, err := db.StartJourney(ctx, so.NewJourney("p1", "u1", v, hour0))
	if err != nil {
		t.Fatal(err)
	}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		return tx.SaveEngagement(ctx, []so.EngagementPoint{
			{ProjectID: "p1", JourneyID: j.ID, Minute: hour0, Score: 40, Level: "medium", SessionID: "s", SessionScore: 40},
			{ProjectID: "p1", JourneyID: j.ID, Minute: hour0.Add(time.Minute), Score: 81.5, Level: "high", SessionID: "s", SessionScore: 81.5}})
	})
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		got, err := tx.Engagement(ctx, "p1", []string{j.ID, "other"})
		if err != nil || len(got) != 1 || got[j.ID] != 81.5 {
			t.Errorf("engagement = %v, %v; want the latest score, 81.5, of %s only", got, err, j.ID)
		}
		return err
	})
}

// FirstSeen is the earliest event time ingestion recorded for each user.
func testAnalyticsFirstSeen(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	ctx := context.Background()
	seen := map[string]so.Sighting{"u1": {First: hour0, Last: hour0.Add(time.Hour)}}
	_, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e1", "u1")}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
		return tx.TouchUsers(ctx, "p1", seen)
	})
	if err != nil {
		t.Fatal(err)
	}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		got, err := tx.FirstSeen(ctx, "p1", []string{"u1", "nobody"})
		if err != nil || len(got) != 1 || !got["u1"].Equal(hour0) {
			t.Errorf("first seen = %v, %v; want u1 at %v only", got, err, hour0)
		}
		return err
	})
}

// PruneMinutes drops old minute rows and keeps hours.
func testAnalyticsPrune(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error {
		if err := tx.SaveRollups(ctx, sampleRollups("p1", hour0)); err != nil {
			return err
		}
		return tx.PruneMinutes(ctx, hour0.Add(6*time.Minute))
	})
	ctx := context.Background()
	day := so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(24 * time.Hour)}
	if minutes, err := db.ActivityRollups(ctx, day, so.UnitMinute); err != nil || len(minutes) != 0 {
		t.Fatalf("minutes after pruning = %+v, %v", minutes, err)
	}
	if hours, err := db.ActivityRollups(ctx, day, so.UnitHour); err != nil || len(hours) != 1 {
		t.Fatalf("hours after pruning minutes = %+v, %v", hours, err)
	}
}

// Rows written by a consumer transaction that fails are not kept.
func testAnalyticsRolledBack(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	ingestIDs(t, db, so.NewID())
	calls := 0
	for deadline := time.Now().Add(15 * time.Second); calls == 0; time.Sleep(20 * time.Millisecond) {
		_, err := db.Consume(context.Background(), "x", 100, func(ctx context.Context, tx so.ConsumerTx, _ []*so.Event) error {
			calls++
			if err := tx.SaveRollups(ctx, sampleRollups("p1", hour0)); err != nil {
				return err
			}
			return so.Errorf(so.EINVALID, "the consumer gives up")
		})
		if calls > 0 && so.ErrorCode(err) != so.EINVALID {
			t.Fatalf("consume = %v, want the consumer's own error", err)
		}
		if calls == 0 && (err != nil || time.Now().After(deadline)) {
			t.Fatalf("the event never reached the consumer: %v", err)
		}
	}
	js, err := db.JourneyRollups(context.Background(), so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(time.Hour)})
	if err != nil || len(js) != 0 {
		t.Fatalf("rows of a rolled-back transaction: %+v, %v", js, err)
	}
}

// SegmentCounts counts journeys by flow and string trait value, in the window.
func testAnalyticsSegments(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "onboard")
	users := map[string]string{"u1": `{"plan":"pro"}`, "u2": `{"plan":"pro"}`, "u3": `{"plan":"free"}`, "u4": `{"plan":3}`, "u5": `{}`}
	var facts []*so.JourneyFact
	for u, traits := range users {
		if _, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: u, Traits: json.RawMessage(traits),
			FirstSeenAt: hour0, LastSeenAt: hour0}, func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(traits), nil }); err != nil {
			t.Fatal(err)
		}
		j, _, err := db.StartJourney(ctx, so.NewJourney("p1", u, v, hour0))
		if err != nil {
			t.Fatal(err)
		}
		f := &so.JourneyFact{ProjectID: "p1", JourneyID: j.ID, UserID: u, Flow: "onboard", Version: v.Version, Revision: 1,
			StartHour: hour0, Status: so.JourneyActive, Steps: []so.StepFact{}}
		if u == "u1" || u == "u3" {
			f.Status = so.JourneyCompleted
		}
		facts = append(facts, f)
	}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return tx.SaveFacts(ctx, facts) })
	got, err := db.SegmentCounts(ctx, "p1", hour0, hour0.Add(time.Hour), []string{"plan", "role"})
	// u4's plan is a number and u5 has none: neither is a segment.
	want := []so.SegmentCount{{Flow: "onboard", Trait: "plan", Value: "free", Started: 1, Completed: 1},
		{Flow: "onboard", Trait: "plan", Value: "pro", Started: 2, Completed: 1}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("segments = %+v, %v; want %+v", got, err, want)
	}
	if got, err := db.SegmentCounts(ctx, "p1", hour0.Add(time.Hour), hour0.Add(2*time.Hour), []string{"plan"}); err != nil || len(got) != 0 {
		t.Fatalf("segments of an empty window = %+v, %v", got, err)
	}
	each := func(traits map[string]string, q so.RollupQuery) []string {
		t.Helper()
		var users []string
		if err := db.EachFact(ctx, q, traits, func(fs []*so.JourneyFact) error {
			for _, f := range fs {
				users = append(users, f.UserID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(users)
		return users
	}
	window := so.RollupQuery{ProjectID: "p1", From: hour0, To: hour0.Add(time.Hour), Flow: "onboard"}
	if got := each(map[string]string{"plan": "pro"}, window); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("facts of plan=pro = %v", got)
	}
	if got := each(map[string]string{}, window); len(got) != 5 {
		t.Fatalf("facts of everyone = %v", got)
	}
	if got := each(map[string]string{"plan": "pro", "role": "admin"}, window); len(got) != 0 {
		t.Fatalf("facts of plan=pro and role=admin = %v", got)
	}
	window.Flow = "other"
	if got := each(nil, window); len(got) != 0 {
		t.Fatalf("facts of another flow = %v", got)
	}
}

// Insights are kept per project and replaced whole.
func testAnalyticsInsights(t *testing.T, db DB) {
	ctx := context.Background()
	if _, _, err := db.LatestInsights(ctx, "p1"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("before any: %v, want not found", err)
	}
	for i, doc := range []string{`{"insights":[1]}`, `{"insights":[2]}`} {
		if err := db.SaveInsights(ctx, "p1", hour0.Add(time.Duration(i)*time.Minute), []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	doc, at, err := db.LatestInsights(ctx, "p1")
	if err != nil || string(doc) != `{"insights":[2]}` || !at.Equal(hour0.Add(time.Minute)) {
		t.Fatalf("latest = %s at %v, %v", doc, at, err)
	}
	if _, _, err := db.LatestInsights(ctx, "p2"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("p2 sees p1's insights: %v", err)
	}
}
