package analytics_test

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// The journeys of the report tests. Four are of the flow setup (profile,
// invite, launch in version 1; version 2 adds tour, checklist and avatar), one is of
// another flow:
//
//	j1 v1 10:00 completed in 600 s (value 1000 s): profile 30 s, invite 120 s, launch 60 s
//	j2 v1 10:00 completed in 7200 s (value 90000 s): profile 50 s (struggled), invite skipped, launch 90 s
//	j3 v1 10:00 abandoned: profile 40 s, invite started, struggled and dropped
//	j4 v2 11:00 active on profile, not started
//	j5 other 10:00 completed in 30 s (value 30 s)
var (
	step = func(key string) so.StepFact { return so.StepFact{Key: key} }
	done = func(key string, s float64) so.StepFact {
		return so.StepFact{Key: key, Reached: true, Started: true, Completed: true, Seconds: &s}
	}
	facts = []*so.JourneyFact{
		{ProjectID: "p", JourneyID: "j1", Flow: "setup", Version: 1, StartHour: hour, Status: so.JourneyCompleted,
			CompleteSeconds: seconds(600), ValueSeconds: seconds(1000),
			Steps: []so.StepFact{done("profile", 30), done("invite", 120), done("launch", 60)}},
		{ProjectID: "p", JourneyID: "j2", Flow: "setup", Version: 1, StartHour: hour, Status: so.JourneyCompleted,
			CompleteSeconds: seconds(7200), ValueSeconds: seconds(90000),
			Steps: []so.StepFact{struggled(done("profile", 50)), {Key: "invite", Reached: true, Skipped: true}, done("launch", 90)}},
		{ProjectID: "p", JourneyID: "j3", Flow: "setup", Version: 1, StartHour: hour, Status: so.JourneyAbandoned,
			Steps: []so.StepFact{done("profile", 40), {Key: "invite", Reached: true, Started: true, Dropped: true, Struggled: true}, step("launch")}},
		{ProjectID: "p", JourneyID: "j4", Flow: "setup", Version: 2, StartHour: hour.Add(time.Hour), Status: so.JourneyActive,
			Steps: []so.StepFact{{Key: "profile", Reached: true}, step("tour"), step("checklist"), step("avatar"), step("invite"), step("launch")}},
		{ProjectID: "p", JourneyID: "j5", Flow: "other", Version: 1, StartHour: hour, Status: so.JourneyCompleted,
			CompleteSeconds: seconds(30), ValueSeconds: seconds(30), Steps: []so.StepFact{done("only", 5)}},
	}
	from, to = hour, hour.Add(24 * time.Hour)
)

func struggled(s so.StepFact) so.StepFact { s.Struggled = true; return s }

// stored returns a tally loaded from the rows of the given tally, the way
// reports get theirs from the store.
func stored(t *testing.T, tl *analytics.Tally) *analytics.Tally {
	t.Helper()
	rows, err := tl.Rows()
	if err != nil {
		t.Fatal(err)
	}
	out := analytics.NewTally()
	if err := out.Load(rows); err != nil {
		t.Fatal(err)
	}
	return out
}

func windowOf(t *testing.T) *analytics.Tally {
	t.Helper()
	tl := analytics.NewTally()
	for _, f := range facts {
		tl.Replace(nil, f)
	}
	never := hour.Add(1000 * time.Hour) // no minute rows
	for _, ev := range []struct {
		user string
		at   time.Duration
	}{{"u1", time.Minute}, {"u2", 30 * time.Minute}, {"u1", 65 * time.Minute}, {"u3", 2*time.Hour - time.Second}} {
		tl.Event(&so.Event{ProjectID: "p", UserID: ev.user, Timestamp: hour.Add(ev.at)}, never)
	}
	return stored(t, tl)
}

// optional compares an optional number: nil, or within 1e-12 of want (rates),
// or within 1% of want (times, from a histogram).
func optional(t *testing.T, name string, got *float64, want any) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		if got != nil {
			t.Errorf("%s = %v, want null", name, *got)
		}
	case float64:
		if got == nil || math.Abs(*got-w) > 1e-12 {
			t.Errorf("%s = %s, want %v", name, show64(got), w)
		}
	case approx:
		if got == nil || !within(*got, float64(w)) {
			t.Errorf("%s = %s, want %v within 1%%", name, show64(got), float64(w))
		}
	}
}

