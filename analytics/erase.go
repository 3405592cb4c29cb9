package analytics

import (
	"context"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// farFuture bounds "all of a user's events" from above.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Erase deletes everything stored about one user and takes their
// contribution out of the rollups, in the erasure's transaction, so that
// the rows left are the ones a rebuild without the user would make. Their
// journeys' facts are subtracted from the journey and step rows. A users
// sketch cannot be subtracted from, so the activity rows (minute, hour and
// day) their events counted in are recomputed from the events of everyone
// else who can have been active in those days; the rows' abandonments are
// kept, less the user's own.
func Erase(ctx context.Context, tx so.ErasureTx, projectID, userID string, now time.Time) (so.Erasure, error) {
	out := so.Erasure{UserID: userID}
	facts, err := tx.UserFacts(ctx, projectID, userID)
	if err != nil {
		return out, err
	}
	journeys := NewTally()
	for _, f := range facts {
		journeys.Replace(f, nil)
	}
	minutesFrom := now.Add(-MinutesKept)
	mine := NewTally() // the user's activity: which rows to recompute, and their abandonments
	err = tx.CountedEvents(ctx, projectID, []string{userID}, time.Time{}, farFuture, func(events []*so.Event) error {
		for _, ev := range events {
			mine.Event(ev, minutesFrom)
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	if out.Events, out.Journeys, err = tx.DeleteUser(ctx, projectID, userID); err != nil {
		return out, err
	}
	if err := addToStored(ctx, tx, journeys); err != nil {
		return out, err
	}
	out.ActivityRows, err = recomputeActivity(ctx, tx, projectID, mine, minutesFrom)
	return out, err
}

// recomputeActivity rewrites the activity rows the erased user's events
// counted in (mine's rows) from the counted events of the users still
// stored who were seen in those days.
func recomputeActivity(ctx context.Context, tx so.ErasureTx, projectID string, mine *Tally, minutesFrom time.Time) (int, error) {
	keys := mine.activityKeys()
	if len(keys) == 0 {
		return 0, nil
	}
	stored := NewTally()
	rows, err := tx.LoadRollups(ctx, mine.Keys())
	if err == nil {
		err = stored.Load(rows)
	}
	if err != nil {
		return 0, err
	}
	fresh := NewTally()
	for _, day := range daysOfKeys(keys) {
		// last_seen_at trails the last event by up to so.SeenPrecision.
		users, err := tx.SeenBetween(ctx, projectID, day.Add(-so.SeenPrecision), day.Add(Day))
		if err != nil {
			return 0, err
		}
		err = tx.CountedEvents(ctx, projectID, users, day, day.Add(Day), func(events []*so.Event) error {
			for _, ev := range events {
				if ev.Type != so.EventJourneyAbandoned { // abandonments are kept from the stored rows
					fresh.Event(ev, minutesFrom)
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	out := NewTally()
	for _, k := range keys {
		r := out.activityRow(k)
		if f := fresh.activity[k]; f != nil {
			r.Events, r.Users = f.Events, f.Users
		}
		if s := stored.activity[k]; s != nil {
			r.Abandoned = s.Abandoned
		}
		r.Abandoned -= mine.activity[k].Abandoned
	}
	recomputed, err := out.Rows()
	if err != nil {
		return 0, err
	}
	return len(keys), tx.SaveRollups(ctx, recomputed) // rows left empty are deleted
}

// daysOfKeys returns the UTC days the rows fall in, in order.
func daysOfKeys(keys []ActivityKey) []time.Time {
	var days []time.Time
	for _, k := range keys {
		if d := k.Start.UTC().Truncate(Day); !slices.ContainsFunc(days, d.Equal) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, time.Time.Compare)
	return days
}
