package analytics

import (
	"context"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// ActivitySource is what a window's activity is read from.
type ActivitySource interface {
	ActivityRollups(ctx context.Context, q so.RollupQuery, unit so.RollupUnit) ([]so.ActivityRollup, error)
	ActivityCounts(ctx context.Context, q so.RollupQuery, unit so.RollupUnit) ([]so.ActivityRollup, error)
}

// Activity is a window's activity: the counts of each of its hours, and
// rows whose users sketches cover it once.
type Activity struct {
	Hours []so.ActivityRollup // every hour row, without users
	Users *Tally              // day rows of whole days, hour rows of the rest
}

// Events sums the window's events.
func (a Activity) Events() int64 {
	var n int64
	for _, h := range a.Hours {
		n += h.Events
	}
	return n
}

// LoadActivity reads the activity of the window q (hour-aligned): every
// hour's counts, and the users of each UTC day from its day row (one sketch
// instead of 24, so a week costs about as much however busy it was) when
// all the day's events fall in the window, which its count tells: its
// events then equal those of its hours in the window. That holds for whole
// days and for the day the window ends in when nothing came after the end;
// other days (the one the window starts in, a day begun before day rows
// were kept, or recounted in part) are merged from their hours in the window.
func LoadActivity(ctx context.Context, db ActivitySource, q so.RollupQuery) (Activity, error) {
	hours, err := db.ActivityCounts(ctx, q, so.UnitHour)
	if err != nil {
		return Activity{}, err
	}
	a := Activity{Hours: hours, Users: NewTally()}
	days, err := db.ActivityRollups(ctx, daysOf(q), so.UnitDay)
	if err != nil {
		return Activity{}, err
	}
	inWindow := map[time.Time]int64{}
	for _, h := range hours {
		inWindow[h.Start.UTC().Truncate(Day)] += h.Events
	}
	covered := map[time.Time]bool{}
	var use []so.ActivityRollup
	for _, d := range days {
		if d.Events == inWindow[d.Start.UTC()] {
			covered[d.Start.UTC()] = true
			use = append(use, d)
		}
	}
	for _, span := range uncovered(q.From, q.To, covered) {
		rows, err := db.ActivityRollups(ctx, so.RollupQuery{ProjectID: q.ProjectID, From: span[0], To: span[1]}, so.UnitHour)
		if err != nil {
			return Activity{}, err
		}
		use = append(use, rows...)
	}
	return a, a.Users.Load(&so.Rollups{Activity: use})
}

// daysOf widens q to the UTC days it touches, to select their day rows.
func daysOf(q so.RollupQuery) so.RollupQuery {
	q.From, q.To = q.From.UTC().Truncate(Day), q.To.UTC().Add(Day-time.Nanosecond).Truncate(Day)
	return q
}

// uncovered returns the spans of [from, to) outside the covered days, in
// order, adjacent hours joined.
func uncovered(from, to time.Time, covered map[time.Time]bool) [][2]time.Time {
	var spans [][2]time.Time
	for at := from.UTC(); at.Before(to); {
		day := at.Truncate(Day)
		next := day.Add(Day)
		if next.After(to) {
			next = to.UTC()
		}
		if covered[day] {
			at = next
			continue
		}
		if n := len(spans); n > 0 && spans[n-1][1].Equal(at) {
			spans[n-1][1] = next
		} else {
			spans = append(spans, [2]time.Time{at, next})
		}
		at = next
	}
	return spans
}

// JourneySource is what a window's journey rows are read from.
type JourneySource interface {
	JourneyRollups(ctx context.Context, q so.RollupQuery) ([]so.JourneyRollup, error)
	JourneyCounts(ctx context.Context, q so.RollupQuery) ([]so.JourneyRollup, error)
	JourneyDays(ctx context.Context, q so.RollupQuery) ([]so.JourneyRollup, error)
}

// cohortDay names a flow version's journeys that started on one UTC day.
type cohortDay struct {
	day     time.Time
	flow    string
	version int
}

// LoadJourneys returns the journey rows of the window q that cover it once,
// in a tally to sum (Tally.Completions): a flow version's day row for each
// UTC day whose journeys all started in the window, which its count tells
// (its started equals that of its hours in the window), and the hour rows
// of the other days, as LoadActivity does for activity.
func LoadJourneys(ctx context.Context, db JourneySource, q so.RollupQuery) (*Tally, error) {
	counts, err := db.JourneyCounts(ctx, q)
	if err != nil {
		return nil, err
	}
	days, err := db.JourneyDays(ctx, daysOf(q))
	if err != nil {
		return nil, err
	}
	inWindow := map[cohortDay]int64{}
	for _, h := range counts {
		inWindow[cohortDay{h.Hour.UTC().Truncate(Day), h.Flow, h.Version}] += h.Started
	}
	covered, coveredDays := map[cohortDay]bool{}, map[time.Time]bool{}
	rows := &so.Rollups{}
	for _, d := range days {
		if k := (cohortDay{d.Hour.UTC(), d.Flow, d.Version}); d.Started == inWindow[k] {
			covered[k] = true
			rows.Journeys = append(rows.Journeys, d)
		}
	}
	for k := range inWindow { // a day is skipped for hours only when every flow version of it is covered
		if seen, ok := coveredDays[k.day]; !ok || seen {
			coveredDays[k.day] = covered[k]
		}
	}
	for _, span := range uncovered(q.From, q.To, coveredDays) {
		sq := q
		sq.From, sq.To = span[0], span[1]
		hours, err := db.JourneyRollups(ctx, sq)
		if err != nil {
			return nil, err
		}
		for _, h := range hours {
			if !covered[cohortDay{h.Hour.UTC().Truncate(Day), h.Flow, h.Version}] {
				rows.Journeys = append(rows.Journeys, h)
			}
		}
	}
	t := NewTally()
	return t, t.Load(rows) // day rows under their day's start, hour rows of other days: no key twice
}
