package predict

import (
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// History is what the feature builder may know of one journey: the flow's
// steps, the user's traits and the user's events from the journey's start,
// in time order. Events after a cut-off may be present; Features ignores them.
type History struct {
	JourneyID string
	UserID    string
	Flow      string
	Steps     []so.Step
	Traits    map[string]string
	Events    []so.Event
	// Completed and CompletedAt say how the journey ended, when it has.
	Completed   bool
	CompletedAt time.Time
}

// Start is the journey's start on the event clock: its first event that
// names the flow (a journey begins with its first step event), or the first
// event at all.
func (h *History) Start() time.Time {
	for i := range h.Events {
		if h.Events[i].Flow == h.Flow {
			return h.Events[i].Timestamp
		}
	}
	if len(h.Events) > 0 {
		return h.Events[0].Timestamp
	}
	return time.Time{}
}

// LastEvent is the time of the journey's last event.
func (h *History) LastEvent() time.Time {
	if len(h.Events) == 0 {
		return time.Time{}
	}
	return h.Events[len(h.Events)-1].Timestamp
}

// Settled tells whether the journey's outcome is known at now: completed, or
// idle (on the event clock) for longer than the abandonment window, so that
// history imported today is labelled by when it happened.
func (h *History) Settled(now time.Time, abandonAfter time.Duration) bool {
	return h.Completed || (len(h.Events) > 0 && now.Sub(h.LastEvent()) > abandonAfter)
}

// end is the last moment a prediction about the journey makes sense: its
// completion, or the end of the abandonment window after its last event.
func (h *History) end(abandonAfter time.Duration) time.Time {
	if h.Completed {
		return h.CompletedAt
	}
	return h.LastEvent().Add(abandonAfter)
}