// approx is a time read from a histogram: right within 1%.
type approx float64

func show64(x *float64) string {
	if x == nil {
		return "null"
	}
	return strconv.FormatFloat(*x, 'g', -1, 64)
}

func TestOverview(t *testing.T) {
	t.Parallel()
	recentFrom := hour.Add(115 * time.Minute) // 11:55
	recent := analytics.NewTally()
	for _, ev := range []struct {
		user string
		at   time.Duration
	}{{"u9", 100 * time.Minute}, {"u3", 119 * time.Minute}, {"u4", 117 * time.Minute}, {"u3", 118 * time.Minute}} {
		recent.Event(&so.Event{ProjectID: "p", UserID: ev.user, Timestamp: hour.Add(ev.at)}, recentFrom)
	}
	recent = stored(t, recent)
	window := windowOf(t)
	windowRows, err := window.Rows()
	if err != nil {
		t.Fatal(err)
	}

	rejected := []so.RejectionCount{{ProjectID: "p", Hour: hour, Code: so.EINVALID, Events: 6},
		{ProjectID: "p", Hour: hour.Add(time.Hour), Code: so.ECONFLICT, Events: 1}}
	var hours []so.ActivityRollup
	for _, a := range windowRows.Activity {
		if a.Unit == so.UnitHour {
			hours = append(hours, a)
		}
	}
	activity := analytics.Activity{Hours: hours, Users: window} // its day rows and hour rows: users count once
	o := analytics.OverviewOf(from, to, recent, activity, window, hours, rejected)
	// Users now: u3 and u4 (u9's event is before 11:55: an hour row only). In
	// the window: u1, u2, u3, by 4 events. Journeys: j1 to j5 started, j1, j2
	// and j5 completed, j3 abandoned, j4 in progress.
	if o.From != "2026-03-02T10:00:00.000Z" || o.To != "2026-03-03T10:00:00.000Z" {
		t.Errorf("from %s to %s", o.From, o.To)
	}
	if got := [8]int64{o.ActiveUsersNow, o.ActiveUsers, o.Events, o.EventsRejected, o.JourneysStarted, o.JourneysCompleted,
		o.JourneysAbandoned, o.JourneysInProgress}; got != [8]int64{2, 3, 4, 7, 5, 3, 1, 1} {
		t.Errorf("now, users, events, rejected, started, completed, abandoned, in progress = %v, want [2 3 4 7 5 3 1 1]", got)
	}
	optional(t, "completion rate", o.CompletionRate, 0.6)                     // 3 of 5
	optional(t, "median to complete", o.MedianSecondsToComplete, approx(600)) // 2nd of 30, 600, 7200
	optional(t, "p90 to complete", o.P90SecondsToComplete, approx(7200))      // ceil(2.7) = 3rd
	// Hour rows: 10:00 has u1 and u2's events, 11:00 u1 and u3's.
	wantSeries := []analytics.SeriesPoint{{T: "2026-03-02T10:00:00.000Z", Events: 2, PerMinute: 2.0 / 60},
		{T: "2026-03-02T11:00:00.000Z", Events: 2, PerMinute: 2.0 / 60}}
	if !reflect.DeepEqual(o.EventsPerMinute, wantSeries) {
		t.Errorf("series %+v, want %+v", o.EventsPerMinute, wantSeries)
	}

	// Minute rows, handed over in any order: one event each minute.
	recentRows, err := recent.Rows()
	if err != nil {
		t.Fatal(err)
	}
	var minutes []so.ActivityRollup
	for _, a := range slices.Backward(recentRows.Activity) {
		if a.Unit == so.UnitMinute {
			minutes = append(minutes, a)
		}
	}
	o = analytics.OverviewOf(from, to, recent, activity, window, minutes, rejected)
	wantSeries = []analytics.SeriesPoint{{T: "2026-03-02T11:57:00.000Z", Events: 1, PerMinute: 1},
		{T: "2026-03-02T11:58:00.000Z", Events: 1, PerMinute: 1}, {T: "2026-03-02T11:59:00.000Z", Events: 1, PerMinute: 1}}
	if !reflect.DeepEqual(o.EventsPerMinute, wantSeries) {
		t.Errorf("minute series %+v, want %+v", o.EventsPerMinute, wantSeries)
	}

	table := o.Table()
	if !slices.Equal(table[0], []string{"metric", "t", "value", "unit"}) || len(table) != 1+13+3 { // 13 totals, 3 points
		t.Fatalf("table %v", table)
	}
	for _, row := range [][]string{{"events", "", "4", "events"}, {"events_rejected", "", "7", "events"},
		{"completion_rate", "", "0.6", "share of journeys_started"},
		{"events_per_minute", "2026-03-02T11:58:00.000Z", "1", "events per minute"}} {
		if !slices.ContainsFunc(table, func(r []string) bool { return slices.Equal(r, row) }) {
			t.Errorf("table lacks %v: %v", row, table)
		}
	}
}

