package analytics_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// rowsOf returns a tally's rows with each users sketch replaced by its
// estimate (sketch bytes are not canonical; histogram bytes are), so that
// tallies holding the same counts compare equal.
func rowsOf(t *testing.T, tl *analytics.Tally) (*so.Rollups, []int64) {
	t.Helper()
	rows, err := tl.Rows()
	if err != nil {
		t.Fatal(err)
	}
	var users []int64
	for i := range rows.Activity {
		u, err := analytics.DecodeUsers(rows.Activity[i].Users)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.Estimate())
		rows.Activity[i].Users = nil
	}
	return rows, users
}

// sameRows fails unless two tallies hold the same rows.
func sameRows(t *testing.T, got, want *analytics.Tally) {
	t.Helper()
	gr, gu := rowsOf(t, got)
	wr, wu := rowsOf(t, want)
	if !reflect.DeepEqual(gr, wr) || !reflect.DeepEqual(gu, wu) {
		t.Fatalf("rows\n%+v users %v\nwant\n%+v users %v", gr, gu, wr, wu)
	}
}

var hour = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// midway and finished are one journey before and after completing: it
// started at 10:17, spent 45 s on profile and 20 s on invite, and completed
// at 11:47.
var (
	midway = &so.JourneyFact{ProjectID: "p", JourneyID: "j1", UserID: "u1", Flow: "setup", Version: 2, Revision: 3,
		StartHour: hour, Status: so.JourneyActive, Steps: []so.StepFact{
			{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(45)},
			{Key: "invite", Reached: true, Started: true, Struggled: true},
			{Key: "launch"}}}
	finished = &so.JourneyFact{ProjectID: "p", JourneyID: "j1", UserID: "u1", Flow: "setup", Version: 2, Revision: 5,
		StartHour: hour, Status: so.JourneyCompleted, CompleteSeconds: seconds(5400), ValueSeconds: seconds(9000),
		Steps: []so.StepFact{
			{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(45)},
			{Key: "invite", Reached: true, Started: true, Completed: true, Struggled: true, Seconds: seconds(20)},
			{Key: "launch", Reached: true, Skipped: true}}}
	dropped = &so.JourneyFact{ProjectID: "p", JourneyID: "j2", UserID: "u2", Flow: "setup", Version: 2, Revision: 9,
		StartHour: hour.Add(time.Hour), Status: so.JourneyAbandoned, Steps: []so.StepFact{
			{Key: "profile", Reached: true, Dropped: true},
			{Key: "invite"},
			{Key: "launch"}}}
)

// TestReplaceChain: replacing a journey's fact twice leaves what its last
// fact alone contributes.
func TestReplaceChain(t *testing.T) {
	t.Parallel()
	chained := analytics.NewTally()
	chained.Replace(nil, midway)
	chained.Replace(midway, finished)
	direct := analytics.NewTally()
	direct.Replace(nil, finished)
	sameRows(t, chained, direct)

	rows, _ := rowsOf(t, direct)
	j := rows.Journeys[0]
	if len(rows.Journeys) != 1 || j.Started != 1 || j.Completed != 1 || j.Abandoned != 0 {
		t.Fatalf("journey rows %+v, want one started and completed", rows.Journeys)
	}
	complete, err := analytics.DecodeHistogram(j.CompleteSeconds)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := complete.Quantile(0.5); complete.Count() != 1 || !ok || !within(m, 5400) {
		t.Fatalf("complete seconds: count %d, median %v", complete.Count(), m)
	}
	// Sorted by step key: invite, launch, profile.
	want := [][6]int64{ // reached, started, completed, skipped, dropped, struggled
		{1, 1, 1, 0, 0, 1},
		{1, 0, 0, 1, 0, 0},
		{1, 1, 1, 0, 0, 0},
	}
	for i, s := range rows.Steps {
		if got := [6]int64{s.Reached, s.Started, s.Completed, s.Skipped, s.Dropped, s.Struggled}; got != want[i] {
			t.Errorf("step %s = %v, want %v", s.Step, got, want[i])
		}
	}
}

