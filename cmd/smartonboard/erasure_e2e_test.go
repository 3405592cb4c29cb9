package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/webhook"
)

// TestEraseUser erases a user who shares every activity row with others:
// their events, journey, traits and webhook deliveries go, the reports count
// the others exactly as before (another user's abandonment included), a
// rebuild from the events left changes no report, and the user is then
// unknown.
func TestEraseUser(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AbandonAfter = 2 * time.Second
		in := startFast(t, cfg)
		setupTourFlow(t, in)
		rc := newReceiver(t, 0)
		hook := rc.subscribe(in, webhook.JourneyCompleted)
		at := time.Now().Add(-time.Minute).Truncate(time.Second)
		// u4 stops on b and is abandoned after 2 s.
		postTour(t, in, tourEvent("u4", 1, "step_started", "a", at), tourEvent("u4", 2, "step_completed", "a", at.Add(time.Second)),
			tourEvent("u4", 3, "step_started", "b", at.Add(2*time.Second)))
		waitDropOffs(t, in, 1)
		if r := in.admin("POST", "/v1/identify", `{"user_id":"u1","traits":{"plan":"pro"}}`); r.status != 200 {
			t.Fatalf("identify: %d %s", r.status, r.body)
		}
		// u1 completes the tour in the minutes u4 and u5 were active in.
		postTour(t, in,
			tourEvent("u1", 1, "step_started", "a", at), tourEvent("u1", 2, "step_completed", "a", at.Add(time.Second)),
			tourEvent("u1", 3, "step_started", "b", at.Add(2*time.Second)), tourEvent("u1", 4, "step_completed", "b", at.Add(3*time.Second)),
			tourEvent("u1", 5, "step_started", "c", at.Add(4*time.Second)), tourEvent("u1", 6, "step_completed", "c", at.Add(5*time.Second)),
			tourEvent("u5", 1, "click", "", at), tourEvent("u5", 2, "click", "", at.Add(2*time.Second)))
		waitRolledUp(t, in)
		rc.waitTypes(webhook.JourneyCompleted)

		before := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
		if before.ActiveUsersNow != 3 || before.ActiveUsers != 3 || before.Events != 11 || before.JourneysCompleted != 1 || before.JourneysAbandoned != 1 {
			t.Fatalf("overview before = %+v; want 3 users, 11 events, 1 completed, 1 abandoned", before)
		}

		r := in.admin("DELETE", "/v1/users/u1", "")
		erased := decode[struct {
			UserID       string `json:"user_id"`
			Events       int64  `json:"events"`
			Journeys     int64  `json:"journeys"`
			ActivityRows int    `json:"activity_rows"`
		}](t, r, 200)
		if erased.UserID != "u1" || erased.Events != 6 || erased.Journeys != 1 || erased.ActivityRows < 3 {
			t.Fatalf("erasure = %+v; want u1's 6 events and 1 journey, and their minute, hour and day rows", erased)
		}

		after := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
		if after.ActiveUsersNow != 2 || after.ActiveUsers != 2 || after.Events != 5 || after.JourneysStarted != 1 ||
			after.JourneysCompleted != 0 || after.JourneysAbandoned != 1 {
			t.Errorf("overview after = %+v; want u4 and u5 only: 2 users, 5 events, 1 journey started and abandoned", after)
		}
		fn := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=tour", ""), 200)
		if fn.JourneysStarted != 1 || len(fn.Steps) != 3 || fn.Steps[0].Completed != 1 || fn.Steps[1].DropOff != 1 || fn.Steps[2].Reached != 0 {
			t.Errorf("funnel after = %+v; want u4's journey only", fn)
		}
		if pro := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview?trait.plan=pro", ""), 200); pro.JourneysStarted != 0 {
			t.Errorf("plan=pro overview after = %+v; want no journeys", pro)
		}

		fixed := "from=" + url.QueryEscape(at.Add(-24*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(at.Add(2*time.Hour).Format(time.RFC3339))
		incremental, rows := reportBodies(t, in, fixed), activityRows(t, in, at)
		if _, err := rebuildAnalytics(context.Background(), in.m.db, time.Time{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if rebuilt := reportBodies(t, in, fixed); rebuilt != incremental {
			t.Errorf("after the erasure, rebuilt reports differ:\nerased  %s\nrebuilt %s", incremental, rebuilt)
		}
		if rebuilt := activityRows(t, in, at); rebuilt != rows || !strings.Contains(rows, "abandoned 1") {
			t.Errorf("after the erasure, activity rows (with u4's abandonment) differ from rebuilt ones:\nerased  %s\nrebuilt %s", rows, rebuilt)
		}

		if r := in.admin("GET", "/v1/users/u1", ""); r.status != 404 {
			t.Errorf("erased user: %d %s; want 404", r.status, r.body)
		}
		if r := in.publicCall("GET", "/v1/users/u1/journeys/tour", ""); r.status != 404 {
			t.Errorf("erased user's journey: %d %s; want 404", r.status, r.body)
		}
		deliveries := in.admin("GET", "/v1/webhooks/"+hook+"/deliveries", "")
		if deliveries.status != 200 || strings.Contains(string(deliveries.body), "u1") || !strings.Contains(string(deliveries.body), `"items":[]`) {
			t.Errorf("deliveries after the erasure: %d %s; want none about u1", deliveries.status, deliveries.body)
		}
		if r := in.admin("DELETE", "/v1/users/u1", ""); r.status != 404 {
			t.Errorf("erasing again: %d %s; want 404", r.status, r.body)
		}
		if r := in.admin("DELETE", "/v1/users/"+strings.Repeat("x", 300), ""); r.status != 400 {
			t.Errorf("erasing a malformed id: %d %s; want 400", r.status, r.body)
		}
		if r := in.publicCall("DELETE", "/v1/users/u4", ""); r.status != 403 && r.status != 401 {
			t.Errorf("erasing with the public key: %d %s; want 401 or 403", r.status, r.body)
		}
		if r := in.admin("GET", "/v1/users/u4", ""); r.status != 200 {
			t.Errorf("u4 after a refused erasure: %d %s; want 200", r.status, r.body)
		}
	})
}

// activityRows renders the project's activity rows of every unit in the two
// days around at: events, abandonments and distinct users of each.
func activityRows(t *testing.T, in *instance, at time.Time) string {
	t.Helper()
	project := decode[struct{ ID string }](t, in.admin("GET", "/v1/project", ""), 200)
	q := so.RollupQuery{ProjectID: project.ID, From: at.Add(-24 * time.Hour).Truncate(24 * time.Hour), To: at.Add(48 * time.Hour)}
	var b strings.Builder
	for _, unit := range []so.RollupUnit{so.UnitMinute, so.UnitHour, so.UnitDay} {
		rows, err := in.m.db.ActivityRollups(context.Background(), q, unit)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			users, err := analytics.DecodeUsers(r.Users)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s: events %d, abandoned %d, users %d\n", unit, so.FormatTime(r.Start), r.Events, r.Abandoned, users.Estimate())
		}
	}
	return b.String()
}
