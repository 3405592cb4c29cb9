package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testModels(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Registry":  testModelRegistry,
		"Histories": testHistories,
	})
}

func newModel(projectID string, at time.Time) *so.Model {
	return &so.Model{ID: so.NewID(), ProjectID: projectID, Kind: "logistic", Status: so.ModelCandidate,
		Features: []string{"progress", "errors"}, Params: json.RawMessage(`{"w":[1,2]}`),
		TrainedFrom: at.Add(-time.Hour), TrainedTo: at, Journeys: so.ModelSplit{Train: 6, Calibrate: 2, Holdout: 2},
		Metrics:     so.ModelMetrics{N: 10, AUC: 0.8, LogLoss: 0.5, Brier: 0.2, ECE: 0.02, BaseRate: 0.5},
		Calibration: json.RawMessage(`[{"predicted":0.5,"observed":0.5,"n":10}]`), Note: "trained", CreatedAt: at}
}

// Models get versions in order per project; activating one retires the
// active one, and the registry keeps each project's models apart.
func testModelRegistry(t *testing.T, db DB) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := db.ActiveModel(ctx, "p1"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("active model of a new project: %v; want not_found", err)
	}
	m1, m2, other := newModel("p1", at), newModel("p1", at.Add(time.Hour)), newModel("p2", at)
	for _, m := range []*so.Model{m1, m2, other} {
		if err := db.SaveModel(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if m1.Version != 1 || m2.Version != 2 || other.Version != 1 {
		t.Fatalf("versions = %d, %d, %d; want 1, 2 and p2's 1", m1.Version, m2.Version, other.Version)
	}
	list, err := db.ListModels(ctx, "p1")
	if err != nil || len(list) != 2 || list[0].ID != m2.ID || list[1].ID != m1.ID {
		t.Fatalf("list = %v, %v; want m2, m1", modelIDs(list), err)
	}
	got := list[1]
	if got.ProjectID != "p1" || got.Status != so.ModelCandidate || got.Metrics != m1.Metrics || got.Journeys != m1.Journeys ||
		!got.TrainedTo.Equal(at) || !slices.Equal(got.Features, m1.Features) || string(got.Params) != string(m1.Params) || got.ActivatedAt != nil {
		t.Errorf("stored model = %+v; want what was saved", got)
	}
	if _, err := db.ActivateModel(ctx, "p1", other.ID, "x", at); so.ErrorCode(err) != so.ENOTFOUND {
		t.Errorf("activating another project's model: %v; want not_found", err)
	}
	a1, err := db.ActivateModel(ctx, "p1", m1.ID, "first", at)
	if err != nil || a1.Status != so.ModelActive || a1.Note != "first" || a1.ActivatedAt == nil || !a1.ActivatedAt.Equal(at) {
		t.Fatalf("activate m1 = %+v, %v", a1, err)
	}
	if _, err := db.ActivateModel(ctx, "p1", m2.ID, "second", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	active, err := db.ActiveModel(ctx, "p1")
	if err != nil || active.ID != m2.ID {
		t.Fatalf("active = %+v, %v; want m2", active, err)
	}
	if old, err := db.FindModel(ctx, "p1", m1.ID); err != nil || old.Status != so.ModelRetired {
		t.Errorf("m1 after m2's activation = %+v, %v; want retired", old, err)
	}
	if _, err := db.ActivateModel(ctx, "p1", m1.ID, "rollback", at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if active, err := db.ActiveModel(ctx, "p1"); err != nil || active.ID != m1.ID || active.Note != "rollback" {
		t.Errorf("active after the rollback = %+v, %v; want m1", active, err)
	}
	if all, err := db.ActiveModels(ctx); err != nil || len(all) != 1 || all[0].ID != m1.ID {
		t.Errorf("active models = %v, %v; want p1's m1 only", modelIDs(all), err)
	}
	if _, err := db.ActiveModel(ctx, "p2"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Errorf("p2's active model: %v; want none", err)
	}
	if err := db.SaveModelHealth(ctx, "p1", m1.ID, json.RawMessage(`{"max_psi":0.3}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindModel(ctx, "p1", m1.ID); err != nil || string(got.Health) != `{"max_psi":0.3}` {
		t.Errorf("health = %s, %v", got.Health, err)
	}
	if m2, err := db.FindModel(ctx, "p1", m2.ID); err != nil || m2.Health != nil {
		t.Errorf("an unmonitored model's health = %s, %v; want null", m2.Health, err)
	}
	if err := db.SaveModelHealth(ctx, "p2", m1.ID, json.RawMessage(`{}`)); so.ErrorCode(err) != so.ENOTFOUND {
		t.Errorf("saving health across projects: %v; want not_found", err)
	}
	if _, err := db.FindModel(ctx, "p1", "nope"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Errorf("unknown model: %v; want not_found", err)
	}
}

func modelIDs(ms []*so.Model) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("v%d:%s", m.Version, m.ID))
	}
	return out
}

// Histories come per user with journeys, in pages, with the user's traits
// and events in time order; users without a journey and other projects'
// rows stay out.
func testHistories(t *testing.T, db DB) {
	ctx := context.Background()
	v := publishedFlow(t, db, "p1", "onboard")
	n := so.HistoryBatch + 3
	var events []*so.Event
	for i := range n {
		u := fmt.Sprintf("u%04d", i)
		if _, _, err := db.StartJourney(ctx, so.NewJourney("p1", u, v, hour0)); err != nil {
			t.Fatal(err)
		}
		for k := range 2 {
			e := newEvent(t, "p1", fmt.Sprintf("%s-%d", u, k), u)
			e.Timestamp = hour0.Add(time.Duration(2-k) * time.Minute) // stored out of time order
			events = append(events, e)
		}
	}
	ingestEvents(t, db, events...)
	ingestEvents(t, db, newEvent(t, "p1", "lone", "nojourney"), newEvent(t, "p2", "other", "u0000"))
	if _, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: "u0001", Traits: json.RawMessage(`{"plan":"team"}`),
		FirstSeenAt: hour0, LastSeenAt: hour0}, func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{"plan":"team"}`), nil }); err != nil {
		t.Fatal(err)
	}
	var users []string
	err := db.VisitHistories(ctx, "p1", "", func(h *so.UserHistory) error {
		users = append(users, h.UserID)
		if len(h.Journeys) != 1 || h.Journeys[0].UserID != h.UserID {
			t.Errorf("%s: journeys = %d; want its one", h.UserID, len(h.Journeys))
		}
		// two clicks and the journey_started the start logged
		if len(h.Events) != 3 || !slices.IsSortedFunc(h.Events, func(a, b so.Event) int { return a.Timestamp.Compare(b.Timestamp) }) {
			t.Errorf("%s: %d events in order %v; want 3, in time order", h.UserID, len(h.Events), eventIDs(h.Events))
		}
		if h.UserID == "u0001" && string(h.Traits) != `{"plan":"team"}` {
			t.Errorf("u0001 traits = %s", h.Traits)
		}
		return nil
	})
	if err != nil || len(users) != n || !slices.IsSorted(users) || slices.Contains(users, "nojourney") {
		t.Fatalf("visited %d users (%v), sorted %v; want the %d with journeys", len(users), err, slices.IsSorted(users), n)
	}
	var one []string
	err = db.VisitHistories(ctx, "p1", "u0002", func(h *so.UserHistory) error { one = append(one, h.UserID); return nil })
	if err != nil || !slices.Equal(one, []string{"u0002"}) {
		t.Errorf("one user's history = %v, %v", one, err)
	}
	if err := db.VisitHistories(ctx, "p1", "nobody", func(*so.UserHistory) error { t.Error("called for nobody"); return nil }); err != nil {
		t.Error(err)
	}
}

func eventIDs(es []so.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