// TestReplaceSameChangesNothing: replacing a fact by itself nets to zero;
// on an empty tally its rows remain, all zero, with empty histograms.
func TestReplaceSameChangesNothing(t *testing.T) {
	t.Parallel()
	tl := analytics.NewTally()
	tl.Replace(nil, finished)
	before := analytics.NewTally()
	before.Replace(nil, finished)
	tl.Replace(finished, finished)
	sameRows(t, tl, before)

	empty := analytics.NewTally()
	empty.Replace(finished, finished)
	rows, _ := rowsOf(t, empty)
	if len(rows.Journeys) != 1 || len(rows.Steps) != 3 {
		t.Fatalf("rows %+v, want the journey row and 3 step rows", rows)
	}
	if j := rows.Journeys[0]; !reflect.DeepEqual(j, so.JourneyRollup{ProjectID: "p", Hour: hour, Flow: "setup", Version: 2}) {
		t.Fatalf("journey row %+v, want all zero", j)
	}
	for _, s := range rows.Steps {
		if !reflect.DeepEqual(s, so.StepRollup{ProjectID: "p", Hour: hour, Flow: "setup", Version: 2, Step: s.Step}) {
			t.Fatalf("step row %+v, want all zero", s)
		}
	}
	empty.Replace(nil, nil)
	if r, _ := rowsOf(t, empty); len(r.Journeys) != 1 {
		t.Fatalf("Replace(nil, nil) added rows: %+v", r)
	}
}

// TestDeltaOntoStoredRows is the consumer's way: the deltas of a batch are
// added to the stored rows, which then equal the rows of the new facts.
func TestDeltaOntoStoredRows(t *testing.T) {
	t.Parallel()
	stored := analytics.NewTally()
	stored.Replace(nil, midway)
	stored.Replace(nil, dropped)
	storedRows, err := stored.Rows()
	if err != nil {
		t.Fatal(err)
	}

	// j1 completes; j2's user returns, so j2 is active again and dropped nowhere.
	returned := *dropped
	returned.Status, returned.Revision = so.JourneyActive, 10
	returned.Steps = []so.StepFact{{Key: "profile", Reached: true, Started: true}, {Key: "invite"}, {Key: "launch"}}
	delta := analytics.NewTally()
	delta.Replace(midway, finished)
	delta.Replace(dropped, &returned)
	loaded := analytics.NewTally()
	if err := loaded.Load(storedRows); err != nil {
		t.Fatal(err)
	}
	if err := loaded.Add(delta); err != nil {
		t.Fatal(err)
	}

	want := analytics.NewTally()
	want.Replace(nil, finished)
	want.Replace(nil, &returned)
	sameRows(t, loaded, want)
	if j := loaded.Journeys("setup", 2); j.Started != 2 || j.Abandoned != 0 || j.Completed != 1 {
		t.Fatalf("journeys %+v, want 2 started, 1 completed, none abandoned", j)
	}
	if p := loaded.Steps("setup", 2)["profile"]; p.Reached != 2 || p.Dropped != 0 || p.Started != 2 {
		t.Fatalf("profile %+v, want reached and started by both, dropped by none", p)
	}
}

