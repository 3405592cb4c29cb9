package behaviour

import (
	"slices"

	so "github.com/smartonboarding/smartonboard"
)

// Cap names, the reasons Allow gives for holding an intervention back.
const (
	CapPerSession   = "per_session"   // PerSession interventions already in the session
	CapOverGuidance = "over_guidance" // two dismissals in a row in the session
	CapCooldown     = "step_cooldown" // another intervention on the step within StepCooldownSeconds
	CapDismissed    = "dismissed"     // this kind was dismissed on this step in the session
)

// Options are the interventions a step can offer.
type Options struct{ Tip, Guide, Simplify, Human bool }

// OptionsFor lists what the step's content allows, so a policy never picks
// an intervention with nothing to show.
func OptionsFor(st StepInfo) Options {
	return Options{Tip: len(st.HelpContentIDs) > 0, Guide: st.GuideAvailable, Simplify: st.SimplerContentID != "", Human: true}
}

// has tells whether the options include a kind.
func (o Options) has(k so.InterventionKind) bool {
	switch k {
	case so.InterventionTip:
		return o.Tip
	case so.InterventionGuide:
		return o.Guide
	case so.InterventionSimplify:
		return o.Simplify
	case so.InterventionHuman:
		return o.Human
	}
	return false
}

// Policy picks an intervention kind for a trigger; learning can replace the rules later.
type Policy interface {
	Choose(t Trigger, opts Options, history []Sent) (so.InterventionKind, string, bool)
}

// Rules is the default policy: a preference list per trigger, escalating past
// kinds already sent on the step in the session.
type Rules struct{}

// Preference lists of Rules; human help comes last, and not for a mere prediction.
var (
	preferHelp  = []so.InterventionKind{so.InterventionTip, so.InterventionGuide, so.InterventionSimplify, so.InterventionHuman}
	preferGuide = []so.InterventionKind{so.InterventionGuide, so.InterventionSimplify, so.InterventionTip, so.InterventionHuman}
	preferLess  = []so.InterventionKind{so.InterventionSimplify, so.InterventionGuide, so.InterventionTip}
)

// preferences is the kind order Rules follows for a trigger.
func preferences(t Trigger) []so.InterventionKind {
	switch {
	case t.Source == so.TriggerLowSuccess:
		return preferLess
	case t.Rule == so.RuleStuck || t.Rule == so.RuleStepBack:
		return preferGuide
	}
	return preferHelp
}

// Choose takes the first kind of the trigger's list that the step offers and
// that was not yet sent on the step in the session.
func (Rules) Choose(t Trigger, opts Options, history []Sent) (so.InterventionKind, string, bool) {
	skipped := 0
	for _, k := range preferences(t) {
		switch {
		case !opts.has(k):
		case sentOnStep(history, t, k):
			skipped++
		default:
			reason := trigName(t) + " prefers " + string(k)
			if skipped > 0 {
				reason = trigName(t) + ": escalated to " + string(k) + " past kinds already sent on the step"
			}
			return k, reason, true
		}
	}
	return "", trigName(t) + ": every kind the step offers was already sent", false
}

// trigName names a trigger's cause in reasons.
func trigName(t Trigger) string {
	if t.Source == so.TriggerLowSuccess {
		return so.TriggerLowSuccess
	}
	return string(t.Rule)
}

// sentOnStep tells whether the kind was sent (or held out) on the trigger's
// step in its session.
func sentOnStep(history []Sent, t Trigger, k so.InterventionKind) bool {
	return slices.ContainsFunc(history, func(h Sent) bool {
		return h.Kind == k && onStep(h, t)
	})
}

// onStep tells whether an intervention was on the trigger's step and session.
func onStep(h Sent, t Trigger) bool {
	return h.Flow == t.Flow && h.Step == t.Step && h.SessionID == t.SessionID
}
