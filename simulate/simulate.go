package simulate

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Options say which population to simulate; zero fields take the defaults
// named on each, so Options{Seed: 1, Users: 1000} is a complete request.
type Options struct {
	Seed     int64
	Users    int
	Flow     Flow      // default DefaultFlow()
	Personas []Persona // default DefaultPersonas()
	// Start is the first user's arrival; users arrive in order, spread evenly
	// with jitter over Spread (default 2026-01-05T09:00:00Z and 7 days).
	Start  time.Time
	Spread time.Duration
	// UserPrefix starts every user id, which is Prefix + number (default "sim-").
	UserPrefix string
}

// DefaultStart is the arrival of the first user when Options.Start is zero: a
// fixed time, so that output never depends on the clock.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Limits that keep every generated id within the API's bounds.
const (
	maxUsers      = 100_000_000
	maxPrefixLen  = 32
	maxStepExpect = 3600.0 // seconds: a longer step would not fit in one session
)

// User is one simulated user: their id, persona, latent traits, the true probability
// that they complete the flow (the oracle), whether they did, and their events in time order.
type User struct {
	ID, Persona                     string
	Skill, Motivation, TimePressure float64
	// Probability is the oracle: the chance of completing given everything
	// about the user, including noise no event shows, as known at their start.
	Probability float64
	// Survival is, per step up to the last required one, the chance of
	// getting through it, so the oracle can be asked again later on.
	Survival  []float64
	Completed bool
	// Traits are what an identify call would send (plan, role, experience,
	// company_size): they carry some of the signal, never all of it.
	Traits map[string]string
	Events []so.EventInput
}

// Run simulates the population; the same Options give the same users, byte for byte.
func Run(o Options) ([]User, error) {
	seq, err := Stream(o)
	if err != nil {
		return nil, err
	}
	return slices.Collect(seq), nil
}

// Stream validates the options and then yields the users one by one, so that
// a population of millions never needs to be held in memory.
func Stream(o Options) (iter.Seq[User], error) {
	o = withDefaults(o)
	if err := o.validate(); err != nil {
		return nil, err
	}
	return func(yield func(User) bool) {
		for i := range o.Users {
			if !yield(o.user(i)) {
				return
			}
		}
	}, nil
}

// withDefaults fills the zero fields.
func withDefaults(o Options) Options {
	if o.Flow.Key == "" && len(o.Flow.Steps) == 0 {
		o.Flow = DefaultFlow()
	}
	if o.Personas == nil {
		o.Personas = DefaultPersonas()
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Spread == 0 {
		o.Spread = 7 * 24 * time.Hour
	}
	if o.UserPrefix == "" {
		o.UserPrefix = "sim-"
	}
	o.Start = o.Start.UTC()
	return o
}

// validate refuses options whose events the API would refuse.
func (o Options) validate() error {
	switch {
	case o.Users < 0 || o.Users > maxUsers:
		return fmt.Errorf("simulate: users %d is outside 0..%d", o.Users, maxUsers)
	case o.Spread < 0:
		return fmt.Errorf("simulate: spread %s is negative", o.Spread)
	case o.Start.Before(so.MinEventTime):
		return fmt.Errorf("simulate: start %s is before %s", o.Start, so.MinEventTime)
	case len(o.UserPrefix) > maxPrefixLen:
		return fmt.Errorf("simulate: user prefix is longer than %d bytes", maxPrefixLen)
	}
	if err := so.CheckUserID("user_prefix", o.UserPrefix); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	return errors.Join(o.Flow.validate(), validatePersonas(o.Personas))
}

// validate checks the flow's keys and numbers.
func (f Flow) validate() error {
	if err := so.CheckKey("flow", f.Key); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if lastRequired(f) < 0 {
		return errors.New("simulate: the flow needs a required step, which is what completing means")
	}
	seen := map[string]bool{}
	for _, s := range f.Steps {
		if err := so.CheckKey("step", s.Key); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		switch {
		case seen[s.Key]:
			return fmt.Errorf("simulate: step %q appears twice", s.Key)
		case !(s.ExpectedSeconds > 0 && s.ExpectedSeconds <= maxStepExpect):
			return fmt.Errorf("simulate: step %q expects %v seconds, outside (0, %v]", s.Key, s.ExpectedSeconds, maxStepExpect)
		case !(s.Difficulty >= 0 && s.Difficulty <= 1):
			return fmt.Errorf("simulate: step %q has difficulty %v, outside 0..1", s.Key, s.Difficulty)
		}
		seen[s.Key] = true
	}
	return nil
}

// validatePersonas checks that shares and ranges make sense.
func validatePersonas(ps []Persona) error {
	if len(ps) == 0 {
		return errors.New("simulate: no personas")
	}
	for _, p := range ps {
		if p.Name == "" || !(p.Share > 0) {
			return fmt.Errorf("simulate: persona %q needs a name and a positive share", p.Name)
		}
		for _, r := range []Range{p.Skill, p.Motivation, p.TimePressure} {
			if !(r.Mean >= 0 && r.Mean <= 1 && r.Spread >= 0 && r.Spread <= 1) {
				return fmt.Errorf("simulate: persona %q has a range outside 0..1", p.Name)
			}
		}
	}
	return nil
}

// user simulates user i from a random source of its own, so that each user
// depends only on the seed and its number.
func (o Options) user(i int) User {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(i)))
	p := pickPersona(rng, o.Personas)
	t := traits{skill: p.Skill.draw(rng), motivation: p.Motivation.draw(rng),
		hurry: p.TimePressure.draw(rng), luck: luckSpread * rng.NormFloat64()}
	u := User{ID: o.UserPrefix + strconv.Itoa(i), Persona: p.Name,
		Skill: t.skill, Motivation: t.motivation, TimePressure: t.hurry}
	s := t.survival(o.Flow)
	u.Probability, u.Survival = product(s), s
	u.Completed = chance(rng, u.Probability)
	end := stop{step: len(o.Flow.Steps)}
	if !u.Completed {
		end = drawStop(rng, s, u.Probability)
	}
	u.Traits = identify(rng, p.Name, t)
	u.Events = newGen(rng, o.Flow, u.ID, t, o.arrival(rng, i)).run(end)
	return u
}

// arrival spreads users evenly over the spread, jittered within each slot.
func (o Options) arrival(rng *rand.Rand, i int) time.Time {
	slot := float64(o.Spread) / float64(max(o.Users, 1))
	return o.Start.Add(time.Duration(slot * (float64(i) + rng.Float64())))
}

// pickPersona draws a persona by share.
func pickPersona(rng *rand.Rand, ps []Persona) Persona {
	total := 0.0
	for _, p := range ps {
		total += p.Share
	}
	u := rng.Float64() * total
	for _, p := range ps {
		if u < p.Share {
			return p
		}
		u -= p.Share
	}
	return ps[len(ps)-1]
}

func product(xs []float64) float64 {
	p := 1.0
	for _, x := range xs {
		p *= x
	}
	return p
}
