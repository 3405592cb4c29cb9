package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/config"
)

// setupTourFlow publishes flow "tour": required task steps a, b, c in order.
func setupTourFlow(t *testing.T, in *instance) {
	t.Helper()
	task := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"task","title":"Do it","status":"published"}`), 201)
	var steps []string
	for _, k := range []string{"a", "b", "c"} {
		steps = append(steps, fmt.Sprintf(`{"key":%q,"title":%q,"kind":"task","content_item_id":%q,"required":true}`, k, k, task.ID))
	}
	if r := in.admin("POST", "/v1/flows", `{"key":"tour","name":"Tour","steps":[`+strings.Join(steps, ",")+`]}`); r.status != 201 {
		t.Fatalf("create flow: %d %s", r.status, r.body)
	}
	if r := in.admin("POST", "/v1/flows/tour/publish", ""); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
}

// tourEvent is one event of flow tour (step "" and flow "" for a click outside it).
func tourEvent(user string, n int, typ, step string, at time.Time) string {
	flow := "tour"
	if step == "" {
		flow = ""
	}
	return fmt.Sprintf(`{"id":"%s-%d","type":%q,"user_id":%q,"session_id":"s-%s","flow":%q,"step":%q,"timestamp":%q,"properties":{}}`,
		user, n, typ, user, user, flow, step, at.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// postTour posts events and checks they were all accepted.
func postTour(t *testing.T, in *instance, events ...string) {
	t.Helper()
	r := in.eventsCall(in.public, `{"events":[`+strings.Join(events, ",")+`]}`)
	res := decode[struct{ Accepted int }](t, r, 200)
	if res.Accepted != len(events) {
		t.Fatalf("accepted %d of %d events: %s", res.Accepted, len(events), r.body)
	}
}

// waitRolledUp waits until the behaviour and analytics consumers have
// processed every committed event.
func waitRolledUp(t *testing.T, in *instance) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(20 * time.Millisecond) {
		behind := 0
		for _, c := range []string{"behaviour", "analytics"} {
			n, err := in.m.pipeline.Lag(context.Background(), c, 1)
			if err != nil {
				t.Fatal(err)
			}
			behind += n
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the analytics consumer never caught up")
		}
	}
}

type overviewReport struct {
	ActiveUsersNow          int64    `json:"active_users_now"`
	ActiveUsers             int64    `json:"active_users"`
	Events                  int64    `json:"events"`
	JourneysStarted         int64    `json:"journeys_started"`
	JourneysCompleted       int64    `json:"journeys_completed"`
	JourneysAbandoned       int64    `json:"journeys_abandoned"`
	JourneysInProgress      int64    `json:"journeys_in_progress"`
	CompletionRate          *float64 `json:"completion_rate"`
	MedianSecondsToComplete *float64 `json:"median_seconds_to_complete"`
	P90SecondsToComplete    *float64 `json:"p90_seconds_to_complete"`
	EventsPerMinute         []struct {
		Events int64 `json:"events"`
	} `json:"events_per_minute"`
	Units   map[string]string `json:"units"`
	Segment map[string]string `json:"segment"`
}

type funnelStep struct {
	Key                    string   `json:"key"`
	Reached                int64    `json:"reached"`
	Started                int64    `json:"started"`
	Completed              int64    `json:"completed"`
	Skipped                int64    `json:"skipped"`
	DropOff                int64    `json:"drop_off"`
	InProgress             int64    `json:"in_progress"`
	DropOffRate            *float64 `json:"drop_off_rate"`
	MedianSeconds          *float64 `json:"median_seconds"`
	P90Seconds             *float64 `json:"p90_seconds"`
	StruggleRate           *float64 `json:"struggle_rate"`
	ConversionFromPrevious *float64 `json:"conversion_from_previous"`
}

type funnelReport struct {
	Flow              string       `json:"flow"`
	JourneysStarted   int64        `json:"journeys_started"`
	JourneysCompleted int64        `json:"journeys_completed"`
	Conversion        *float64     `json:"conversion"`
	CompletedWithin   *int64       `json:"completed_within"`
	Steps             []funnelStep `json:"steps"`
}

type ttvReport struct {
	Completed     int64    `json:"completed"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
	Buckets       []struct {
		Label    string `json:"label"`
		Journeys int64  `json:"journeys"`
	} `json:"buckets"`
}

// near tells whether a reported value is v within the histograms' accuracy.
func near(got *float64, v float64) bool {
	return got != nil && math.Abs(*got-v) <= analytics.Accuracy*v+1e-9
}

