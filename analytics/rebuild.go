package analytics

import (
	"context"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// RebuildStats reports what a rebuild recomputed.
type RebuildStats struct {
	From     time.Time
	Journeys int // facts recomputed
	Events   int // events counted for activity
}

// Rebuild recomputes, in the rebuild's transaction, every rollup row that
// starts at or after from (floored to the UTC day) and the facts of journeys
// started since: facts from the journeys' stored state, activity from the
// events up to the analytics cursor. The consumer's incremental rows are
// replaced by the same numbers; progress, when set, is told after each chunk.
func (c *Consumer) Rebuild(ctx context.Context, tx so.RebuildTx, from time.Time, progress func(RebuildStats)) (RebuildStats, error) {
	st := RebuildStats{From: from.UTC().Truncate(Day)} // whole days: a day row counts every hour of its day
	c.facts = nil                                      // the facts go with the rows; each is recomputed from nothing
	if err := tx.ClearAnalytics(ctx, st.From); err != nil {
		return st, err
	}
	delta := NewTally()
	err := tx.EachJourney(ctx, func(js []*so.Journey) error {
		for _, group := range journeysByProject(js, st.From) {
			facts, err := c.refresh(ctx, tx, delta, group[0].ProjectID, group)
			if err != nil {
				return err
			}
			if err := tx.SaveFacts(ctx, facts); err != nil {
				return err
			}
			st.Journeys += len(facts)
		}
		report(progress, st)
		return nil
	})
	if err != nil {
		return st, err
	}
	minutesFrom := c.now().Add(-MinutesKept)
	if minutesFrom.Before(st.From) {
		minutesFrom = st.From
	}
	err = tx.EachEvent(ctx, func(events []*so.Event) error {
		for _, ev := range events {
			if ev.Timestamp.Before(st.From) {
				continue
			}
			delta.Event(ev, minutesFrom)
			if !so.ServerEvent(ev.Type) {
				st.Events++
			}
		}
		report(progress, st)
		return nil
	})
	if err != nil {
		return st, err
	}
	rows, err := delta.Rows()
	if err != nil {
		return st, err
	}
	return st, tx.SaveRollups(ctx, rows)
}

func report(progress func(RebuildStats), st RebuildStats) {
	if progress != nil {
		progress(st)
	}
}

// journeysByProject groups the journeys started at or after from by project.
func journeysByProject(js []*so.Journey, from time.Time) [][]*so.Journey {
	js = slices.DeleteFunc(slices.Clone(js), func(j *so.Journey) bool { return j.StartedAt.Before(from) })
	return groupBy(js, func(j *so.Journey) string { return j.ProjectID })
}
