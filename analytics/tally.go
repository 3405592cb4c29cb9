package analytics

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// ActivityKey names one activity row.
type ActivityKey struct {
	ProjectID string
	Unit      so.RollupUnit
	Start     time.Time // UTC
}

// JourneyKey names one journey row: a flow version's cohort of one hour.
type JourneyKey struct {
	ProjectID string
	Hour      time.Time // UTC
	Flow      string
	Version   int
}

// StepKey names one step row.
type StepKey struct {
	JourneyKey
	Step string
}

// ActivityCounts is one activity row decoded, or a sum of them.
type ActivityCounts struct {
	Events    int64
	Users     *Users
	Abandoned int64
}

// JourneyCounts is one journey row decoded, or a sum of them.
type JourneyCounts struct {
	Started, Completed, Abandoned int64
	CompleteSeconds, ValueSeconds *Histogram
}

// StepCounts is one step row decoded, or a sum of them.
type StepCounts struct {
	Reached, Started, Completed, Skipped, Dropped, Struggled int64
	Seconds                                                  *Histogram
	Engagement                                               Counter // journeys on the step by engagement bucket ("0" … "9")
	Rules                                                    Counter // journeys by struggle rule detected on the step
}

// Tally holds rollup rows decoded, so deltas can be added to them and
// reports summed from them; it is keyed like the stored rows. It is not safe
// for concurrent use.
type Tally struct {
	activity    map[ActivityKey]*ActivityCounts
	journeys    map[JourneyKey]*JourneyCounts
	journeyDays map[JourneyKey]*JourneyCounts // keyed by the UTC day's start
	steps       map[StepKey]*StepCounts
}

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{activity: map[ActivityKey]*ActivityCounts{}, journeys: map[JourneyKey]*JourneyCounts{},
		journeyDays: map[JourneyKey]*JourneyCounts{}, steps: map[StepKey]*StepCounts{}}
}

func (t *Tally) activityRow(k ActivityKey) *ActivityCounts {
	k.Start = k.Start.UTC()
	r := t.activity[k]
	if r == nil {
		r = &ActivityCounts{Users: NewUsers()}
		t.activity[k] = r
	}
	return r
}

func (t *Tally) journeyRow(k JourneyKey) *JourneyCounts { return journeyIn(t.journeys, k) }

func (t *Tally) journeyDayRow(k JourneyKey) *JourneyCounts { return journeyIn(t.journeyDays, k) }

// journeyIn returns the row of k in m, adding an empty one.
func journeyIn(m map[JourneyKey]*JourneyCounts, k JourneyKey) *JourneyCounts {
	k.Hour = k.Hour.UTC()
	r := m[k]
	if r == nil {
		r = &JourneyCounts{CompleteSeconds: NewHistogram(), ValueSeconds: NewHistogram()}
		m[k] = r
	}
	return r
}

func (t *Tally) stepRow(k StepKey) *StepCounts {
	k.Hour = k.Hour.UTC()
	r := t.steps[k]
	if r == nil {
		r = &StepCounts{Seconds: NewHistogram(), Engagement: Counter{}, Rules: Counter{}}
		t.steps[k] = r
	}
	return r
}

// Load adds stored rows into the tally. On an error (a corrupt sketch or
// histogram) the tally holds part of the rows and should be dropped.
func (t *Tally) Load(rows *so.Rollups) error {
	for _, a := range rows.Activity {
		users, err := DecodeUsers(a.Users)
		if err != nil {
			return fmt.Errorf("activity %s %s %s: %w", a.ProjectID, a.Unit, so.FormatTime(a.Start), err)
		}
		k := ActivityKey{a.ProjectID, a.Unit, a.Start.UTC()}
		if _, ok := t.activity[k]; !ok { // the first row of its key: adopt it (merging into an empty sketch converts it)
			t.activity[k] = &ActivityCounts{a.Events, users, a.Abandoned}
			continue
		}
		if err := t.addActivity(k, &ActivityCounts{a.Events, users, a.Abandoned}); err != nil {
			return err
		}
	}
	if err := loadJourneys(t.journeys, rows.Journeys); err != nil {
		return err
	}
	if err := loadJourneys(t.journeyDays, rows.JourneyDays); err != nil {
		return fmt.Errorf("day %w", err)
	}
	for _, s := range rows.Steps {
		k := StepKey{JourneyKey{s.ProjectID, s.Hour.UTC(), s.Flow, s.Version}, s.Step}
		c, err := decodeStep(&s)
		if err != nil {
			return fmt.Errorf("step %s: %w", k, err)
		}
		if r, ok := t.steps[k]; ok {
			r.add(c)
		} else {
			t.steps[k] = c
		}
	}
	return nil
}