func TestEventRows(t *testing.T) {
	t.Parallel()
	minutesFrom := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	tl := analytics.NewTally()
	local := time.FixedZone("PST", -8*3600)
	for _, ev := range []*so.Event{
		{ProjectID: "p", UserID: "a", Timestamp: time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC)},   // before minutesFrom: hour only
		{ProjectID: "p", UserID: "b", Timestamp: time.Date(2026, 3, 2, 10, 29, 59, 0, time.UTC)}, // hour only
		{ProjectID: "p", UserID: "a", Timestamp: minutesFrom},                                    // at minutesFrom: its minute too
		{ProjectID: "p", UserID: "a", Timestamp: time.Date(2026, 3, 2, 2, 30, 40, 0, local)},     // 10:30:40 UTC, same minute
		{ProjectID: "p", UserID: "c", Timestamp: time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)},   // next hour, its minute
		{ProjectID: "o", UserID: "a", Timestamp: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},    // another project
	} {
		tl.Event(ev, minutesFrom)
	}
	rows, users := rowsOf(t, tl)
	type row struct {
		project string
		unit    so.RollupUnit
		start   string
		events  int64
		users   int64
	}
	var got []row
	for i, a := range rows.Activity {
		got = append(got, row{a.ProjectID, a.Unit, so.FormatTime(a.Start), a.Events, users[i]})
	}
	want := []row{ // by project, unit, start ("day" < "hour" < "minute")
		{"o", so.UnitDay, "2026-03-02T00:00:00.000Z", 1, 1},
		{"o", so.UnitHour, "2026-03-02T09:00:00.000Z", 1, 1},
		{"p", so.UnitDay, "2026-03-02T00:00:00.000Z", 5, 3},  // the UTC day, the PST event included
		{"p", so.UnitHour, "2026-03-02T10:00:00.000Z", 4, 2}, // a, b, a, a
		{"p", so.UnitHour, "2026-03-02T11:00:00.000Z", 1, 1},
		{"p", so.UnitMinute, "2026-03-02T10:30:00.000Z", 2, 1}, // a twice
		{"p", so.UnitMinute, "2026-03-02T11:00:00.000Z", 1, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("activity rows\n%v\nwant\n%v", got, want)
	}
	if e := tl.Events(so.UnitHour); e != 6 {
		t.Fatalf("hour events = %d, want 6", e)
	}
	if u := tl.Users(so.UnitMinute).Estimate(); u != 2 {
		t.Fatalf("minute users = %d, want a and c", u)
	}
}

// TestKeysOrder: rows come sorted by project, hour, flow, version and step
// whatever order the facts came in, and Keys lists the same keys as Rows.
func TestKeysOrder(t *testing.T) {
	t.Parallel()
	mk := func(project string, h int, flow string, version int, steps ...string) *so.JourneyFact {
		f := &so.JourneyFact{ProjectID: project, Flow: flow, Version: version, StartHour: hour.Add(time.Duration(h) * time.Hour),
			Status: so.JourneyActive}
		for _, s := range steps {
			f.Steps = append(f.Steps, so.StepFact{Key: s, Reached: true})
		}
		return f
	}
	tl := analytics.NewTally()
	for _, f := range []*so.JourneyFact{
		mk("q", 0, "a", 1, "x"), mk("p", 1, "a", 1, "x"), mk("p", 0, "b", 1, "x"),
		mk("p", 0, "a", 10, "x"), mk("p", 0, "a", 2, "y", "x"),
	} {
		tl.Replace(nil, f)
	}
	keys := tl.Keys()
	var got []string
	for _, s := range keys.Steps {
		got = append(got, fmt.Sprintf("%s %d %s %d %s", s.ProjectID, s.Hour.Hour(), s.Flow, s.Version, s.Step))
	}
	want := []string{"p 10 a 2 x", "p 10 a 2 y", "p 10 a 10 x", "p 10 b 1 x", "p 11 a 1 x", "q 10 a 1 x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("step keys %v, want %v", got, want)
	}
	if len(keys.Journeys) != 5 || keys.Journeys[1].Version != 10 || keys.Journeys[2].Flow != "b" || keys.Journeys[0].Started != 0 {
		t.Fatalf("journey keys %+v", keys.Journeys)
	}
	rows, _ := rowsOf(t, tl)
	for i, j := range rows.Journeys {
		if k := keys.Journeys[i]; j.ProjectID != k.ProjectID || !j.Hour.Equal(k.Hour) || j.Flow != k.Flow || j.Version != k.Version {
			t.Fatalf("row %d is %+v, key %+v", i, j, k)
		}
	}
}

