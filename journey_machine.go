package smartonboard

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// SessionGap is the silence after which the next event starts a new session.
const SessionGap = 30 * time.Minute

// DefaultAbandonAfter is how long a journey may be idle before it is abandoned.
const DefaultAbandonAfter = 7 * 24 * time.Hour

// Notice codes tell a client how an accepted event bore on its journey.
const (
	NoticeOutOfOrder       = "out_of_order"
	NoticeUnknownStep      = "unknown_step"
	NoticeRequiredStep     = "required_step"
	NoticeJourneyCompleted = "journey_completed"
)

// Notice is a remark on an accepted event: stored as behaviour, but it did not move
// the journey the way its type suggests.
type Notice struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Apply moves the journey by one event and reports whether it changed and any
// notice. It is the whole journey state machine: pure, so the stores only persist.
func (j *Journey) Apply(v *FlowVersion, e *Event) (bool, *Notice) {
	if j.Status == JourneyCompleted {
		if e.Flow == j.FlowKey && isStepEvent(e.Type) {
			return false, &Notice{NoticeJourneyCompleted, "the journey is completed; the event is kept but does not reopen it"}
		}
		return false, nil
	}
	before := j.snapshot()
	j.touch(e)
	notice := j.applyStep(v, e)
	j.CurrentStep = j.firstUnfinished(v)
	if e.Type == EventStepBack && e.Flow == j.FlowKey && j.Step(e.Step) != nil {
		j.CurrentStep = e.Step
	}
	j.completeIfDone(v, e.Timestamp)
	if reflect.DeepEqual(before, j.snapshot()) {
		return false, notice
	}
	j.UpdatedAt = e.ReceivedAt
	j.Revision++
	return true, notice
}

// snapshot copies the journey deeply enough to tell later whether Apply changed
// it: Apply replaces time pointers rather than writing through them.
func (j *Journey) snapshot() Journey {
	c := *j
	c.Steps = slices.Clone(j.Steps)
	return c
}

// touch counts sessions and returns, and resumes a paused or abandoned journey.
func (j *Journey) touch(e *Event) {
	if e.Timestamp.Sub(j.LastEventAt) >= SessionGap {
		j.Sessions++
		j.Returning = true
	}
	if e.Timestamp.After(j.LastEventAt) {
		j.LastEventAt = e.Timestamp
	}
	if active := e.ActiveAt(); active.After(j.LastActivityAt) {
		j.LastActivityAt = active
	}
	switch {
	case e.Type == EventSessionEnded && j.Status == JourneyActive:
		j.Status = JourneyPaused
	case e.Type != EventSessionEnded && (j.Status == JourneyPaused || j.Status == JourneyAbandoned):
		j.Status = JourneyActive
	}
}

func isStepEvent(t EventType) bool {
	switch t {
	case EventStepViewed, EventStepStarted, EventStepCompleted, EventStepSkipped, EventStepBack:
		return true
	}
	return false
}

// applyStep applies the step-specific part of an event for this journey's flow.
func (j *Journey) applyStep(v *FlowVersion, e *Event) *Notice {
	if e.Flow != j.FlowKey || e.Step == "" {
		return nil
	}
	step, st := v.Step(e.Step), j.Step(e.Step)
	if step == nil || st == nil {
		return &Notice{NoticeUnknownStep, "flow version " + strconv.Itoa(v.Version) + " has no step " + e.Step}
	}
	switch e.Type {
	case EventStepStarted:
		st.Attempts++
		if st.Status == StepPending {
			st.Status, st.StartedAt = StepInProgress, ptr(e.Timestamp)
		}
	case EventStepCompleted:
		return j.completeStep(step, st, e)
	case EventStepSkipped:
		if step.Required {
			return &Notice{NoticeRequiredStep, "step " + e.Step + " is required and cannot be skipped"}
		}
		if !j.PrerequisitesMet(step) { // a skip counts as done: it must not jump the order
			st.OutOfOrder++
			return &Notice{NoticeOutOfOrder, "step " + e.Step + " cannot be skipped before its prerequisites"}
		}
		if !st.done() {
			st.Status, st.CompletedAt = StepSkipped, ptr(e.Timestamp)
		}
	case EventStepBack:
		st.Backtracks++
	case EventError:
		st.Errors++
	}
	return nil
}

func (j *Journey) completeStep(step *Step, st *StepState, e *Event) *Notice {
	if !j.PrerequisitesMet(step) {
		st.OutOfOrder++
		return &Notice{NoticeOutOfOrder, "step " + e.Step + " cannot be completed before its prerequisites"}
	}
	if st.done() {
		return nil
	}
	if ms, ok := durationMS(e.Properties); ok {
		st.TimeSpentMS += ms
	} else if st.StartedAt != nil && e.Timestamp.After(*st.StartedAt) {
		st.TimeSpentMS += e.Timestamp.Sub(*st.StartedAt).Milliseconds()
	}
	if st.StartedAt == nil {
		st.StartedAt = ptr(e.Timestamp)
		st.Attempts++
	}
	st.Status, st.CompletedAt = StepCompleted, ptr(e.Timestamp)
	return nil
}

// completeIfDone completes the journey once every required step is completed (or,
// in a flow with no required step, once every step is completed or skipped).
func (j *Journey) completeIfDone(v *FlowVersion, at time.Time) {
	required := anyRequiredIn(v)
	for _, s := range v.Steps {
		st := j.Step(s.Key)
		if (s.Required && st.Status != StepCompleted) || (!required && !st.done()) {
			return
		}
	}
	j.Status, j.CompletedAt, j.CurrentStep = JourneyCompleted, ptr(at), ""
}

func anyRequiredIn(v *FlowVersion) bool {
	for _, s := range v.Steps {
		if s.Required {
			return true
		}
	}
	return false
}

func durationMS(props json.RawMessage) (int64, bool) {
	var p struct {
		DurationMS *float64 `json:"duration_ms"`
	}
	if json.Unmarshal(props, &p) != nil || p.DurationMS == nil || *p.DurationMS < 0 || *p.DurationMS > float64(MaxEstimateSeconds)*1000 {
		return 0, false
	}
	return int64(*p.DurationMS), true
}

func ptr[T any](v T) *T { return &v }
