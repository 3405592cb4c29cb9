package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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

// TestInsightNamesTheWorstStep sends 25 users into flow tour; 10 finish it
// and 15 stop on step b and are abandoned: the top drop-off insight names b,
// with 60% (15 of 25), and points at the funnel.
func TestInsightNamesTheWorstStep(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AbandonAfter = 2 * time.Second
		in := startFast(t, cfg)
		setupTourFlow(t, in)
		at := time.Now().Add(-time.Minute)
		var events []string
		for u := range 25 {
			user := fmt.Sprintf("i%d", u)
			events = append(events, tourEvent(user, 1, "step_started", "a", at), tourEvent(user, 2, "step_completed", "a", at.Add(time.Second)),
				tourEvent(user, 3, "step_started", "b", at.Add(2*time.Second)))
			if u < 10 {
				events = append(events, tourEvent(user, 4, "step_completed", "b", at.Add(3*time.Second)),
					tourEvent(user, 5, "step_started", "c", at.Add(4*time.Second)), tourEvent(user, 6, "step_completed", "c", at.Add(5*time.Second)))
			}
		}
		postTour(t, in, events...)
		waitDropOffs(t, in, 15)
		type insights struct {
			ComputedAt string `json:"computed_at"`
			Insights   []struct {
				Kind, Title, Detail, Query string
				Numbers                    map[string]float64 `json:"numbers"`
			} `json:"insights"`
		}
		check := func(r insights) {
			t.Helper()
			for _, in := range r.Insights {
				if in.Kind == "drop_off" {
					if !strings.Contains(in.Title, `"b"`) || !strings.Contains(in.Title, "60%") || !strings.Contains(in.Query, "flow=tour") {
						t.Fatalf("drop-off insight = %+v; want step b, 60%%, the tour funnel", in)
					}
					return
				}
			}
			t.Fatalf("no drop-off insight in %+v", r)
		}
		// The insight job ran when the instance started, before these journeys:
		// its report is stale until the next run, which the test starts itself.
		before := time.Now()
		if err := in.m.refreshInsights(context.Background()); err != nil {
			t.Fatal(err)
		}
		stored := decode[insights](t, in.admin("GET", "/v1/analytics/insights", ""), 200)
		check(stored)
		if at, err := time.Parse(time.RFC3339Nano, stored.ComputedAt); err != nil || at.Before(before.Truncate(time.Millisecond)) {
			t.Fatalf("insights computed at %q, before the refresh at %v (%v)", stored.ComputedAt, before, err)
		}
		csvBody := in.request("GET", "/v1/analytics/insights", in.secret, "", nil, "Accept", "text/csv")
		if csvBody.status != 200 || !strings.HasPrefix(string(csvBody.body), "rank,kind,impact,title") {
			t.Fatalf("insights as CSV: %d %s", csvBody.status, csvBody.body)
		}
	})
}

// TestInsightsBeforeTheJobsFirstRun: a project the insight job has not seen
// yet gets its insights computed on the spot, not a 404 or a stale report.
func TestInsightsBeforeTheJobsFirstRun(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := startFast(t, testConfig(t, engine))
		// The job refreshes projects with activity only, so it never stores
		// this one's insights behind the test's back.
		secondProject(t, in, "insights-new")
		secret := so.GenerateKey(so.KeySecret)
		if err := in.m.db.CreateAPIKey(context.Background(), so.NewAPIKey("insights-new", so.KeySecret, "admin", secret)); err != nil {
			t.Fatalf("create key: %v", err)
		}
		before := time.Now().Truncate(time.Millisecond)
		r := in.request("GET", "/v1/analytics/insights", secret, "", nil)
		got := decode[struct {
			ComputedAt string            `json:"computed_at"`
			Insights   []json.RawMessage `json:"insights"`
		}](t, r, 200)
		if at, err := time.Parse(time.RFC3339Nano, got.ComputedAt); err != nil || at.Before(before) {
			t.Fatalf("insights computed at %q, want at or after the request at %v (%v)", got.ComputedAt, before, err)
		}
		if got.Insights == nil || len(got.Insights) != 0 {
			t.Fatalf("a project without events: insights %s, want []", r.body)
		}
		if _, _, err := in.m.db.LatestInsights(context.Background(), "insights-new"); so.ErrorCode(err) != so.ENOTFOUND {
			t.Fatalf("after a read, stored insights: %v; the read must not store them (the job does)", err)
		}
	})
}