func TestFunnel(t *testing.T) {
	t.Parallel()
	window := windowOf(t)
	oneDay := 1
	q := so.RollupQuery{ProjectID: "p", From: from, To: to, Flow: "setup"}
	f := analytics.FunnelOf(q, window, []string{"profile", "invite", "launch", "invite"}, &oneDay)
	// j1 to j4 started; j1 and j2 completed, in 600 s and 7200 s: both within a day.
	if f.Flow != "setup" || f.Version != 0 || f.Unit != "journeys" || f.JourneysStarted != 4 || f.JourneysCompleted != 2 {
		t.Errorf("funnel %+v", f)
	}
	optional(t, "conversion", f.Conversion, 0.5)
	if f.WithinDays == nil || *f.WithinDays != 1 || f.CompletedWithin == nil || *f.CompletedWithin != 2 {
		t.Errorf("within %v days: %v", f.WithinDays, f.CompletedWithin)
	}

	type want struct {
		key                                                            string
		reached, started, completed, skipped, dropOff, inProgress      int64
		dropOffRate, median, p90, struggleRate, conversionFromPrevious any
	}
	wants := []want{
		// Reached by j1 to j4, completed by j1 to j3 in 30, 50, 40 s (median the
		// 2nd, p90 the ceil(2.7) = 3rd), j4 in progress, j2 struggled.
		{"profile", 4, 3, 3, 0, 0, 1, 0.0, approx(40), approx(50), 0.25, nil},
		// Reached by j1 to j3: j1 completed it in 120 s, j2 skipped it, j3
		// started it, struggled and dropped.
		{"invite", 3, 2, 1, 1, 1, 0, 1.0 / 3, approx(120), approx(120), 1.0 / 3, 0.75},
		// Reached by j1 and j2, completed in 60 s and 90 s (median the 1st, p90 the 2nd).
		{"launch", 2, 2, 2, 0, 0, 0, 0.0, approx(60), approx(90), 0.0, 2.0 / 3},
		// Not in the order given: after it, in key order; reached by none.
		{"avatar", 0, 0, 0, 0, 0, 0, nil, nil, nil, nil, 0.0},
		{"checklist", 0, 0, 0, 0, 0, 0, nil, nil, nil, nil, nil}, // after a step reached by none
		{"tour", 0, 0, 0, 0, 0, 0, nil, nil, nil, nil, nil},
	}
	if len(f.Steps) != len(wants) {
		t.Fatalf("steps %+v, want %d", f.Steps, len(wants))
	}
	for i, w := range wants {
		s := f.Steps[i]
		if got := (want{key: s.Key, reached: s.Reached, started: s.Started, completed: s.Completed, skipped: s.Skipped,
			dropOff: s.DropOff, inProgress: s.InProgress}); got.key != w.key || got.reached != w.reached ||
			got.started != w.started || got.completed != w.completed || got.skipped != w.skipped ||
			got.dropOff != w.dropOff || got.inProgress != w.inProgress {
			t.Errorf("step %d = %+v, want %+v", i, s, w)
		}
		optional(t, w.key+" drop-off rate", s.DropOffRate, w.dropOffRate)
		optional(t, w.key+" median", s.MedianSeconds, w.median)
		optional(t, w.key+" p90", s.P90Seconds, w.p90)
		optional(t, w.key+" struggle rate", s.StruggleRate, w.struggleRate)
		optional(t, w.key+" conversion from previous", s.ConversionFromPrevious, w.conversionFromPrevious)
	}

	table := f.Table()
	if len(table) != 7 || table[0][0] != "key" || table[0][11] != "conversion_from_previous" {
		t.Fatalf("table %v", table)
	}
	if got := table[2][:8]; !slices.Equal(got, []string{"invite", "3", "2", "1", "1", "1", "0.3333333333333333", "0"}) {
		t.Errorf("invite row %v", got)
	}
	if got := table[4]; !slices.Equal(got, []string{"avatar", "0", "0", "0", "0", "0", "", "0", "", "", "", "0"}) {
		t.Errorf("avatar row %v", got)
	}
}