// loadJourneys adds journey rows into m.
func loadJourneys(m map[JourneyKey]*JourneyCounts, rows []so.JourneyRollup) error {
	for _, j := range rows {
		k := JourneyKey{j.ProjectID, j.Hour.UTC(), j.Flow, j.Version}
		c, err := decodeJourney(&j)
		if err != nil {
			return fmt.Errorf("journeys %s: %w", k, err)
		}
		if r, ok := m[k]; ok {
			r.add(c)
		} else {
			m[k] = c // adopted, as activity rows are: copying into an empty row is work for nothing
		}
	}
	return nil
}

// decodeJourney decodes a journey row's histograms.
func decodeJourney(j *so.JourneyRollup) (*JourneyCounts, error) {
	complete, err := DecodeHistogram(j.CompleteSeconds)
	if err != nil {
		return nil, fmt.Errorf("complete seconds: %w", err)
	}
	value, err := DecodeHistogram(j.ValueSeconds)
	if err != nil {
		return nil, fmt.Errorf("value seconds: %w", err)
	}
	return &JourneyCounts{j.Started, j.Completed, j.Abandoned, complete, value}, nil
}

// decodeStep decodes a step row's histogram and counters.
func decodeStep(s *so.StepRollup) (*StepCounts, error) {
	seconds, err := DecodeHistogram(s.Seconds)
	if err != nil {
		return nil, err
	}
	engagement, err := DecodeCounter(s.Engagement)
	if err != nil {
		return nil, fmt.Errorf("engagement: %w", err)
	}
	rules, err := DecodeCounter(s.Rules)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return &StepCounts{s.Reached, s.Started, s.Completed, s.Skipped, s.Dropped, s.Struggled, seconds, engagement, rules}, nil
}

// String names a journey row in errors.
func (k JourneyKey) String() string {
	return fmt.Sprintf("%s %s %s v%d", k.ProjectID, so.FormatTime(k.Hour), k.Flow, k.Version)
}

// String names a step row in errors.
func (k StepKey) String() string { return k.JourneyKey.String() + " " + k.Step }

// Add adds o's rows into t: counters and histograms summed, users united.
func (t *Tally) Add(o *Tally) error {
	for k, a := range o.activity {
		if err := t.addActivity(k, a); err != nil {
			return err
		}
	}
	for k, j := range o.journeys {
		t.journeyRow(k).add(j)
	}
	for k, j := range o.journeyDays {
		t.journeyDayRow(k).add(j)
	}
	for k, s := range o.steps {
		t.stepRow(k).add(s)
	}
	return nil
}

func (t *Tally) addActivity(k ActivityKey, a *ActivityCounts) error {
	r := t.activityRow(k)
	r.Events += a.Events
	r.Abandoned += a.Abandoned
	if err := r.Users.Merge(a.Users); err != nil {
		return fmt.Errorf("activity %s %s %s: %w", k.ProjectID, k.Unit, so.FormatTime(k.Start), err)
	}
	return nil
}

// add sums o into c.
func (c *JourneyCounts) add(o *JourneyCounts) {
	c.Started += o.Started
	c.Completed += o.Completed
	c.Abandoned += o.Abandoned
	c.CompleteSeconds.Merge(o.CompleteSeconds)
	if c.ValueSeconds != nil {
		c.ValueSeconds.Merge(o.ValueSeconds)
	}
}

// add sums o into c.
func (c *StepCounts) add(o *StepCounts) {
	c.Reached += o.Reached
	c.Started += o.Started
	c.Completed += o.Completed
	c.Skipped += o.Skipped
	c.Dropped += o.Dropped
	c.Struggled += o.Struggled
	c.Seconds.Merge(o.Seconds)
	c.Engagement.Merge(o.Engagement)
	c.Rules.Merge(o.Rules)
}

// Day is the span of a day row: UTC days, which time.Truncate keeps to.
const Day = 24 * time.Hour

// Event counts one event in its hour's and its UTC day's rows, and in its
// minute's row too when it happened at or after minutesFrom: minutes are
// kept for recent events only.
func (t *Tally) Event(ev *so.Event, minutesFrom time.Time) {
	at := ev.Timestamp.UTC()
	hour, day := ActivityKey{ev.ProjectID, so.UnitHour, at.Truncate(time.Hour)}, ActivityKey{ev.ProjectID, so.UnitDay, at.Truncate(Day)}
	if ev.Type == so.EventJourneyAbandoned {
		t.activityRow(hour).Abandoned++
		t.activityRow(day).Abandoned++
		return
	}
	if so.ServerEvent(ev.Type) {
		return // the server's own events are not activity
	}
	user := UserHash(ev.UserID) // hashed once for the three rows
	t.count(hour, user)
	t.count(day, user)
	if !at.Before(minutesFrom) {
		t.count(ActivityKey{ev.ProjectID, so.UnitMinute, at.Truncate(time.Minute)}, user)
	}
}

