package behaviour

import (
	"math"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Half-lives of the engagement formula (see the package documentation).
const (
	counterHalfLife  = 5 * time.Minute  // of every counter
	activityHalfLife = 10 * time.Minute // of the score, since the last activity
)

// Counters are exponentially decayed event counts, as of time At.
type Counters struct {
	At          time.Time `json:"at,omitzero"`
	LastActive  time.Time `json:"last_active,omitzero"`
	Events      float64   `json:"events,omitempty"`
	Velocity    float64   `json:"velocity,omitempty"`
	Help        float64   `json:"help,omitempty"`
	Errors      float64   `json:"errors,omitempty"`
	Hesitations float64   `json:"hesitations,omitempty"`
	Rage        float64   `json:"rage,omitempty"`
	Backtracks  float64   `json:"backtracks,omitempty"`
	Idle        float64   `json:"idle,omitempty"`
}

// JourneyEngagement is one journey's counters and its last Moved score.
type JourneyEngagement struct {
	ID         string   `json:"id"`
	Counters   Counters `json:"counters"`
	MovedScore float64  `json:"moved_score,omitempty"`
	MovedLevel string   `json:"moved_level,omitempty"` // "" until a score is reported
}

// SessionEngagement is one session's counters.
type SessionEngagement struct {
	ID       string   `json:"id"`
	Counters Counters `json:"counters"`
}

// decay is the weight left after d with the given half-life.
func decay(d, half time.Duration) float64 { return math.Exp2(-d.Seconds() / half.Seconds()) }

// advance decays the counters forward to now; time never runs backwards.
func (c *Counters) advance(now time.Time) {
	if c.At.IsZero() || !now.After(c.At) {
		if c.At.IsZero() {
			c.At = now
		}
		return
	}
	f := decay(now.Sub(c.At), counterHalfLife)
	for _, v := range c.values() {
		*v *= f
	}
	c.At = now
}

// values lists the decaying counters, so advance scales them all.
func (c *Counters) values() []*float64 {
	return []*float64{&c.Events, &c.Velocity, &c.Help, &c.Errors, &c.Hesitations, &c.Rage, &c.Backtracks, &c.Idle}
}

// active tells whether an event shows the user doing something.
func active(t so.EventType) bool {
	return t != so.EventIdle && t != so.EventSessionEnded && t != so.EventInterventionShown
}

// add counts one event at the clock x.now.
func (c *Counters) add(x *input) {
	c.advance(x.now)
	w := decay(c.At.Sub(x.ev.Timestamp), counterHalfLife)
	if active(x.ev.Type) {
		c.Events += w
		if x.ev.Timestamp.After(c.LastActive) {
			c.LastActive = x.ev.Timestamp
		}
	}
	if x.gap {
		c.Idle += w
	}
	c.Velocity += w * x.credit
	if v := c.counterOf(x.ev.Type); v != nil {
		*v += w
	}
}

// counterOf names the counter an event type feeds, if any.
func (c *Counters) counterOf(t so.EventType) *float64 {
	switch t {
	case so.EventHelpOpened:
		return &c.Help
	case so.EventError:
		return &c.Errors
	case so.EventHesitation:
		return &c.Hesitations
	case so.EventRageClick:
		return &c.Rage
	case so.EventStepBack:
		return &c.Backtracks
	case so.EventIdle:
		return &c.Idle
	}
	return nil
}

// score is the engagement formula at now.
func (c Counters) score(now time.Time) float64 {
	c.advance(now)
	raw := 50 + 20*min(1, c.Events/20) + 20*min(1, c.Velocity) + 5*min(1, c.Help) -
		8*c.Errors - 5*c.Hesitations - 10*c.Rage - 6*c.Backtracks - 6*c.Idle
	score := min(100, max(0, raw))
	if !c.LastActive.IsZero() && now.After(c.LastActive) {
		score *= decay(now.Sub(c.LastActive), activityHalfLife)
	}
	return score
}

// journey returns a journey's engagement, creating it, as most recently used.
func (s *State) journey(id string) *JourneyEngagement {
	i := slices.IndexFunc(s.Journeys, func(e JourneyEngagement) bool { return e.ID == id })
	e := JourneyEngagement{ID: id}
	if i >= 0 {
		e = s.Journeys[i]
		s.Journeys = slices.Delete(s.Journeys, i, i+1)
	}
	s.Journeys = pushCapped(s.Journeys, e, maxJourneys)
	return &s.Journeys[len(s.Journeys)-1]
}

// session returns a session's engagement, creating it, as most recently used.
func (s *State) session(id string) *SessionEngagement {
	i := slices.IndexFunc(s.Sessions, func(e SessionEngagement) bool { return e.ID == id })
	e := SessionEngagement{ID: id}
	if i >= 0 {
		e = s.Sessions[i]
		s.Sessions = slices.Delete(s.Sessions, i, i+1)
	}
	s.Sessions = pushCapped(s.Sessions, e, maxSessions)
	return &s.Sessions[len(s.Sessions)-1]
}

// engage counts the event in the session's and the journey's engagement.
func (s *State) engage(x *input) *Scores {
	sess := s.session(x.session)
	sess.Counters.add(x)
	if x.j == nil {
		return nil
	}
	e := s.journey(x.j.ID)
	e.Counters.add(x)
	sc := &Scores{JourneyID: x.j.ID, Journey: e.Counters.score(x.now), Session: sess.Counters.score(x.now),
		SessionID: x.session, At: x.now}
	sc.Level = so.EngagementLevel(sc.Journey)
	if e.MovedLevel == "" || math.Abs(sc.Journey-e.MovedScore) >= 1 || sc.Level != e.MovedLevel {
		sc.Moved, e.MovedScore, e.MovedLevel = true, sc.Journey, sc.Level
	}
	return sc
}

// EngagementAt is a journey's score at read time, decayed to now; false when
// the State has no score for it.
func (s *State) EngagementAt(journeyID string, now time.Time) (float64, bool) {
	i := slices.IndexFunc(s.Journeys, func(e JourneyEngagement) bool { return e.ID == journeyID })
	if i < 0 {
		return 0, false
	}
	c := s.Journeys[i].Counters
	return c.score(later(now, c.At)), true
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