// TestFunnelOfOneVersion: version 1 leaves j4 and its steps out.
func TestFunnelOfOneVersion(t *testing.T) {
	t.Parallel()
	zeroDays := 0
	q := so.RollupQuery{ProjectID: "p", From: from, To: to, Flow: "setup", Version: 1}
	f := analytics.FunnelOf(q, windowOf(t), []string{"profile", "invite", "launch"}, &zeroDays)
	if f.Version != 1 || f.JourneysStarted != 3 || f.JourneysCompleted != 2 || *f.CompletedWithin != 0 { // none in 0 s
		t.Fatalf("funnel %+v", f)
	}
	optional(t, "conversion", f.Conversion, 2.0/3)
	var keys []string
	for _, s := range f.Steps {
		keys = append(keys, s.Key)
	}
	if !slices.Equal(keys, []string{"profile", "invite", "launch"}) {
		t.Fatalf("steps %v", keys)
	}
	p := f.Steps[0] // reached, started and completed by j1 to j3; j2 struggled
	if p.Reached != 3 || p.Completed != 3 || p.InProgress != 0 {
		t.Fatalf("profile %+v", p)
	}
	optional(t, "profile struggle rate", p.StruggleRate, 1.0/3)
	if f = analytics.FunnelOf(q, windowOf(t), nil, nil); f.WithinDays != nil || f.CompletedWithin != nil {
		t.Fatalf("no window asked, got %v days: %v", f.WithinDays, f.CompletedWithin)
	}
	if f.Steps[0].Key != "invite" { // no order: key order
		t.Fatalf("steps without an order: %+v", f.Steps)
	}
}

func TestTimeToValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flow      string
		completed int64
		median    approx
		p90       approx
		journeys  []int64
	}{
		// j1 in 1000 s (15–60 min), j2 in 90000 s (1–3 days): median the 1st, p90 the 2nd.
		{"setup", 2, 1000, 90000, []int64{0, 0, 0, 1, 0, 0, 1, 0, 0}},
		// Every flow: j5 too, in 30 s (< 1 min); median the 2nd of 30, 1000, 90000.
		{"", 3, 1000, 90000, []int64{1, 0, 0, 1, 0, 0, 1, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.flow, func(t *testing.T) {
			t.Parallel()
			v := analytics.TimeToValueOf(so.RollupQuery{ProjectID: "p", From: from, To: to, Flow: tc.flow}, windowOf(t))
			if v.Flow != tc.flow || v.Unit != "journeys" || v.Completed != tc.completed {
				t.Errorf("time to value %+v", v)
			}
			optional(t, "median", v.MedianSeconds, tc.median)
			optional(t, "p90", v.P90Seconds, tc.p90)
			var journeys []int64
			for _, b := range v.Buckets {
				journeys = append(journeys, b.Journeys)
			}
			if !slices.Equal(journeys, tc.journeys) {
				t.Errorf("buckets %v, want %v", journeys, tc.journeys)
			}
		})
	}
}

