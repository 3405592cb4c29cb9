package behaviour

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Evidence caps: enough to show why a rule fired without growing the State.
const (
	maxSignals  = 10 // hesitation and click ids behind a stuck detection
	maxEvidence = 20 // error and step_back ids
)

// defaultHesitationMS is the length of a hesitation whose event gives none.
const defaultHesitationMS = 5000

// DetectionID derives a detection's id from what it is about, so reprocessing
// yields the same id; it is a UUID (version 8) made of a SHA-256.
func DetectionID(projectID, userID, flow, step, sessionID string, rule so.StruggleRule) string {
	return hashID(projectID, userID, flow, step, sessionID, string(rule))
}

// hashID formats the SHA-256 of the NUL-joined parts as a version 8 UUID.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// counters returns the step's counters in the session, creating them, and
// marks them most recently used.
func (s *State) counters(session, flow, step string) *StepCounters {
	i := slices.IndexFunc(s.Steps, func(c StepCounters) bool {
		return c.Session == session && c.Flow == flow && c.Step == step
	})
	c := StepCounters{Session: session, Flow: flow, Step: step}
	if i >= 0 {
		c = s.Steps[i]
		s.Steps = slices.Delete(s.Steps, i, i+1)
	}
	s.Steps = pushCapped(s.Steps, c, maxStepCounters)
	return &s.Steps[len(s.Steps)-1]
}

// dropCounters forgets a step's counters in the session once it is done.
func (s *State) dropCounters(session, flow, step string) {
	s.Steps = slices.DeleteFunc(s.Steps, func(c StepCounters) bool {
		return c.Session == session && c.Flow == flow && c.Step == step
	})
}

// stepRules counts the event on its step and returns the detections it fires.
func (s *State) stepRules(x *input) []*so.Detection {
	if x.step == "" {
		return nil
	}
	c := s.counters(x.session, x.flow, x.step)
	if x.ev.Type == so.EventStepCompleted || x.ev.Type == so.EventStepSkipped {
		x.credit = completionCredit(c, x)
		s.dropCounters(x.session, x.flow, x.step)
		return nil
	}
	c.count(x.ev)
	var out []*so.Detection
	for _, rule := range so.StruggleRules {
		if c.fires(rule, x) {
			if d := s.detect(x, rule, c.evidence(rule, x)); d != nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// count adds the event to the step's counters.
func (c *StepCounters) count(ev *so.Event) {
	switch ev.Type {
	case so.EventStepViewed, so.EventStepStarted:
		if c.StartAt.IsZero() {
			c.StartID, c.StartAt = ev.ID, ev.Timestamp
		}
	case so.EventHesitation:
		c.Hesitant++
		c.Signals = pushCapped(c.Signals, ev.ID, maxSignals)
	case so.EventClick:
		c.Clicks++
		c.Signals = pushCapped(c.Signals, ev.ID, maxSignals)
	case so.EventError:
		c.ErrorN++
		c.Errors = pushCapped(c.Errors, ev.ID, maxEvidence)
	case so.EventStepBack:
		c.BackN++
		c.Backs = pushCapped(c.Backs, ev.ID, maxEvidence)
	}
}

// fires tells whether a rule holds after the event.
func (c *StepCounters) fires(rule so.StruggleRule, x *input) bool {
	ev, cfg := x.ev, x.cfg
	switch rule {
	case so.RuleHesitation:
		return ev.Type == so.EventHesitation && hesitationMS(ev.Properties) >= cfg.HesitationSeconds*1000
	case so.RuleStuck:
		return c.stuck(x)
	case so.RuleErrors:
		return ev.Type == so.EventError && c.ErrorN >= cfg.ErrorsPerStep
	case so.RuleStepBack:
		return ev.Type == so.EventStepBack && c.BackN >= cfg.StepBacks
	case so.RuleRageClick:
		return ev.Type == so.EventRageClick
	}
	return false
}

// evidence lists the ids of the events that made a rule fire.
func (c *StepCounters) evidence(rule so.StruggleRule, x *input) []string {
	switch rule {
	case so.RuleStuck:
		return c.stuckEvidence(x.ev)
	case so.RuleErrors:
		return lastN(c.Errors, x.cfg.ErrorsPerStep)
	case so.RuleStepBack:
		return lastN(c.Backs, x.cfg.StepBacks)
	}
	return []string{x.ev.ID}
}

// stuck tells whether the step has gone StuckSeconds without progress while
// the user hesitated or clicked repeatedly.
func (c *StepCounters) stuck(x *input) bool {
	if c.StartAt.IsZero() || !working(x.ev.Type) || (c.Hesitant == 0 && c.Clicks < x.cfg.RepeatedClicks) {
		return false
	}
	return x.ev.Timestamp.Sub(c.StartAt) >= seconds(x.cfg.StuckSeconds)
}

// stuckEvidence lists the start, the hesitations and clicks, and the event.
func (c *StepCounters) stuckEvidence(ev *so.Event) []string {
	out := append([]string{c.StartID}, c.Signals...)
	if out[len(out)-1] != ev.ID {
		out = append(out, ev.ID)
	}
	return out
}

// working tells whether an event is the user at work on the step, rather than
// leaving it or answering an intervention.
func working(t so.EventType) bool {
	switch t {
	case so.EventSessionEnded, so.EventInterventionShown, so.EventInterventionAccepted, so.EventInterventionDismiss:
		return false
	}
	return true
}

// detect builds a rule's detection unless it already fired, or the journey
// does not have the step.
func (s *State) detect(x *input, rule so.StruggleRule, evidence []string) *so.Detection {
	if x.info == nil {
		return nil
	}
	id := DetectionID(x.ev.ProjectID, x.ev.UserID, x.flow, x.step, x.session, rule)
	if s.done(id) {
		return nil
	}
	s.markDone(id)
	return &so.Detection{ID: id, ProjectID: x.ev.ProjectID, UserID: x.ev.UserID, JourneyID: x.j.ID, Flow: x.flow,
		Step: x.step, SessionID: x.session, Rule: rule, Evidence: evidence, DetectedAt: x.ev.Timestamp}
}

// completionCredit rates a completion's pace against the step's estimate.
func completionCredit(c *StepCounters, x *input) float64 {
	if x.ev.Type != so.EventStepCompleted {
		return 0
	}
	if x.info == nil || x.info.EstimatedSeconds <= 0 || c.StartAt.IsZero() {
		return 1
	}
	took := x.ev.Timestamp.Sub(c.StartAt).Seconds()
	return min(1, float64(x.info.EstimatedSeconds)/max(took, 1))
}

// hesitationMS reads a hesitation's properties.duration_ms, 5000 when absent.
func hesitationMS(props json.RawMessage) float64 {
	var p struct {
		DurationMS *float64 `json:"duration_ms"`
	}
	if json.Unmarshal(props, &p) != nil || p.DurationMS == nil || *p.DurationMS < 0 {
		return defaultHesitationMS
	}
	return *p.DurationMS
}

// lastN returns a copy of the last n ids (all when fewer).
func lastN(ids []string, n int) []string {
	return slices.Clone(ids[max(0, len(ids)-max(n, 0)):])
}

// seconds converts a setting in seconds to a duration.
func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }
