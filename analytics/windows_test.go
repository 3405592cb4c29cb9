package analytics_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/sqlite"
)

// activityDB is a real SQLite database holding the activity rows of events.
func activityDB(t *testing.T, rows *so.Rollups) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "activity.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &so.Project{ID: "p", Name: "p", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.RebuildAnalytics(ctx, func(ctx context.Context, tx so.RebuildTx) error { return tx.SaveRollups(ctx, rows) }); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestLoadActivityMergesWholeDays: over a window from 18:00 three days back
// to 06:00 today, the two whole days in between come from their day rows and
// the ragged ends, which have events outside the window, from hour rows; a
// day row whose events fall short of its hours' (one begun mid-day, by an
// upgrade) is passed over for its hours; ending the window at 07:00, when
// all of today's events are in it, today's day row serves. Either way every
// user counts once.
func TestLoadActivityMergesWholeDays(t *testing.T) {
	t.Parallel()
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	at := func(day, hour int) time.Time {
		return day0.Add(time.Duration(day)*analytics.Day + time.Duration(hour)*time.Hour)
	}
	tally := analytics.NewTally()
	event := func(user string, t time.Time) {
		tally.Event(&so.Event{ProjectID: "p", Type: so.EventClick, UserID: user, Timestamp: t}, t.Add(time.Hour))
	}
	// Day 0 (before the window) u0; 18:00 on day 0 u1 (in it); day 1 u1, u2;
	// day 2 u2, u3, u4 at midnight exactly; day 3 before 06:00 u5, at 06:00 u6 (after it).
	event("u0", at(0, 3))
	event("u1", at(0, 18))
	event("u1", at(1, 9))
	event("u2", at(1, 23).Add(59*time.Minute))
	for i, u := range []string{"u2", "u3", "u4"} {
		event(u, at(2, 0).Add(time.Duration(i)*time.Millisecond))
	}
	event("u5", at(3, 5))
	event("u6", at(3, 6))
	rows, err := tally.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		to      time.Time
		partial time.Time // a day whose row is cut short, if any
		days    int       // day rows used
		hours   int       // hour rows used
		events  int64
		users   int64
	}{
		{"whole days from day rows", at(3, 6), time.Time{}, 2, 2, 7, 5},
		{"a day row begun mid-day", at(3, 6), at(2, 0), 1, 3, 7, 5},
		{"the last day all in the window", at(3, 7), time.Time{}, 3, 1, 8, 6},
	} {
		q := so.RollupQuery{ProjectID: "p", From: at(0, 18), To: tc.to}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stored := &so.Rollups{}
			for _, a := range rows.Activity {
				if a.Unit == so.UnitDay && a.Start.Equal(tc.partial) {
					a.Events-- // as though its first event came before day rows were kept
				}
				stored.Activity = append(stored.Activity, a)
			}
			a, err := analytics.LoadActivity(context.Background(), activityDB(t, stored), q)
			if err != nil {
				t.Fatal(err)
			}
			if a.Events() != tc.events || len(a.Hours) != int(tc.events)-2 { // one hour holds 3 events
				t.Fatalf("events %d in %d hours, want %d in %d (u1 at 18:00; u1; u2; u2, u3, u4; u5 …)", a.Events(), len(a.Hours),
					tc.events, tc.events-2)
			}
			if got := a.Users.Users(so.UnitHour, so.UnitDay).Estimate(); got != tc.users {
				t.Fatalf("users %d, want %d", got, tc.users)
			}
			used, err := a.Users.Rows()
			if err != nil {
				t.Fatal(err)
			}
			units := map[so.RollupUnit]int{}
			for _, r := range used.Activity {
				units[r.Unit]++
			}
			if units[so.UnitDay] != tc.days || units[so.UnitHour] != tc.hours || len(units) > 2 {
				t.Fatalf("rows used %v, want %d day rows and %d hour rows", fmt.Sprint(units), tc.days, tc.hours)
			}
		})
	}
}

// TestLoadJourneysMergesWholeDays: over a window from 18:00 three days back
// to 06:00 today, a flow's whole days come from its day rows and the days
// with journeys outside the window from hour rows; the sums equal those of
// the window's hour rows, for every flow and for one, and a day row missing
// a journey (begun before day rows were kept) is passed over.
func TestLoadJourneysMergesWholeDays(t *testing.T) {
	t.Parallel()
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	at := func(day, hour int) time.Time {
		return day0.Add(time.Duration(day)*analytics.Day + time.Duration(hour)*time.Hour)
	}
	tally := analytics.NewTally()
	n := 0
	journey := func(flow string, start time.Time, status so.JourneyStatus, seconds float64) {
		n++
		f := &so.JourneyFact{ProjectID: "p", JourneyID: fmt.Sprint("j", n), UserID: fmt.Sprint("u", n), Flow: flow, Version: 1,
			StartHour: start.Truncate(time.Hour), Status: status}
		if status == so.JourneyCompleted {
			f.CompleteSeconds = &seconds
		}
		tally.Replace(nil, f)
	}
	for _, flow := range []string{"a", "b"} {
		journey(flow, at(0, 3), so.JourneyCompleted, 10) // day 0, before the window
		journey(flow, at(0, 20), so.JourneyCompleted, 20)
		journey(flow, at(1, 9), so.JourneyCompleted, 30)
		journey(flow, at(1, 10), so.JourneyActive, 0)
		journey(flow, at(2, 0), so.JourneyAbandoned, 0)
		journey(flow, at(3, 5), so.JourneyCompleted, 40)
	}
	journey("a", at(3, 6), so.JourneyCompleted, 50) // after the window's end
	rows, err := tally.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		flow    string
		partial time.Time // a day whose row of flow a misses a journey, if any
		rows    int       // rows used, of 10 hour rows in the window (5 of one flow)
	}{{"every flow", "", time.Time{}, 8}, {"one flow", "b", time.Time{}, 4}, {"a day row short of a journey", "", at(1, 0), 9}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stored := &so.Rollups{Journeys: rows.Journeys}
			for _, d := range rows.JourneyDays {
				if d.Flow == "a" && d.Hour.Equal(tc.partial) {
					d.Started-- // as though one journey had been counted before day rows were kept
				}
				stored.JourneyDays = append(stored.JourneyDays, d)
			}
			db := activityDB(t, stored)
			q := so.RollupQuery{ProjectID: "p", Flow: tc.flow, From: at(0, 18), To: at(3, 6)}
			got, err := analytics.LoadJourneys(context.Background(), db, q)
			if err != nil {
				t.Fatal(err)
			}
			hours, err := db.JourneyRollups(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			want := analytics.NewTally()
			if err := want.Load(&so.Rollups{Journeys: hours}); err != nil {
				t.Fatal(err)
			}
			g, w := got.Completions("", 0), want.Completions("", 0)
			if g.Started != w.Started || g.Completed != w.Completed || g.Abandoned != w.Abandoned ||
				!bytes.Equal(g.CompleteSeconds.Encode(), w.CompleteSeconds.Encode()) || w.Started == 0 {
				t.Fatalf("from day rows: %d started, %d completed, %d abandoned, %x; from hours: %d, %d, %d, %x",
					g.Started, g.Completed, g.Abandoned, g.CompleteSeconds.Encode(), w.Started, w.Completed, w.Abandoned,
					w.CompleteSeconds.Encode())
			}
			used, err := got.Rows()
			if err != nil {
				t.Fatal(err)
			}
			if len(used.Journeys) != tc.rows { // a's day 0 and day 3 have journeys outside the window: their hours
				t.Fatalf("%d rows used, want %d", len(used.Journeys), tc.rows)
			}
		})
	}
}