// TestReportsJSON pins the field names, which clients read, on reports of
// nothing: counts are 0, shares and times null.
func TestReportsJSON(t *testing.T) {
	t.Parallel()
	empty := analytics.NewTally()
	week := 7
	q := so.RollupQuery{ProjectID: "p", From: from, To: to, Flow: "setup"}
	tests := []struct {
		name   string
		report any
		want   string
	}{
		{"overview", analytics.OverviewOf(from, to, empty, analytics.Activity{Users: empty}, empty, nil, nil), `{"from":"2026-03-02T10:00:00.000Z",` +
			`"to":"2026-03-03T10:00:00.000Z","active_users_now":0,"active_users":0,"events":0,"events_rejected":0,"events_per_minute":[],` +
			`"journeys_started":0,"journeys_completed":0,"journeys_abandoned":0,"journeys_in_progress":0,` +
			`"completion_rate":null,"median_seconds_to_complete":null,"p90_seconds_to_complete":null,` +
			`"units":{"active_users":"users","active_users_now":"users","completion_rate":"share of journeys_started",` +
			`"events":"events","events_per_minute":"events per minute","events_rejected":"events","journeys_abandoned":"journeys",` +
			`"journeys_completed":"journeys","journeys_in_progress":"journeys","journeys_started":"journeys",` +
			`"median_seconds_to_complete":"seconds","p90_seconds_to_complete":"seconds"}}`},
		{"funnel", analytics.FunnelOf(q, empty, []string{"a"}, &week), `{"flow":"setup","version":0,` +
			`"from":"2026-03-02T10:00:00.000Z","to":"2026-03-03T10:00:00.000Z","unit":"journeys",` +
			`"journeys_started":0,"journeys_completed":0,"conversion":null,"within_days":7,"completed_within":0,` +
			`"steps":[{"key":"a","reached":0,"started":0,"completed":0,"skipped":0,"drop_off":0,"drop_off_rate":null,` +
			`"in_progress":0,"median_seconds":null,"p90_seconds":null,"struggle_rate":null,"conversion_from_previous":null}]}`},
		{"funnel without steps", analytics.FunnelOf(q, empty, nil, nil), `{"flow":"setup","version":0,` +
			`"from":"2026-03-02T10:00:00.000Z","to":"2026-03-03T10:00:00.000Z","unit":"journeys",` +
			`"journeys_started":0,"journeys_completed":0,"conversion":null,"within_days":null,"completed_within":null,"steps":[]}`},
		{"time to value", analytics.TimeToValueOf(q, empty), `{"flow":"setup","from":"2026-03-02T10:00:00.000Z",` +
			`"to":"2026-03-03T10:00:00.000Z","unit":"journeys","completed":0,"median_seconds":null,"p90_seconds":null,` +
			`"buckets":[{"label":"< 1 min","from_seconds":0,"to_seconds":60,"journeys":0},` +
			`{"label":"1–5 min","from_seconds":60,"to_seconds":300,"journeys":0},` +
			`{"label":"5–15 min","from_seconds":300,"to_seconds":900,"journeys":0},` +
			`{"label":"15–60 min","from_seconds":900,"to_seconds":3600,"journeys":0},` +
			`{"label":"1–4 h","from_seconds":3600,"to_seconds":14400,"journeys":0},` +
			`{"label":"4–24 h","from_seconds":14400,"to_seconds":86400,"journeys":0},` +
			`{"label":"1–3 days","from_seconds":86400,"to_seconds":259200,"journeys":0},` +
			`{"label":"3–7 days","from_seconds":259200,"to_seconds":604800,"journeys":0},` +
			`{"label":"≥ 7 days","from_seconds":604800,"to_seconds":null,"journeys":0}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false) // "< 1 min" stays readable
			if err := enc.Encode(tc.report); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(b.String(), "\n"); got != tc.want {
				t.Fatalf("JSON\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestTimeToValueTable(t *testing.T) {
	t.Parallel()
	v := analytics.TimeToValueOf(so.RollupQuery{Flow: "setup"}, windowOf(t))
	want := [][]string{{"label", "from_seconds", "to_seconds", "journeys"},
		{"< 1 min", "0", "60", "0"}, {"1–5 min", "60", "300", "0"}, {"5–15 min", "300", "900", "0"},
		{"15–60 min", "900", "3600", "1"}, {"1–4 h", "3600", "14400", "0"}, {"4–24 h", "14400", "86400", "0"},
		{"1–3 days", "86400", "259200", "1"}, {"3–7 days", "259200", "604800", "0"}, {"≥ 7 days", "604800", "", "0"}}
	if got := v.Table(); !reflect.DeepEqual(got, want) {
		t.Fatalf("table\n%v\nwant\n%v", got, want)
	}
}
