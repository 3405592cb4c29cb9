package analytics

import (
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// FactOf reduces a journey's current state to what the reports count, so
// that rollups are sums of facts and a fact can be replaced by the next one.
//
// The fact copies the journey's project, id, user, flow key, version,
// revision and status; StartHour, the cohort it counts in, is the UTC hour it
// started (the server's clock: when its first event arrived). Durations use
// the client's clock, like CompletedAt and the steps' times: once completed
// (status completed and CompletedAt set), CompleteSeconds is CompletedAt −
// the journey's first step start (StartedAt when no step started) and
// ValueSeconds is CompletedAt − the earlier of firstSeen (the user's first
// event; zero: none known) and that start, both at least 0.
//
// There is one StepFact per step of v, in v's order (v nil: the journey's
// own steps). For a step whose state s is missing (taken as pending):
// Completed and Skipped are s's status; Started is s.StartedAt set, status
// in progress, or Completed; Reached is Started, Completed, Skipped or the
// journey's current step; Dropped is an abandoned journey's step that was
// Reached and neither Completed nor Skipped; Struggled is the key being in
// struggled; Seconds is s's time spent, once Completed. So every reached step
// is exactly one of completed, skipped, dropped or in progress.
func FactOf(j *so.Journey, v *so.FlowVersion, struggles map[string][]string, engagement *float64, firstSeen time.Time) *so.JourneyFact {
	f := &so.JourneyFact{ProjectID: j.ProjectID, JourneyID: j.ID, UserID: j.UserID, Flow: j.FlowKey,
		Version: j.FlowVersion, Revision: j.Revision, StartHour: j.StartedAt.UTC().Truncate(time.Hour),
		Status: j.Status, Steps: []so.StepFact{}}
	if j.Status == so.JourneyCompleted && j.CompletedAt != nil {
		start := firstStepStart(j)
		from := start
		if !firstSeen.IsZero() && firstSeen.Before(from) {
			from = firstSeen
		}
		f.CompleteSeconds = secondsBetween(start, *j.CompletedAt)
		f.ValueSeconds = secondsBetween(from, *j.CompletedAt)
	}
	keys := stepKeys(j, v)
	for _, k := range keys {
		f.Steps = append(f.Steps, stepFact(j, k, struggles[k]))
	}
	f.Step = j.CurrentStep
	if f.Step == "" && len(keys) > 0 {
		f.Step = keys[len(keys)-1]
	}
	if engagement != nil {
		b := min(max(int(*engagement/10), 0), 9)
		f.EngagementBucket = &b
	}
	return f
}

// firstStepStart is when the journey's earliest started step started (the
// client's clock), or StartedAt when none has.
func firstStepStart(j *so.Journey) time.Time {
	var first time.Time
	for _, s := range j.Steps {
		if s.StartedAt != nil && (first.IsZero() || s.StartedAt.Before(first)) {
			first = *s.StartedAt
		}
	}
	if first.IsZero() {
		return j.StartedAt
	}
	return first
}

// stepKeys lists the steps a fact has: the version's, else the journey's.
func stepKeys(j *so.Journey, v *so.FlowVersion) []string {
	var keys []string
	if v != nil {
		for _, s := range v.Steps {
			keys = append(keys, s.Key)
		}
		return keys
	}
	for _, s := range j.Steps {
		keys = append(keys, s.Key)
	}
	return keys
}

// stepFact applies FactOf's step rules to one step.
func stepFact(j *so.Journey, key string, rules []string) so.StepFact {
	s := j.Step(key)
	if s == nil {
		s = &so.StepState{Key: key, Status: so.StepPending}
	}
	f := so.StepFact{Key: key, Completed: s.Status == so.StepCompleted, Skipped: s.Status == so.StepSkipped,
		Struggled: len(rules) > 0, Rules: slices.Clone(rules)}
	f.Started = s.StartedAt != nil || s.Status == so.StepInProgress || f.Completed
	f.Reached = f.Started || f.Completed || f.Skipped || j.CurrentStep == key
	f.Dropped = j.Status == so.JourneyAbandoned && f.Reached && !f.Completed && !f.Skipped
	if f.Completed {
		sec := float64(s.TimeSpentMS) / 1000
		f.Seconds = &sec
	}
	return f
}

// secondsBetween returns to − from in seconds, never negative.
func secondsBetween(from, to time.Time) *float64 {
	s := max(to.Sub(from).Seconds(), 0)
	return &s
}
