package main

import (
	"context"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/webhook"
)

// writeCohorts stores journey rows of flow tour straight into the rollups: a
// four-week baseline where 120 of 200 journeys completed within a day, and
// the journeys of 24–48 hours ago, done of 40 of them completed.
func writeCohorts(t *testing.T, in *instance, now time.Time, done int64) {
	t.Helper()
	row := func(hour time.Time, started, completed int64) so.JourneyRollup {
		h := analytics.NewHistogram()
		h.Add(3600, completed)
		return so.JourneyRollup{ProjectID: so.DefaultProjectID, Hour: hour.UTC().Truncate(time.Hour), Flow: "tour", Version: 1,
			Started: started, Completed: completed, CompleteSeconds: h.Encode()}
	}
	rows := &so.Rollups{Journeys: []so.JourneyRollup{row(now.Add(-10*24*time.Hour), 200, 120), row(now.Add(-30*time.Hour), 40, done)}}
	err := in.m.db.RebuildAnalytics(context.Background(), func(ctx context.Context, tx so.RebuildTx) error {
		return tx.SaveRollups(ctx, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type alertView struct {
	ID, Key, Rule, Status, Severity string
	Message                         string
	ResolvedBy                      string             `json:"resolved_by"`
	Numbers                         map[string]float64 `json:"numbers"`
}

func listAlerts(t *testing.T, in *instance) []alertView {
	t.Helper()
	return decode[struct{ Alerts []alertView }](t, in.admin("GET", "/v1/alerts", ""), 200).Alerts
}

// TestAlertOpensOnceAndResolves drops completion below its baseline and
// follows the alert: it opens once however often the rules run, fires its
// webhook once, stays acknowledged when the condition clears, and after a
// user resolves it a new one opens only once the condition has cleared and
// returned.
func TestAlertOpensOnceAndResolves(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AlertInterval = 24 * time.Hour // the test runs the rules itself
		in := startFast(t, cfg)
		rc := newReceiver(t, 0)
		rc.subscribe(in, webhook.AlertOpened)
		ctx, now := context.Background(), time.Now()
		evaluate := func() {
			t.Helper()
			if err := in.m.evaluateAlerts(ctx); err != nil {
				t.Fatalf("evaluate: %v", err)
			}
		}
		writeCohorts(t, in, now, 12) // 30% against 60%
		evaluate()
		evaluate()
		as := listAlerts(t, in)
		if len(as) != 1 || as[0].Key != "completion_drop:tour" || as[0].Status != "open" || as[0].Severity != "critical" ||
			as[0].Numbers["recent_completion_rate"] != 0.3 || as[0].Numbers["baseline_completion_rate"] != 0.6 || as[0].Message == "" {
			t.Fatalf("alerts = %+v; want one open critical completion drop", as)
		}
		id := as[0].ID
		rc.waitTypes(webhook.AlertOpened)

		ack := decode[alertView](t, in.admin("POST", "/v1/alerts/"+id+"/acknowledge", ""), 200)
		if ack.Status != "acknowledged" {
			t.Fatalf("acknowledged = %+v", ack)
		}
		writeCohorts(t, in, now, 30) // 75%: the condition clears
		evaluate()
		if as := listAlerts(t, in); len(as) != 1 || as[0].Status != "acknowledged" {
			t.Fatalf("after clearing, an acknowledged alert = %+v; want it to stay acknowledged", as)
		}
		writeCohorts(t, in, now, 12)
		res := decode[alertView](t, in.admin("POST", "/v1/alerts/"+id+"/resolve", ""), 200)
		if res.Status != "resolved" || res.ResolvedBy != "user" {
			t.Fatalf("resolved = %+v", res)
		}
		evaluate()
		if as := listAlerts(t, in); len(as) != 1 {
			t.Fatalf("a condition still true after a user resolved it opened again: %+v", as)
		}
		writeCohorts(t, in, now, 30)
		evaluate()
		writeCohorts(t, in, now, 12)
		evaluate()
		if as := listAlerts(t, in); len(as) != 2 || as[0].Status != "open" || as[0].ID == id {
			t.Fatalf("after clearing and returning = %+v; want a second, open alert", as)
		}
		rc.waitTypes(webhook.AlertOpened, webhook.AlertOpened)
		time.Sleep(300 * time.Millisecond) // room for a duplicate delivery to show up
		if got := rc.types(); len(got) != 2 {
			t.Fatalf("alert.opened delivered %d times for 2 alerts: %v", len(got), got)
		}

		if r := in.admin("POST", "/v1/alerts/"+id+"/acknowledge", ""); r.status != 409 {
			t.Fatalf("acknowledging a resolved alert: %d %s", r.status, r.body)
		}
		if r := in.admin("POST", "/v1/alerts/nope/resolve", ""); r.status != 404 {
			t.Fatalf("resolving a missing alert: %d %s", r.status, r.body)
		}
		if r := in.admin("GET", "/v1/alerts?status=opened", ""); r.status != 400 || r.apiErr(t).Field != "status" {
			t.Fatalf("an unknown status filter: %d %s", r.status, r.body)
		}
		if open := decode[struct{ Alerts []alertView }](t, in.admin("GET", "/v1/alerts?status=open", ""), 200).Alerts; len(open) != 1 {
			t.Fatalf("open alerts = %+v", open)
		}
		if r := in.publicCall("GET", "/v1/alerts", ""); r.status != 403 {
			t.Fatalf("alerts with the public key: %d", r.status)
		}
	})
}
