// Package behaviour is the pure logic of the behaviour engine: it turns one
// user's events, in commit order, into struggle detections, engagement scores
// and due interventions, keeping what it must remember in a bounded State that
// the wiring stores as JSON between batches. It knows no SQL, HTTP, goroutine
// or clock: all time comes from event timestamps, so replaying the same events
// from the same State gives the same output.
//
// # Sessions and attribution
//
// An event's session is its session_id; an event without one continues the
// current session, or starts a synthetic one ("~" and the event's Unix
// milliseconds) when there is none or the last event is at least
// so.SessionGap old. An event without a flow (click, hesitation, error,
// rage_click, idle, help_opened...) is attributed to the user's current step:
// the last step_viewed, step_started or step_back not yet completed or
// skipped (CurrentFlow names its flow). An event with a flow but no step gets
// the current step when it is in that flow.
//
// # Struggle rules
//
// Counters are kept per (session, flow, step) and dropped when the step is
// completed or skipped; a step's start is its first step_viewed or
// step_started in the session. Each rule fires at most once per (user, flow,
// step, session, rule), and only for a step of the Journey passed in:
//
//   - hesitation: a hesitation whose properties.duration_ms ≥ HesitationSeconds·1000
//     (a hesitation without a valid duration_ms counts as 5000 ms);
//   - stuck: an event on the step at or after start + StuckSeconds (but
//     session_ended and intervention outcomes, which are not work on the
//     step), when the step has had a hesitation or ≥ RepeatedClicks clicks
//     since its start;
//   - repeated_errors: the ErrorsPerStep-th error on the step;
//   - repeated_step_back: the StepBacks-th step_back on the step;
//   - rage_click: a rage_click on the step.
//
// Evidence lists keep at most 10 (stuck signals) or 20 (errors, step backs)
// ids, dropping the oldest.
//
// # Engagement
//
// Engagement is kept per journey and per session as counters that decay
// exponentially with a half-life of 5 minutes of event time (the clock is the
// latest event time seen, so a late event never runs time backwards; it is
// added with the weight it would have now):
//
//	E  activity events: every event but idle, session_ended and intervention_shown
//	V  step completions, each worth min(1, EstimatedSeconds / seconds since the
//	   step's start), or 1 when the step has no estimate or no start
//	H  help_opened events
//	R  errors            S  hesitations      Q  rage clicks
//	B  step_back events  I  idle events, and gaps of more than 60 s between two
//	   events of a session when neither is an idle event
//
//	raw   = 50 + 20·min(1, E/20) + 20·min(1, V) + 5·min(1, H)
//	           − 8·R − 5·S − 10·Q − 6·B − 6·I
//	score = clamp(raw, 0, 100) · 2^(−a / 10 min)
//
// where a is the time from the last activity event to the moment of the score
// (0 at an activity event; EngagementAt applies it at read time). Levels are
// so.EngagementLevel of the score. A score is reported as Moved when it is a
// journey's first, or differs by at least 1 point or in level from the last
// one reported as Moved.
//
// # Low-success prediction
//
// When the project has an active success-prediction model (package
// predict), the Consumer's Predict gives the chance of finishing the journey
// from its events up to the triggering one (so.PredictorModel). Without one,
// the heuristic predictor (so.PredictorHeuristic) estimates it as
// p = 0.2 + 0.6·engagement/100 + 0.2·Completed/len(Steps).
// Either is evaluated once per (journey, step, session), at the first event
// on the step (of the kinds that can fire stuck) at least
// max(EstimatedSeconds, 30) s after the step's start, and triggers when
// p < SuccessThreshold.
package behaviour