func same(got *float64, v float64) bool { return got != nil && math.Abs(*got-v) < 1e-9 }

// TestAnalyticsGolden posts a handful of journeys small enough to count by
// hand and checks every number of the overview, the funnel and time to
// value, the hour-aligned window's edges, CSV, and that a rebuild from the
// stored events gives the same reports as the incremental rollups.
func TestAnalyticsGolden(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupTourFlow(t, in)
		now := time.Now().UTC()
		base := now.Add(-30 * time.Minute).Truncate(time.Second)
		at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
		edge := now.Add(-3 * time.Hour).Truncate(time.Hour) // an hour boundary; the next two hours end before base
		// u1 and u2 form the segment plan=pro.
		for _, u := range []string{"u1", "u2"} {
			if r := in.admin("POST", "/v1/identify", `{"user_id":"`+u+`","traits":{"plan":"pro"}}`); r.status != 200 {
				t.Fatalf("identify %s: %d %s", u, r.status, r.body)
			}
		}
		postTour(t, in,
			// u1 completes: a 10 s, b 30 s, c 60 s; 120 s from its first step to completion.
			tourEvent("u1", 1, "step_started", "a", at(0)), tourEvent("u1", 2, "step_completed", "a", at(10)),
			tourEvent("u1", 3, "step_started", "b", at(20)), tourEvent("u1", 4, "step_completed", "b", at(50)),
			tourEvent("u1", 5, "step_started", "c", at(60)), tourEvent("u1", 6, "step_completed", "c", at(120)),
			// u2 completes a in 20 s and is on b.
			tourEvent("u2", 1, "step_started", "a", at(0)), tourEvent("u2", 2, "step_completed", "a", at(20)),
			tourEvent("u2", 3, "step_started", "b", at(30)),
			// u3 fails a three times: a struggle (repeated errors) on a.
			tourEvent("u3", 1, "step_started", "a", at(0)), tourEvent("u3", 2, "error", "a", at(5)),
			tourEvent("u3", 3, "error", "a", at(6)), tourEvent("u3", 4, "error", "a", at(7)),
			// u5 clicks outside any flow, a minute ago: the only user active now.
			tourEvent("u5", 1, "click", "", now.Add(-time.Minute)), tourEvent("u5", 2, "click", "", now.Add(-time.Minute)),
			// u6 clicks exactly at an hour boundary, just before the next, and exactly at it.
			tourEvent("u6", 1, "click", "", edge), tourEvent("u6", 2, "click", "", edge.Add(time.Hour-time.Millisecond)),
			tourEvent("u6", 3, "click", "", edge.Add(time.Hour)),
		)
		waitRolledUp(t, in)

		ov := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
		if ov.ActiveUsersNow != 1 || ov.ActiveUsers != 5 || ov.Events != 18 {
			t.Errorf("overview activity = now %d, window %d users, %d events; want 1, 5, 18", ov.ActiveUsersNow, ov.ActiveUsers, ov.Events)
		}
		if ov.JourneysStarted != 3 || ov.JourneysCompleted != 1 || ov.JourneysAbandoned != 0 || ov.JourneysInProgress != 2 {
			t.Errorf("overview journeys = %+v; want 3 started, 1 completed, 0 abandoned, 2 in progress", ov)
		}
		if !same(ov.CompletionRate, 1.0/3) || !near(ov.MedianSecondsToComplete, 120) || !near(ov.P90SecondsToComplete, 120) {
			t.Errorf("overview rate and times = %v %v %v; want 1/3, 120 s, 120 s", ptrString(ov.CompletionRate),
				ptrString(ov.MedianSecondsToComplete), ptrString(ov.P90SecondsToComplete))
		}
		var plotted int64
		for _, p := range ov.EventsPerMinute {
			plotted += p.Events
		}
		if plotted != 18 || ov.Units["journeys_started"] != "journeys" || ov.Units["active_users"] != "users" {
			t.Errorf("series sums to %d events (want 18); units %v", plotted, ov.Units)
		}

		fn := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=tour&within_days=1", ""), 200)
		if fn.JourneysStarted != 3 || fn.JourneysCompleted != 1 || !same(fn.Conversion, 1.0/3) || fn.CompletedWithin == nil || *fn.CompletedWithin != 1 {
			t.Errorf("funnel totals = %+v", fn)
		}
		want := []struct {
			key                                     string
			reached, started, completed, inProgress int64
			median, p90, struggle, fromPrevious     float64
		}{
			{"a", 3, 3, 2, 1, 10, 20, 1.0 / 3, -1}, // times {10, 20}: the median is the lower
			{"b", 2, 2, 1, 1, 30, 30, 0, 2.0 / 3},
			{"c", 1, 1, 1, 0, 60, 60, 0, 1.0 / 2},
		}
		if len(fn.Steps) != len(want) {
			t.Fatalf("funnel steps = %+v; want a, b, c", fn.Steps)
		}
		for i, w := range want {
			s := fn.Steps[i]
			if s.Key != w.key || s.Reached != w.reached || s.Started != w.started || s.Completed != w.completed ||
				s.InProgress != w.inProgress || s.Skipped != 0 || s.DropOff != 0 || !same(s.DropOffRate, 0) {
				t.Errorf("step %d = %+v; want %+v", i, s, w)
			}
			if !near(s.MedianSeconds, w.median) || !near(s.P90Seconds, w.p90) || !same(s.StruggleRate, w.struggle) {
				t.Errorf("step %s times and struggle = %s %s %s; want %v %v %v", w.key, ptrString(s.MedianSeconds),
					ptrString(s.P90Seconds), ptrString(s.StruggleRate), w.median, w.p90, w.struggle)
			}
			if (w.fromPrevious < 0) != (s.ConversionFromPrevious == nil) || (w.fromPrevious >= 0 && !same(s.ConversionFromPrevious, w.fromPrevious)) {
				t.Errorf("step %s conversion from previous = %s; want %v", w.key, ptrString(s.ConversionFromPrevious), w.fromPrevious)
			}
		}

		// The segment plan=pro (u1 completed, u2 on b) is summed from journey facts.
		pro := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=tour&trait.plan=pro", ""), 200)
		if pro.JourneysStarted != 2 || pro.JourneysCompleted != 1 || len(pro.Steps) != 3 || pro.Steps[0].Reached != 2 ||
			pro.Steps[0].Completed != 2 || pro.Steps[1].Reached != 2 || pro.Steps[1].InProgress != 1 || pro.Steps[2].Reached != 1 ||
			!near(pro.Steps[0].MedianSeconds, 10) || !same(pro.Steps[0].StruggleRate, 0) {
			t.Errorf("plan=pro funnel = %+v", pro)
		}
		if none := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=tour&trait.plan=free", ""), 200); none.JourneysStarted != 0 {
			t.Errorf("plan=free funnel = %+v; want no journeys", none)
		}
		// The overview narrows the journeys to the segment; activity stays the project's.
		proOv := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview?trait.plan=pro", ""), 200)
		if proOv.JourneysStarted != 2 || proOv.JourneysCompleted != 1 || proOv.JourneysInProgress != 1 || !same(proOv.CompletionRate, 0.5) ||
			!near(proOv.MedianSecondsToComplete, 120) || proOv.ActiveUsers != 5 || proOv.Events != 18 || proOv.Segment["plan"] != "pro" {
			t.Errorf("plan=pro overview = %+v; want 2 started, 1 completed in 120 s, the project's 5 users and 18 events", proOv)
		}
		if ov.Segment != nil {
			t.Errorf("overview of all users names a segment: %v", ov.Segment)
		}

		ttv := decode[ttvReport](t, in.admin("GET", "/v1/analytics/time-to-value?flow=tour", ""), 200)
		if ttv.Completed != 1 || !near(ttv.MedianSeconds, 120) || len(ttv.Buckets) != 9 || ttv.Buckets[1].Journeys != 1 {
			t.Errorf("time to value = %+v; want one journey of 120 s, in the 1–5 min bucket", ttv)
		}

		eng := decode[struct {
			Journeys int64 `json:"journeys"`
			Levels   struct{ Low, Medium, High int64 }
			Buckets  []struct{ Journeys int64 }
			Steps    []struct {
				Key      string `json:"key"`
				Journeys int64  `json:"journeys"`
			}
		}](t, in.admin("GET", "/v1/analytics/engagement?flow=tour", ""), 200)
		var bucketed int64
		for _, b := range eng.Buckets {
			bucketed += b.Journeys
		}
		// Every journey was scored; each counts on the step it is on: u3 on a,
		// u2 on b, u1 (finished) on its last step, c.
		if eng.Journeys != 3 || bucketed != 3 || eng.Levels.Low+eng.Levels.Medium+eng.Levels.High != 3 || len(eng.Buckets) != 10 ||
			len(eng.Steps) != 3 || eng.Steps[0].Journeys != 1 || eng.Steps[1].Journeys != 1 || eng.Steps[2].Journeys != 1 {
			t.Errorf("engagement = %+v; want 3 journeys, one on each step", eng)
		}
		sr := decode[struct {
			JourneysStarted int64 `json:"journeys_started"`
			HotSpots        []struct {
				Flow, Step, Rule string
				Journeys         int64    `json:"journeys"`
				ShareOfReached   *float64 `json:"share_of_reached"`
			} `json:"hot_spots"`
		}](t, in.admin("GET", "/v1/analytics/struggle", ""), 200)
		if sr.JourneysStarted != 3 || len(sr.HotSpots) != 1 || sr.HotSpots[0].Step != "a" || sr.HotSpots[0].Rule != "repeated_errors" ||
			sr.HotSpots[0].Journeys != 1 || !same(sr.HotSpots[0].ShareOfReached, 1.0/3) {
			t.Errorf("struggle = %+v; want one hot spot: a, repeated_errors, 1 of the 3 journeys that reached it", sr)
		}

		window := func(from, to time.Time) overviewReport {
			q := "?from=" + urlQuery(from.Format(time.RFC3339Nano)) + "&to=" + urlQuery(to.Format(time.RFC3339Nano))
			return decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview"+q, ""), 200)
		}
		if got := window(edge, edge.Add(time.Hour)); got.Events != 2 || got.ActiveUsers != 1 {
			t.Errorf("[edge, edge+1h) holds %d events of %d users; want the 2 at and after from, not the one at to", got.Events, got.ActiveUsers)
		}
		if got := window(edge.Add(time.Hour), edge.Add(2*time.Hour)); got.Events != 1 {
			t.Errorf("[edge+1h, edge+2h) holds %d events; want the one exactly at from", got.Events)
		}

		csvBody := in.request("GET", "/v1/analytics/funnel?flow=tour", in.secret, "", nil, "Accept", "text/csv")
		if csvBody.status != 200 || !strings.HasPrefix(csvBody.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("funnel as CSV: %d %s %s", csvBody.status, csvBody.header.Get("Content-Type"), csvBody.body)
		}
		rows, err := csv.NewReader(bytes.NewReader(csvBody.body)).ReadAll()
		if err != nil || len(rows) != 4 || rows[0][0] != "key" || rows[1][0] != "a" || rows[3][0] != "c" {
			t.Errorf("funnel CSV = %q, %v; want a header and rows a, b, c", rows, err)
		}
		proCSV := in.request("GET", "/v1/analytics/overview?trait.plan=pro", in.secret, "", nil, "Accept", "text/csv")
		if proCSV.status != 200 {
			t.Fatalf("segment overview as CSV: %d %s", proCSV.status, proCSV.body)
		}
		if rows, err := csv.NewReader(bytes.NewReader(proCSV.body)).ReadAll(); err != nil || len(rows) < 5 ||
			!slices.Equal(rows[3], []string{"trait.plan", "", "pro", ""}) || !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, []string{"journeys_started", "", "2", "journeys"}) }) {
			t.Errorf("segment overview CSV = %q, %v; want the segment after the window and 2 journeys started", rows, err)
		}

		fixed := "from=" + urlQuery(now.Add(-24*time.Hour).Format(time.RFC3339)) + "&to=" + urlQuery(now.Add(2*time.Hour).Format(time.RFC3339))
		before := reportBodies(t, in, fixed)
		st, err := rebuildAnalytics(context.Background(), in.m.db, time.Time{}, &bytes.Buffer{})
		if err != nil || st.Journeys != 3 || st.Events != 18 {
			t.Fatalf("rebuild = %+v, %v; want 3 journeys and 18 events recomputed", st, err)
		}
		if after := reportBodies(t, in, fixed); after != before {
			t.Errorf("rebuilt reports differ from the incremental ones:\nincremental %s\nrebuilt     %s", before, after)
		}
	})
}

