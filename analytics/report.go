package analytics

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Overview is a project's activity and journeys over a window.
type Overview struct {
	From                    string            `json:"from"`
	To                      string            `json:"to"`
	ActiveUsersNow          int64             `json:"active_users_now"`
	ActiveUsers             int64             `json:"active_users"`
	Events                  int64             `json:"events"`
	EventsRejected          int64             `json:"events_rejected"`
	EventsPerMinute         []SeriesPoint     `json:"events_per_minute"`
	JourneysStarted         int64             `json:"journeys_started"`
	JourneysCompleted       int64             `json:"journeys_completed"`
	JourneysAbandoned       int64             `json:"journeys_abandoned"`
	JourneysInProgress      int64             `json:"journeys_in_progress"`
	CompletionRate          *float64          `json:"completion_rate"`
	MedianSecondsToComplete *float64          `json:"median_seconds_to_complete"`
	P90SecondsToComplete    *float64          `json:"p90_seconds_to_complete"`
	Units                   map[string]string `json:"units"`
	// Segment is the trait filters the journeys were narrowed to (activity
	// is the whole project's): absent for all users.
	Segment map[string]string `json:"segment,omitempty"`
}

// SeriesPoint is the events of one activity row.
type SeriesPoint struct {
	T         string  `json:"t"`
	Events    int64   `json:"events"`
	PerMinute float64 `json:"per_minute"`
}

// overviewUnits names what each number of an Overview counts.
var overviewUnits = map[string]string{
	"active_users_now":           "users",
	"active_users":               "users",
	"events":                     "events",
	"events_rejected":            "events",
	"events_per_minute":          "events per minute",
	"journeys_started":           "journeys",
	"journeys_completed":         "journeys",
	"journeys_abandoned":         "journeys",
	"journeys_in_progress":       "journeys",
	"completion_rate":            "share of journeys_started",
	"median_seconds_to_complete": "seconds",
	"p90_seconds_to_complete":    "seconds",
}

// OverviewOf sums the rows of the window [from, to) a caller selected:
// recent holds the minute rows of the last 5 minutes (active users now),
// activity the window's (LoadActivity), journeys its journey rows (by start
// hour), series the activity rows, hours or minutes, to plot events per
// minute, and rejected the window's rejection counts.
func OverviewOf(from, to time.Time, recent *Tally, activity Activity, journeys *Tally, series []so.ActivityRollup, rejected []so.RejectionCount) Overview {
	j := journeys.Completions("", 0)
	return Overview{From: so.FormatTime(from), To: so.FormatTime(to),
		ActiveUsersNow: recent.Users(so.UnitMinute).Estimate(), ActiveUsers: activity.Users.Users(so.UnitHour, so.UnitDay).Estimate(),
		Events: activity.Events(), EventsRejected: RejectedTotal(rejected), EventsPerMinute: seriesOf(series),
		JourneysStarted: j.Started, JourneysCompleted: j.Completed, JourneysAbandoned: j.Abandoned,
		JourneysInProgress: j.Started - j.Completed - j.Abandoned, CompletionRate: ratio(j.Completed, j.Started),
		MedianSecondsToComplete: quantile(j.CompleteSeconds, 0.5), P90SecondsToComplete: quantile(j.CompleteSeconds, 0.9),
		Units: maps.Clone(overviewUnits)}
}

// seriesOf sums activity rows by unit and start, in time order.
func seriesOf(rows []so.ActivityRollup) []SeriesPoint {
	type key struct {
		unit  so.RollupUnit
		start time.Time
	}
	events := map[key]int64{}
	for _, r := range rows {
		events[key{r.Unit, r.Start.UTC()}] += r.Events
	}
	keys := slices.SortedFunc(maps.Keys(events), func(a, b key) int {
		return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.unit, b.unit))
	})
	points := make([]SeriesPoint, 0, len(keys))
	for _, k := range keys {
		n := events[k]
		points = append(points, SeriesPoint{T: so.FormatTime(k.start), Events: n, PerMinute: float64(n) / minutesOf(k.unit)})
	}
	return points
}

// minutesOf returns how many minutes a row of the unit covers.
func minutesOf(u so.RollupUnit) float64 {
	if u == so.UnitHour {
		return 60
	}
	return 1
}

