package analytics

import (
	"cmp"
	"slices"
	"strconv"

	so "github.com/smartonboarding/smartonboard"
)

// Levels counts journeys by engagement level: low below 40, high from 80,
// the earlier system's thresholds, which fall on the buckets' edges.
type Levels struct {
	Low    int64 `json:"low"`
	Medium int64 `json:"medium"`
	High   int64 `json:"high"`
}

// ScoreBucket counts the journeys whose latest score is in [From, To) (the
// last bucket includes 100).
type ScoreBucket struct {
	From     int   `json:"from"`
	To       int   `json:"to"`
	Journeys int64 `json:"journeys"`
}

// StepEngagement is the engagement of the journeys on one step.
type StepEngagement struct {
	Key      string        `json:"key"`
	Journeys int64         `json:"journeys"`
	Levels   Levels        `json:"levels"`
	Buckets  []ScoreBucket `json:"buckets"`
}

// EngagementReport is how engaged the journeys that started in a window are
// now: their latest engagement scores in tens, overall and by the step each
// journey is on (its last step once finished).
type EngagementReport struct {
	Flow     string           `json:"flow"`
	Version  int              `json:"version"`
	From     string           `json:"from"`
	To       string           `json:"to"`
	Unit     string           `json:"unit"`
	Journeys int64            `json:"journeys"` // journeys with a score
	Levels   Levels           `json:"levels"`
	Buckets  []ScoreBucket    `json:"buckets"`
	Steps    []StepEngagement `json:"steps"`
}

// EngagementOf sums the engagement counts of q's flow ("": every flow) and
// version; steps follow order, then other keys found, when q names a flow.
func EngagementOf(q so.RollupQuery, window *Tally, order []string) EngagementReport {
	r := EngagementReport{Flow: q.Flow, Version: q.Version, From: so.FormatTime(q.From), To: so.FormatTime(q.To),
		Unit: "journeys", Steps: []StepEngagement{}}
	steps := window.Steps(q.Flow, q.Version)
	all := Counter{}
	for _, c := range steps {
		all.Merge(c.Engagement)
	}
	r.Journeys, r.Levels, r.Buckets = spread(all)
	if q.Flow == "" {
		return r
	}
	for _, key := range stepOrder(order, steps) {
		s := StepEngagement{Key: key}
		s.Journeys, s.Levels, s.Buckets = spread(steps[key].Engagement)
		r.Steps = append(r.Steps, s)
	}
	return r
}

// spread turns bucket counts into the total, the levels and ten buckets.
func spread(c Counter) (int64, Levels, []ScoreBucket) {
	var total int64
	var lv Levels
	buckets := make([]ScoreBucket, 10)
	for i := range buckets {
		n := c[strconv.Itoa(i)]
		buckets[i] = ScoreBucket{From: i * 10, To: i*10 + 10, Journeys: n}
		total += n
		switch {
		case i < 4:
			lv.Low += n
		case i < 8:
			lv.Medium += n
		default:
			lv.High += n
		}
	}
	return total, lv, buckets
}

// Table renders one row per step (and one for all steps) with the level
// counts and the ten buckets.
func (r EngagementReport) Table() [][]string {
	head := []string{"step", "journeys", "low", "medium", "high"}
	for i := range 10 {
		head = append(head, strconv.Itoa(i*10)+"-"+strconv.Itoa(i*10+10))
	}
	rows := [][]string{head, engagementRow("(all)", r.Journeys, r.Levels, r.Buckets)}
	for _, s := range r.Steps {
		rows = append(rows, engagementRow(s.Key, s.Journeys, s.Levels, s.Buckets))
	}
	return rows
}

func engagementRow(key string, n int64, lv Levels, buckets []ScoreBucket) []string {
	row := []string{key, itoa(n), itoa(lv.Low), itoa(lv.Medium), itoa(lv.High)}
	for _, b := range buckets {
		row = append(row, itoa(b.Journeys))
	}
	return row
}

// HotSpot is one struggle rule on one step: how many journeys it hit.
type HotSpot struct {
	Flow           string   `json:"flow"`
	Step           string   `json:"step"`
	Rule           string   `json:"rule"`
	Journeys       int64    `json:"journeys"`
	ShareOfReached *float64 `json:"share_of_reached"` // of the journeys that reached the step
}

// StepStruggle is how many journeys that reached a step struggled on it.
type StepStruggle struct {
	Flow         string   `json:"flow"`
	Step         string   `json:"step"`
	Reached      int64    `json:"reached"`
	Struggled    int64    `json:"struggled"`
	StruggleRate *float64 `json:"struggle_rate"`
}

// StruggleReport lists where the journeys that started in a window
// struggled: by step, and by step and rule, most journeys first.
type StruggleReport struct {
	Flow            string         `json:"flow"`
	Version         int            `json:"version"`
	From            string         `json:"from"`
	To              string         `json:"to"`
	Unit            string         `json:"unit"`
	JourneysStarted int64          `json:"journeys_started"`
	HotSpots        []HotSpot      `json:"hot_spots"`
	Steps           []StepStruggle `json:"steps"`
}

// StruggleOf sums the step rows of q's flow ("": every flow) and version.
func StruggleOf(q so.RollupQuery, window *Tally) StruggleReport {
	r := StruggleReport{Flow: q.Flow, Version: q.Version, From: so.FormatTime(q.From), To: so.FormatTime(q.To),
		Unit: "journeys", JourneysStarted: window.Journeys(q.Flow, q.Version).Started, HotSpots: []HotSpot{}, Steps: []StepStruggle{}}
	type flowStep struct{ flow, step string }
	sums := map[flowStep]*StepCounts{}
	for k, s := range window.steps {
		if !matches(k.JourneyKey, q.Flow, q.Version) {
			continue
		}
		fs := flowStep{k.Flow, k.Step}
		if sums[fs] == nil {
			sums[fs] = &StepCounts{Seconds: NewHistogram(), Engagement: Counter{}, Rules: Counter{}}
		}
		sums[fs].add(s)
	}
	for fs, c := range sums {
		if c.Struggled > 0 {
			r.Steps = append(r.Steps, StepStruggle{Flow: fs.flow, Step: fs.step, Reached: c.Reached, Struggled: c.Struggled,
				StruggleRate: ratio(c.Struggled, c.Reached)})
		}
		for rule, n := range c.Rules {
			r.HotSpots = append(r.HotSpots, HotSpot{Flow: fs.flow, Step: fs.step, Rule: rule, Journeys: n,
				ShareOfReached: ratio(n, c.Reached)})
		}
	}
	slices.SortFunc(r.Steps, func(a, b StepStruggle) int {
		return cmp.Or(cmp.Compare(b.Struggled, a.Struggled), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Step, b.Step))
	})
	slices.SortFunc(r.HotSpots, func(a, b HotSpot) int {
		return cmp.Or(cmp.Compare(b.Journeys, a.Journeys), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Step, b.Step),
			cmp.Compare(a.Rule, b.Rule))
	})
	return r
}

// Table renders the hot spots, one row each.
func (r StruggleReport) Table() [][]string {
	rows := [][]string{{"flow", "step", "rule", "journeys", "share_of_reached"}}
	for _, h := range r.HotSpots {
		rows = append(rows, []string{h.Flow, h.Step, h.Rule, itoa(h.Journeys), ftoa(h.ShareOfReached)})
	}
	return rows
}