func (t *Tally) count(k ActivityKey, user uint64) {
	r := t.activityRow(k)
	r.Events++
	r.Users.AddHash(user)
}

// Replace takes old's contribution out of the rows and puts new's in (either
// may be nil: none), so a journey counts once, as its latest fact says.
// Replace(f, f) changes no count, though it leaves f's rows in the tally.
func (t *Tally) Replace(old, new *so.JourneyFact) {
	t.contribute(old, -1)
	t.contribute(new, +1)
}

// contribute adds a fact's counts times sign: its journey row counts the
// journey started, completed or abandoned and its times; each step's row
// counts what the step fact says.
func (t *Tally) contribute(f *so.JourneyFact, sign int64) {
	if f == nil {
		return
	}
	jk := JourneyKey{f.ProjectID, f.StartHour.UTC().Truncate(time.Hour), f.Flow, f.Version}
	t.journeyRow(jk).count(f, sign)
	t.journeyDayRow(JourneyKey{f.ProjectID, jk.Hour.Truncate(Day), f.Flow, f.Version}).count(f, sign)
	for _, sf := range f.Steps {
		s := t.stepRow(StepKey{jk, sf.Key})
		s.Reached += sign * one(sf.Reached)
		s.Started += sign * one(sf.Started)
		s.Completed += sign * one(sf.Completed)
		s.Skipped += sign * one(sf.Skipped)
		s.Dropped += sign * one(sf.Dropped)
		s.Struggled += sign * one(sf.Struggled)
		addOptional(s.Seconds, sf.Seconds, sign)
		for _, rule := range sf.Rules {
			s.Rules.Add(rule, sign)
		}
	}
	if f.EngagementBucket != nil {
		t.stepRow(StepKey{jk, f.Step}).Engagement.Add(strconv.Itoa(*f.EngagementBucket), sign)
	}
}

// count adds a fact's journey counts and times times sign.
func (j *JourneyCounts) count(f *so.JourneyFact, sign int64) {
	j.Started += sign
	j.Completed += sign * one(f.Status == so.JourneyCompleted)
	j.Abandoned += sign * one(f.Status == so.JourneyAbandoned)
	addOptional(j.CompleteSeconds, f.CompleteSeconds, sign)
	addOptional(j.ValueSeconds, f.ValueSeconds, sign)
}

// one counts a condition.
func one(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// addOptional counts a value that may be unset.
func addOptional(h *Histogram, v *float64, n int64) {
	if v != nil {
		h.Add(*v, n)
	}
}

// Keys returns the tally's rows with their keys only, to load the stored
// rows of those keys, in the order of Rows.
func (t *Tally) Keys() *so.Rollups {
	out := &so.Rollups{}
	for _, k := range t.activityKeys() {
		out.Activity = append(out.Activity, so.ActivityRollup{ProjectID: k.ProjectID, Unit: k.Unit, Start: k.Start})
	}
	out.Journeys, out.JourneyDays = journeyKeys(t.journeys), journeyKeys(t.journeyDays)
	for _, k := range t.stepKeys() {
		out.Steps = append(out.Steps, so.StepRollup{ProjectID: k.ProjectID, Hour: k.Hour, Flow: k.Flow,
			Version: k.Version, Step: k.Step})
	}
	return out
}

// Rows returns the tally's rows encoded, sorted by project, unit, start (or
// hour), flow, version and step, so writes take row locks in one order.
func (t *Tally) Rows() (*so.Rollups, error) {
	out := t.Keys()
	for i := range out.Activity {
		a := &out.Activity[i]
		r := t.activity[ActivityKey{a.ProjectID, a.Unit, a.Start}]
		users, err := r.Users.Encode()
		if err != nil {
			return nil, fmt.Errorf("activity %s %s %s: %w", a.ProjectID, a.Unit, so.FormatTime(a.Start), err)
		}
		a.Events, a.Users, a.Abandoned = r.Events, users, r.Abandoned
	}
	encodeJourneys(t.journeys, out.Journeys)
	encodeJourneys(t.journeyDays, out.JourneyDays)
	for i := range out.Steps {
		s := &out.Steps[i]
		r := t.steps[StepKey{JourneyKey{s.ProjectID, s.Hour, s.Flow, s.Version}, s.Step}]
		s.Reached, s.Started, s.Completed, s.Skipped, s.Dropped, s.Struggled =
			r.Reached, r.Started, r.Completed, r.Skipped, r.Dropped, r.Struggled
		s.Seconds, s.Engagement, s.Rules = r.Seconds.Encode(), r.Engagement.Encode(), r.Rules.Encode()
	}
	return out, nil
}

func (t *Tally) activityKeys() []ActivityKey {
	return slices.SortedFunc(maps.Keys(t.activity), func(a, b ActivityKey) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.Unit, b.Unit), a.Start.Compare(b.Start))
	})
}