// Table renders the overview as rows of metric, time, value and unit: the
// totals first, then one row per series point.
func (o Overview) Table() [][]string {
	rows := [][]string{{"metric", "t", "value", "unit"}, {"from", "", o.From, ""}, {"to", "", o.To, ""}}
	for _, name := range slices.Sorted(maps.Keys(o.Segment)) {
		rows = append(rows, []string{"trait." + name, "", o.Segment[name], ""})
	}
	add := func(metric, value string) { rows = append(rows, []string{metric, "", value, o.Units[metric]}) }
	add("active_users_now", itoa(o.ActiveUsersNow))
	add("active_users", itoa(o.ActiveUsers))
	add("events", itoa(o.Events))
	add("events_rejected", itoa(o.EventsRejected))
	add("journeys_started", itoa(o.JourneysStarted))
	add("journeys_completed", itoa(o.JourneysCompleted))
	add("journeys_abandoned", itoa(o.JourneysAbandoned))
	add("journeys_in_progress", itoa(o.JourneysInProgress))
	add("completion_rate", ftoa(o.CompletionRate))
	add("median_seconds_to_complete", ftoa(o.MedianSecondsToComplete))
	add("p90_seconds_to_complete", ftoa(o.P90SecondsToComplete))
	for _, p := range o.EventsPerMinute {
		rows = append(rows, []string{"events_per_minute", p.T, ftoa(&p.PerMinute), o.Units["events_per_minute"]})
	}
	return rows
}

// Funnel is how far the journeys of one flow that started in a window got,
// step by step.
type Funnel struct {
	Flow              string       `json:"flow"`
	Version           int          `json:"version"` // 0: all versions, steps matched by key
	From              string       `json:"from"`
	To                string       `json:"to"`
	Unit              string       `json:"unit"`
	JourneysStarted   int64        `json:"journeys_started"`
	JourneysCompleted int64        `json:"journeys_completed"`
	Conversion        *float64     `json:"conversion"`
	WithinDays        *int         `json:"within_days"`
	CompletedWithin   *int64       `json:"completed_within"`
	Steps             []FunnelStep `json:"steps"`
}

// FunnelStep is one step of a funnel; its rates are shares of Reached.
type FunnelStep struct {
	Key                    string   `json:"key"`
	Reached                int64    `json:"reached"`
	Started                int64    `json:"started"`
	Completed              int64    `json:"completed"`
	Skipped                int64    `json:"skipped"`
	DropOff                int64    `json:"drop_off"`
	DropOffRate            *float64 `json:"drop_off_rate"`
	InProgress             int64    `json:"in_progress"`
	MedianSeconds          *float64 `json:"median_seconds"`
	P90Seconds             *float64 `json:"p90_seconds"`
	StruggleRate           *float64 `json:"struggle_rate"`
	ConversionFromPrevious *float64 `json:"conversion_from_previous"`
}

// FunnelOf sums the rows of q's flow and version (0: every version) in
// window. Steps come in order (the flow version's), then any other step key
// found in the rows, in key order. withinDays, when set, counts the journeys
// completed within that many days of their start.
func FunnelOf(q so.RollupQuery, window *Tally, order []string, withinDays *int) Funnel {
	j := window.Completions(q.Flow, q.Version)
	f := Funnel{Flow: q.Flow, Version: q.Version, From: so.FormatTime(q.From), To: so.FormatTime(q.To),
		Unit: "journeys", JourneysStarted: j.Started, JourneysCompleted: j.Completed, Conversion: ratio(j.Completed, j.Started),
		Steps: []FunnelStep{}}
	if withinDays != nil {
		days := *withinDays
		n := j.CompleteSeconds.CountAtMost(float64(days) * 86400)
		f.WithinDays, f.CompletedWithin = &days, &n
	}
	steps := window.Steps(q.Flow, q.Version)
	var previous *FunnelStep
	for _, k := range stepOrder(order, steps) {
		s := funnelStep(k, steps[k])
		if previous != nil {
			s.ConversionFromPrevious = ratio(s.Reached, previous.Reached)
		}
		f.Steps = append(f.Steps, s)
		previous = &f.Steps[len(f.Steps)-1]
	}
	return f
}

