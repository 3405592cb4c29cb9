package behaviour

import (
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// minPredictWait is the least time on a step before predicting its success.
const minPredictWait = 30 * time.Second

// Success is the heuristic predictor's chance that the user finishes the
// journey, from engagement (0–100) and the share of steps done.
func Success(engagement float64, completed, steps int) float64 {
	progress := 0.0
	if steps > 0 {
		progress = min(1, float64(completed)/float64(steps))
	}
	return 0.2 + 0.6*engagement/100 + 0.2*progress
}

// lowSuccess evaluates the predictor (the model when the state has one, else
// the heuristic) once per (journey, step, session), when the step has been
// in progress long enough, and returns a trigger when low.
func (s *State) lowSuccess(x *input, sc *Scores) *Trigger {
	if sc == nil || x.info == nil || !working(x.ev.Type) || x.ev.Type == so.EventStepCompleted || x.ev.Type == so.EventStepSkipped {
		return nil
	}
	c := s.find(x.session, x.flow, x.step)
	wait := max(time.Duration(x.info.EstimatedSeconds)*time.Second, minPredictWait)
	if c == nil || c.StartAt.IsZero() || x.ev.Timestamp.Sub(c.StartAt) < wait {
		return nil
	}
	key := hashID(so.TriggerLowSuccess, x.j.ID, x.step, x.session)
	if s.done(key) {
		return nil
	}
	s.markDone(key)
	p, predictor := Success(sc.Journey, x.j.Completed, len(x.j.Steps)), so.PredictorHeuristic
	if s.score != nil {
		if q, ok := s.score(x.j.ID, x.ev.Timestamp); ok {
			p, predictor = q, so.PredictorModel
		}
	}
	if p >= x.cfg.SuccessThreshold {
		return nil
	}
	return &Trigger{Source: so.TriggerLowSuccess, Predictor: predictor, Score: &p, JourneyID: x.j.ID,
		Flow: x.flow, Step: x.step, SessionID: x.session, At: x.ev.Timestamp}
}

// find returns a step's counters in the session without touching them.
func (s *State) find(session, flow, step string) *StepCounters {
	for i := range s.Steps {
		if c := &s.Steps[i]; c.Session == session && c.Flow == flow && c.Step == step {
			return c
		}
	}
	return nil
}