// journeyKeys returns the keys of m's rows, sorted, as rows without counts.
func journeyKeys(m map[JourneyKey]*JourneyCounts) []so.JourneyRollup {
	var out []so.JourneyRollup
	for _, k := range slices.SortedFunc(maps.Keys(m), compareJourneyKeys) {
		out = append(out, so.JourneyRollup{ProjectID: k.ProjectID, Hour: k.Hour, Flow: k.Flow, Version: k.Version})
	}
	return out
}

// encodeJourneys fills the rows Keys listed with m's counts, encoded.
func encodeJourneys(m map[JourneyKey]*JourneyCounts, rows []so.JourneyRollup) {
	for i := range rows {
		j := &rows[i]
		r := m[JourneyKey{j.ProjectID, j.Hour, j.Flow, j.Version}]
		j.Started, j.Completed, j.Abandoned = r.Started, r.Completed, r.Abandoned
		j.CompleteSeconds, j.ValueSeconds = r.CompleteSeconds.Encode(), r.ValueSeconds.Encode()
	}
}

func (t *Tally) stepKeys() []StepKey {
	return slices.SortedFunc(maps.Keys(t.steps), func(a, b StepKey) int {
		return cmp.Or(compareJourneyKeys(a.JourneyKey, b.JourneyKey), cmp.Compare(a.Step, b.Step))
	})
}

func compareJourneyKeys(a, b JourneyKey) int {
	return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), a.Hour.Compare(b.Hour), cmp.Compare(a.Flow, b.Flow),
		cmp.Compare(a.Version, b.Version))
}

// Events returns the events of the tally's activity rows of one unit.
func (t *Tally) Events(unit so.RollupUnit) int64 {
	var n int64
	for k, a := range t.activity {
		if k.Unit == unit {
			n += a.Events
		}
	}
	return n
}

// Users returns the union of the users of the tally's activity rows of the
// units given (callers pick rows that do not overlap, or count users once
// anyway: a union counts each once). When the rows hold denseFrom users or
// more in all, the union is gathered in a dense sketch: merging many sparse
// lists into one costs far more, and is only exact below that size anyway.
func (t *Tally) Users(units ...so.RollupUnit) *Users {
	var rows []*Users
	var sum int64
	dense := false
	for k, a := range t.activity {
		if slices.Contains(units, k.Unit) {
			rows = append(rows, a.Users)
			if dense = dense || a.Users.dense; !dense {
				sum += a.Users.Estimate() // a sparse list's estimate is its length's: cheap
			}
		}
	}
	u := NewUsers()
	if dense || sum >= denseFrom {
		u = newDenseUsers()
	}
	for _, r := range rows {
		_ = u.Merge(r) // every Users has the same precision: Merge cannot fail
	}
	return u
}

// Journeys sums the journey rows of a flow ("": every flow) and version (0:
// every version).
func (t *Tally) Journeys(flow string, version int) JourneyCounts {
	return t.sumJourneys(flow, version, NewHistogram())
}

// Completions is Journeys without the time-to-value histogram (nil), which
// the overview does not show and which would double its work.
func (t *Tally) Completions(flow string, version int) JourneyCounts {
	return t.sumJourneys(flow, version, nil)
}

// sumJourneys sums journey rows; times to value only into a non-nil value.
func (t *Tally) sumJourneys(flow string, version int, value *Histogram) JourneyCounts {
	sum := JourneyCounts{CompleteSeconds: NewHistogram(), ValueSeconds: value}
	for k, j := range t.journeys {
		if matches(k, flow, version) {
			sum.add(j)
		}
	}
	return sum
}

// Steps sums the step rows of a flow ("": every flow) and version (0: every
// version) by step key.
func (t *Tally) Steps(flow string, version int) map[string]StepCounts {
	sums := map[string]StepCounts{}
	for k, s := range t.steps {
		if matches(k.JourneyKey, flow, version) {
			sum, ok := sums[k.Step]
			if !ok {
				sum.Seconds, sum.Engagement, sum.Rules = NewHistogram(), Counter{}, Counter{}
			}
			sum.add(s)
			sums[k.Step] = sum
		}
	}
	return sums
}

// matches tells whether a row is of the flow and version asked for.
func matches(k JourneyKey, flow string, version int) bool {
	return (flow == "" || k.Flow == flow) && (version == 0 || k.Version == version)
}