// stepOrder returns order without repeats, then the other keys of steps sorted.
func stepOrder(order []string, steps map[string]StepCounts) []string {
	var keys []string
	seen := map[string]bool{}
	for _, k := range order {
		if !seen[k] {
			keys, seen[k] = append(keys, k), true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(steps)) {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

// funnelStep derives a step's numbers; a step absent from the rows counts 0.
func funnelStep(key string, c StepCounts) FunnelStep {
	return FunnelStep{Key: key, Reached: c.Reached, Started: c.Started, Completed: c.Completed, Skipped: c.Skipped,
		DropOff: c.Dropped, DropOffRate: ratio(c.Dropped, c.Reached),
		InProgress:    c.Reached - c.Completed - c.Skipped - c.Dropped,
		MedianSeconds: quantile(c.Seconds, 0.5), P90Seconds: quantile(c.Seconds, 0.9),
		StruggleRate: ratio(c.Struggled, c.Reached)}
}

// Table renders the funnel as one row per step.
func (f Funnel) Table() [][]string {
	rows := [][]string{{"key", "reached", "started", "completed", "skipped", "drop_off", "drop_off_rate",
		"in_progress", "median_seconds", "p90_seconds", "struggle_rate", "conversion_from_previous"}}
	for _, s := range f.Steps {
		rows = append(rows, []string{s.Key, itoa(s.Reached), itoa(s.Started), itoa(s.Completed), itoa(s.Skipped),
			itoa(s.DropOff), ftoa(s.DropOffRate), itoa(s.InProgress), ftoa(s.MedianSeconds), ftoa(s.P90Seconds),
			ftoa(s.StruggleRate), ftoa(s.ConversionFromPrevious)})
	}
	return rows
}

// TimeToValue is how long the users of the journeys of a flow that started
// in a window and completed took from their first event to completion.
type TimeToValue struct {
	Flow          string      `json:"flow"`
	From          string      `json:"from"`
	To            string      `json:"to"`
	Unit          string      `json:"unit"`
	Completed     int64       `json:"completed"`
	MedianSeconds *float64    `json:"median_seconds"`
	P90Seconds    *float64    `json:"p90_seconds"`
	Buckets       []TTVBucket `json:"buckets"`
}

// TTVBucket counts the journeys whose time to value is in [From, To).
type TTVBucket struct {
	Label       string `json:"label"`
	FromSeconds int64  `json:"from_seconds"`
	ToSeconds   *int64 `json:"to_seconds"` // nil: no upper bound
	Journeys    int64  `json:"journeys"`
}

// ttvEdges are the bucket edges of time to value, in seconds, and ttvLabels
// the buckets' names (one more than the edges).
var (
	ttvEdges  = []int64{60, 300, 900, 3600, 14400, 86400, 259200, 604800}
	ttvLabels = []string{"< 1 min", "1–5 min", "5–15 min", "15–60 min", "1–4 h", "4–24 h", "1–3 days", "3–7 days", "≥ 7 days"}
)

// TimeToValueOf sums the value times of q's flow ("": every flow) and
// version (0: every version) in window. Completed counts the journeys with a
// value time, so the buckets add up to it.
func TimeToValueOf(q so.RollupQuery, window *Tally) TimeToValue {
	h := window.Journeys(q.Flow, q.Version).ValueSeconds
	edges := make([]float64, len(ttvEdges))
	for i, e := range ttvEdges {
		edges[i] = float64(e)
	}
	counts := h.Buckets(edges)
	v := TimeToValue{Flow: q.Flow, From: so.FormatTime(q.From), To: so.FormatTime(q.To), Unit: "journeys",
		Completed: h.Count(), MedianSeconds: quantile(h, 0.5), P90Seconds: quantile(h, 0.9)}
	for i, label := range ttvLabels {
		b := TTVBucket{Label: label, Journeys: counts[i]}
		if i > 0 {
			b.FromSeconds = ttvEdges[i-1]
		}
		if i < len(ttvEdges) {
			to := ttvEdges[i] // a copy: the caller may change what it points at
			b.ToSeconds = &to
		}
		v.Buckets = append(v.Buckets, b)
	}
	return v
}

// Table renders the buckets, one row each.
func (v TimeToValue) Table() [][]string {
	rows := [][]string{{"label", "from_seconds", "to_seconds", "journeys"}}
	for _, b := range v.Buckets {
		to := ""
		if b.ToSeconds != nil {
			to = itoa(*b.ToSeconds)
		}
		rows = append(rows, []string{b.Label, itoa(b.FromSeconds), to, itoa(b.Journeys)})
	}
	return rows
}

// ratio returns n/d, or nil when d is 0: a share of nothing is unknown, not 0.
func ratio(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// quantile returns h's q-quantile, or nil when h is empty.
func quantile(h *Histogram, q float64) *float64 {
	v, ok := h.Quantile(q)
	if !ok {
		return nil
	}
	return &v
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ftoa renders an optional number, "" for null.
func ftoa(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}
