// Package simulate generates users going through an onboarding flow, as the
// events the browser SDK sends, together with each user's true probability of
// completing (the oracle), so that a success-prediction model can be trained
// on realistic behaviour and its AUC compared with the best achievable.
//
// The model: each user draws latent skill, motivation and time pressure from a
// persona, plus a per-user luck term that no event shows. Each required step
// is passed with a probability that is logistic in those traits and the step's
// difficulty, and every step (required or optional) carries a small hazard of
// quitting for reasons unrelated to behaviour. The probability of completing
// is the product over the steps up to the last required one; the outcome is
// drawn from it before any event is generated, and the events are then made
// consistent with it. Behaviour (pace, hesitation, errors, help, backtracking,
// skips, sessions) follows the traits noisily, so it carries signal without
// making outcomes separable.
package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Flow is the flow a population goes through: its key and steps in order.
type Flow struct {
	Key   string
	Steps []Step
}

// Step is one step of a simulated flow: Difficulty (0..1) drives both the
// chance of failing it and the struggle events it provokes.
type Step struct {
	Key             string
	Required        bool
	ExpectedSeconds float64
	Difficulty      float64
}

// DefaultFlow returns a 5-step product-setup flow with one optional step, so
// skips, easy and hard steps all occur.
func DefaultFlow() Flow {
	return Flow{Key: "getting-started", Steps: []Step{
		{Key: "connect", Required: true, ExpectedSeconds: 120, Difficulty: 0.55},
		{Key: "create-item", Required: true, ExpectedSeconds: 180, Difficulty: 0.35},
		{Key: "invite", Required: false, ExpectedSeconds: 60, Difficulty: 0.2},
		{Key: "billing", Required: true, ExpectedSeconds: 150, Difficulty: 0.7},
		{Key: "launch", Required: true, ExpectedSeconds: 45, Difficulty: 0.25},
	}}
}

// Range is a latent trait's distribution in a persona: a normal draw around
// Mean with standard deviation Spread, clamped to 0..1.
type Range struct{ Mean, Spread float64 }

// draw samples the trait.
func (r Range) draw(rng *rand.Rand) float64 { return clamp01(r.Mean + r.Spread*rng.NormFloat64()) }

// Persona is a kind of user: its share of the population and the
// distributions of its latent traits.
type Persona struct {
	Name                            string
	Share                           float64
	Skill, Motivation, TimePressure Range
}

// DefaultPersonas returns five personas whose shares sum to 1, spanning
// skilled and unskilled, hurried and leisurely users.
func DefaultPersonas() []Persona {
	return []Persona{
		{Name: "novice", Share: 0.30, Skill: Range{0.30, 0.12}, Motivation: Range{0.60, 0.15}, TimePressure: Range{0.35, 0.15}},
		{Name: "hurried-business", Share: 0.20, Skill: Range{0.55, 0.15}, Motivation: Range{0.50, 0.20}, TimePressure: Range{0.85, 0.10}},
		{Name: "expert", Share: 0.15, Skill: Range{0.85, 0.08}, Motivation: Range{0.65, 0.15}, TimePressure: Range{0.50, 0.20}},
		{Name: "explorer", Share: 0.20, Skill: Range{0.60, 0.15}, Motivation: Range{0.40, 0.20}, TimePressure: Range{0.20, 0.10}},
		{Name: "struggler", Share: 0.15, Skill: Range{0.15, 0.08}, Motivation: Range{0.45, 0.15}, TimePressure: Range{0.50, 0.20}},
	}
}

// Coefficients of the completion model, calibrated so that the default flow
// and personas give an oracle AUC near 0.8 and about half the users complete.
const (
	passBase       = 3.2  // logit of passing a step at average traits and zero difficulty
	passSkill      = 6.2  // weight of skill minus difficulty
	passMotivation = 4.0  // weight of motivation
	passHurry      = 1.6  // weight of time pressure, times difficulty: hurry hurts on hard steps
	luckSpread     = 0.45 // per-user noise on every step's logit, never visible in events
	quitHazard     = 0.03 // per-step chance of quitting for reasons unrelated to behaviour
)

// traits are one user's latent state.
type traits struct {
	skill, motivation, hurry, luck float64
}

// passLogit is the logit of passing a required step of the difficulty.
func (t traits) passLogit(difficulty float64) float64 {
	return passBase + passSkill*(t.skill-difficulty) + passMotivation*(t.motivation-0.5) -
		passHurry*(t.hurry-0.3)*difficulty + t.luck
}

// survival is, per step up to the last required one, the chance to get
// through it: the unrelated hazard everywhere, and failing for required steps.
func (t traits) survival(f Flow) []float64 {
	last := lastRequired(f)
	s := make([]float64, last+1)
	for i := range s {
		s[i] = 1 - quitHazard
		if f.Steps[i].Required {
			s[i] *= sigmoid(t.passLogit(f.Steps[i].Difficulty))
		}
	}
	return s
}

// lastRequired is the index of the flow's last required step.
func lastRequired(f Flow) int {
	for i := len(f.Steps) - 1; i >= 0; i-- {
		if f.Steps[i].Required {
			return i
		}
	}
	return -1
}

// stop is where and why a non-completer leaves.
type stop struct {
	step      int  // index of the step not passed; len(steps) for completers
	unrelated bool // quit for a reason the behaviour does not show
}

// drawStop picks, for a non-completer, the first step not survived given
// that one was not: harder steps (lower survival) are likelier.
func drawStop(rng *rand.Rand, s []float64, p float64) stop {
	u := rng.Float64() * (1 - p)
	reach := 1.0
	for i, si := range s {
		q := reach * (1 - si)
		if u < q || i == len(s)-1 {
			return stop{step: i, unrelated: rng.Float64()*(1-si) < quitHazard}
		}
		u -= q
		reach *= si
	}
	return stop{}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func clamp01(x float64) float64 { return min(1, max(0, x)) }

// poisson draws a Poisson count by Knuth's method: the rates here are small.
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	limit, n, prod := math.Exp(-min(lambda, 30)), 0, rng.Float64()
	for prod > limit {
		n++
		prod *= rng.Float64()
	}
	return n
}

// lognormal draws exp(N(mu, sigma)).
func lognormal(rng *rand.Rand, mu, sigma float64) float64 {
	return math.Exp(mu + sigma*rng.NormFloat64())
}

// chance is a Bernoulli draw with probability p.
func chance(rng *rand.Rand, p float64) bool { return rng.Float64() < p }

// ProbabilityAt is the oracle asked at t: the chance of completing given the
// latent traits and the steps the user's events show passed (completed, or
// skipped) by then, in flow order.
func (u User) ProbabilityAt(f Flow, t time.Time) float64 {
	passed := map[string]bool{}
	for _, e := range u.Events {
		if ts, err := time.Parse(time.RFC3339Nano, e.Timestamp); err == nil && !ts.After(t) &&
			(e.Type == so.EventStepCompleted || e.Type == so.EventStepSkipped) {
			passed[e.Step] = true
		}
	}
	k := 0
	for k < len(f.Steps) && passed[f.Steps[k].Key] {
		k++
	}
	if k >= len(u.Survival) {
		return 1
	}
	return product(u.Survival[k:])
}