// reportBodies are the bodies of the reports over one fixed window, for
// comparing two states.
func reportBodies(t *testing.T, in *instance, window string) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/v1/analytics/overview?", "/v1/analytics/funnel?flow=tour&", "/v1/analytics/time-to-value?flow=tour&",
		"/v1/analytics/engagement?flow=tour&", "/v1/analytics/struggle?"} {
		r := in.admin("GET", path+window, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		b.Write(r.body)
		b.WriteByte('\n')
	}
	return b.String()
}

func ptrString(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

// TestAbandonedJourneyIsADropOff lets the job abandon a journey midway and
// finds it as a drop-off at the step it stopped on, through the log.
func TestAbandonedJourneyIsADropOff(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AbandonAfter = 2 * time.Second
		in := startFast(t, cfg)
		setupTourFlow(t, in)
		at := time.Now().Add(-time.Minute)
		postTour(t, in, tourEvent("u4", 1, "step_started", "a", at), tourEvent("u4", 2, "step_completed", "a", at.Add(5*time.Second)),
			tourEvent("u4", 3, "step_started", "b", at.Add(10*time.Second)))
		fn := waitDropOffs(t, in, 1)
		if a, b := fn.Steps[0], fn.Steps[1]; a.Completed != 1 || a.DropOff != 0 || b.Reached != 1 || b.InProgress != 0 ||
			!same(b.DropOffRate, 1) || fn.Steps[2].Reached != 0 {
			t.Fatalf("funnel after abandonment = %+v", fn.Steps)
		}
		ov := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
		if ov.JourneysAbandoned != 1 || ov.JourneysInProgress != 0 || ov.Events != 3 {
			t.Fatalf("overview after abandonment = %+v; want 1 abandoned, none in progress, 3 events (not the server's own)", ov)
		}
	})
}