// TestLoadRowsRoundTrip: loading a tally's rows into an empty one gives the
// same rows, and loading them twice doubles every count.
func TestLoadRowsRoundTrip(t *testing.T) {
	t.Parallel()
	tl := analytics.NewTally()
	tl.Replace(nil, finished)
	tl.Replace(nil, dropped)
	for i := range 500 { // enough users for a dense sketch in the busiest hour
		tl.Event(&so.Event{ProjectID: "p", UserID: fmt.Sprint("u", i), Timestamp: hour.Add(time.Duration(i) * time.Second)}, hour)
	}
	rows, err := tl.Rows()
	if err != nil {
		t.Fatal(err)
	}
	loaded := analytics.NewTally()
	if err := loaded.Load(rows); err != nil {
		t.Fatal(err)
	}
	sameRows(t, loaded, tl)

	if err := loaded.Load(rows); err != nil {
		t.Fatal(err)
	}
	twice := loaded.Journeys("setup", 0)
	if twice.Started != 4 || twice.Completed != 2 || twice.Abandoned != 2 || twice.CompleteSeconds.Count() != 2 {
		t.Fatalf("twice loaded: %+v", twice)
	}
	if e, u := loaded.Events(so.UnitHour), loaded.Users(so.UnitHour).Estimate(); e != 1000 || u != 500 {
		t.Fatalf("twice loaded: %d events, %d users; want 2·500 events by 500 users", e, u)
	}
}

func TestLoadRefusesCorruptRows(t *testing.T) {
	t.Parallel()
	tests := map[string]*so.Rollups{
		"users":            {Activity: []so.ActivityRollup{{ProjectID: "p", Unit: so.UnitHour, Start: hour, Events: 1, Users: []byte("junk")}}},
		"complete seconds": {Journeys: []so.JourneyRollup{{ProjectID: "p", Hour: hour, CompleteSeconds: []byte{9}}}},
		"value seconds":    {Journeys: []so.JourneyRollup{{ProjectID: "p", Hour: hour, ValueSeconds: []byte{1}}}},
		"step seconds":     {Steps: []so.StepRollup{{ProjectID: "p", Hour: hour, Step: "s", Seconds: []byte{1, 0, 0}}}},
	}
	for name, rows := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := analytics.NewTally().Load(rows); err == nil {
				t.Fatal("Load succeeded")
			}
		})
	}
}

// TestAddCommutes: a+b and b+a hold the same rows, which are those of one
// tally given everything.
func TestAddCommutes(t *testing.T) {
	t.Parallel()
	ev := func(user string, minute int) *so.Event {
		return &so.Event{ProjectID: "p", UserID: user, Timestamp: hour.Add(time.Duration(minute) * time.Minute)}
	}
	build := func(facts []*so.JourneyFact, events ...*so.Event) *analytics.Tally {
		tl := analytics.NewTally()
		for _, f := range facts {
			tl.Replace(nil, f)
		}
		for _, e := range events {
			tl.Event(e, hour)
		}
		return tl
	}
	a := func() *analytics.Tally { return build([]*so.JourneyFact{finished}, ev("x", 1), ev("y", 2)) }
	b := func() *analytics.Tally { return build([]*so.JourneyFact{dropped, midway}, ev("y", 2), ev("z", 70)) }

	ab, ba := a(), b()
	if err := ab.Add(b()); err != nil {
		t.Fatal(err)
	}
	if err := ba.Add(a()); err != nil {
		t.Fatal(err)
	}
	sameRows(t, ab, ba)
	sameRows(t, ab, build([]*so.JourneyFact{finished, dropped, midway}, ev("x", 1), ev("y", 2), ev("y", 2), ev("z", 70)))
	if u := ab.Users(so.UnitHour).Estimate(); u != 3 {
		t.Fatalf("users = %d, want x, y, z", u)
	}
}
