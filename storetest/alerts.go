package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testAlerts(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Latest":   testAlertsLatest,
		"Update":   testAlertsUpdate,
		"List":     testAlertsList,
		"Projects": testAlertsProjects,
	})
}

func newAlert(projectID, key string, at time.Time) *so.Alert {
	return &so.Alert{ID: so.NewID(), ProjectID: projectID, Key: key, Rule: "completion_drop", Severity: "warning",
		Status: so.AlertOpen, Message: "Completion fell", Numbers: map[string]float64{"rate": 0.2}, Query: "/v1/analytics/funnel?flow=a",
		OpenedAt: at, UpdatedAt: at}
}

// saveAlerts stores alerts in one evaluation.
func saveAlerts(t *testing.T, db DB, projectID string, as ...*so.Alert) {
	t.Helper()
	err := db.EvaluateAlerts(context.Background(), projectID, func(ctx context.Context, tx so.AlertsTx) error {
		for _, a := range as {
			if err := tx.SaveAlert(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("save alerts: %v", err)
	}
}

// LatestAlerts returns the newest alert of each key, whole.
func testAlertsLatest(t *testing.T, db DB) {
	old := newAlert("p1", "completion_drop:a", hour0)
	old.Status, old.ResolvedAt, old.ResolvedBy, old.Cleared = so.AlertResolved, &hour0, "user", true
	newer := newAlert("p1", "completion_drop:a", hour0.Add(time.Hour))
	other := newAlert("p1", "abandonment_spike", hour0)
	saveAlerts(t, db, "p1", old, newer, other, newAlert("p2", "completion_drop:a", hour0.Add(2*time.Hour)))
	err := db.EvaluateAlerts(context.Background(), "p1", func(ctx context.Context, tx so.AlertsTx) error {
		got, err := tx.LatestAlerts(ctx, "p1")
		if err != nil {
			return err
		}
		if len(got) != 2 || !reflect.DeepEqual(got["completion_drop:a"], newer) || !reflect.DeepEqual(got["abandonment_spike"], other) {
			t.Errorf("latest = %+v; want the newer completion alert and the abandonment one", got)
		}
		newer.Numbers["rate"], newer.UpdatedAt = 0.1, hour0.Add(90*time.Minute)
		return tx.SaveAlert(ctx, newer)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.FindAlert(context.Background(), "p1", old.ID)
	if err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("resolved alert read back = %+v, %v; want %+v", got, err, old)
	}
	if got, err := db.FindAlert(context.Background(), "p1", newer.ID); err != nil || got.Numbers["rate"] != 0.1 || !got.UpdatedAt.Equal(newer.UpdatedAt) {
		t.Fatalf("updated alert = %+v, %v", got, err)
	}
}

// UpdateAlert moves an alert only from the status it was read in.
func testAlertsUpdate(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAlert("p1", "k", hour0)
	saveAlerts(t, db, "p1", a)
	acked := *a
	if _, err := acked.Acknowledge(hour0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateAlert(ctx, &acked, so.AlertOpen); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	again := *a
	again.Resolve(hour0.Add(2 * time.Minute))
	if err := db.UpdateAlert(ctx, &again, so.AlertOpen); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("an update from a stale status: %v, want a conflict", err)
	}
	missing := *a
	missing.ID = "nope"
	if err := db.UpdateAlert(ctx, &missing, so.AlertOpen); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("an update of a missing alert: %v, want not found", err)
	}
	elsewhere := acked
	elsewhere.ProjectID = "p2"
	if err := db.UpdateAlert(ctx, &elsewhere, so.AlertAcknowledged); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("another project's alert: %v, want not found", err)
	}
	got, err := db.FindAlert(ctx, "p1", a.ID)
	if err != nil || got.Status != so.AlertAcknowledged || got.AcknowledgedAt == nil || !got.AcknowledgedAt.Equal(hour0.Add(time.Minute)) {
		t.Fatalf("stored = %+v, %v", got, err)
	}
	if _, err := db.FindAlert(ctx, "p2", a.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("found from another project: %v", err)
	}
}

// ListAlerts lists newest first, by status.
func testAlertsList(t *testing.T, db DB) {
	a, b, c := newAlert("p1", "a", hour0), newAlert("p1", "b", hour0.Add(time.Hour)), newAlert("p1", "c", hour0.Add(2*time.Hour))
	b.Status = so.AlertAcknowledged
	saveAlerts(t, db, "p1", a, b, c)
	ctx := context.Background()
	all, err := db.ListAlerts(ctx, "p1", so.AlertFilter{Limit: 10})
	if err != nil || len(all) != 3 || all[0].ID != c.ID || all[2].ID != a.ID {
		t.Fatalf("all = %v, %v; want c, b, a", alertKeys(all), err)
	}
	open, err := db.ListAlerts(ctx, "p1", so.AlertFilter{Status: so.AlertOpen, Limit: 10})
	if err != nil || len(open) != 2 {
		t.Fatalf("open = %v, %v; want c, a", alertKeys(open), err)
	}
	if one, err := db.ListAlerts(ctx, "p1", so.AlertFilter{Limit: 1}); err != nil || len(one) != 1 || one[0].ID != c.ID {
		t.Fatalf("limit 1 = %v, %v", alertKeys(one), err)
	}
	if none, err := db.ListAlerts(ctx, "p2", so.AlertFilter{Limit: 10}); err != nil || len(none) != 0 {
		t.Fatalf("p2 = %v, %v", alertKeys(none), err)
	}
}

func alertKeys(as []*so.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Key)
	}
	return out
}

// ActiveProjects names the projects with journey rows since a time.
func testAlertsProjects(t *testing.T, db DB) {
	startConsumer(t, db, "x")
	rows := &so.Rollups{Journeys: []so.JourneyRollup{{ProjectID: "p2", Hour: hour0, Flow: "f", Version: 1, Started: 1},
		{ProjectID: "p1", Hour: hour0.Add(-48 * time.Hour), Flow: "f", Version: 1, Started: 1}}}
	inConsumer(t, db, func(ctx context.Context, tx so.ConsumerTx) error { return tx.SaveRollups(ctx, rows) })
	got, err := db.ActiveProjects(context.Background(), hour0.Add(-time.Hour))
	if err != nil || !reflect.DeepEqual(got, []string{"p2"}) {
		t.Fatalf("active = %v, %v; want [p2]", got, err)
	}
}