// waitDropOffs waits until the tour funnel shows n drop-offs on step b (the
// abandonment job and the consumers have run) and returns it.
func waitDropOffs(t *testing.T, in *instance, n int64) funnelReport {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(150 * time.Millisecond) { // the admin limit allows 10 a second
		waitRolledUp(t, in)
		fn := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=tour", ""), 200)
		if len(fn.Steps) == 3 && fn.Steps[1].DropOff == n {
			return fn
		}
		if time.Now().After(deadline) {
			t.Fatalf("the funnel never showed %d drop-offs on b: %+v", n, fn.Steps)
		}
	}
}

// TestAnalyticsInputRefused checks that report parameters are validated.
func TestAnalyticsInputRefused(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, config.EngineSQLite))
	setupTourFlow(t, in)
	for _, c := range []struct{ path, field string }{
		{"/v1/analytics/funnel", "flow"},
		{"/v1/analytics/funnel?flow=nope", ""},
		{"/v1/analytics/funnel?flow=tour&within_days=0", "within_days"},
		{"/v1/analytics/funnel?flow=tour&version=x", "version"},
		{"/v1/analytics/overview?version=1", "version"},
		{"/v1/analytics/overview?from=2026-13-01T00:00:00Z", "from"},
		{"/v1/analytics/overview?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{"/v1/analytics/overview?trait.plan=", "trait.plan"},
		{"/v1/analytics/funnel?flow=tour&trait.pl%22an=pro", "trait.pl\"an"},
		{"/v1/analytics/funnel?flow=tour&trait.plan=", "trait.plan"},
		{"/v1/analytics/time-to-value", "flow"},
	} {
		r := in.admin("GET", c.path, "")
		if r.status/100 != 4 {
			t.Errorf("%s: %d %s; want a 4xx", c.path, r.status, r.body)
			continue
		}
		if e := r.apiErr(t); c.field != "" && e.Field != c.field {
			t.Errorf("%s: error names field %q; want %q (%s)", c.path, e.Field, c.field, e.Message)
		}
	}
	if r := in.publicCall("GET", "/v1/analytics/overview", ""); r.status != 403 {
		t.Errorf("overview with the public key: %d; want 403", r.status)
	}
}

// TestJourneyStartedByAPIIsCounted starts a journey with no event: the
// journey_started the server logs brings it to the rollups, and it counts as
// a journey, not as activity.
func TestJourneyStartedByAPIIsCounted(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupTourFlow(t, in)
		decode[journeyView](t, in.publicCall("POST", "/v1/users/api-user/journeys/tour", ""), 201)
		waitRolledUp(t, in)
		ov := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
		if ov.JourneysStarted != 1 || ov.JourneysInProgress != 1 || ov.Events != 0 || ov.ActiveUsers != 0 {
			t.Fatalf("overview = %+v; want one journey in progress and no activity", ov)
		}
		fn := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=tour", ""), 200)
		if len(fn.Steps) != 3 || fn.Steps[0].Reached != 1 || fn.Steps[0].Started != 0 || fn.Steps[1].Reached != 0 {
			t.Fatalf("funnel = %+v; want the first step reached, not started", fn.Steps)
		}
	})
}
