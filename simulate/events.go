package simulate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Timing bounds, chosen against the server's 30-minute session gap: no pause
// inside a session reaches it, and every break between sessions exceeds it.
const (
	maxStep      = 20 * time.Minute
	minBreak     = 40 * time.Minute
	maxBreak     = 4 * 24 * time.Hour
	idleAfter    = 60 * time.Second // the SDK's IDLE_MS
	hesitateFor  = 5 * time.Second  // the SDK's HESITATION_MS
	dropShare    = 0.03             // share of autocaptured events lost in delivery
	rageClickRun = 3                // the SDK's RAGE_CLICKS
)

// raw is one event before it gets its id.
type raw struct {
	at      time.Time
	typ     so.EventType
	session int
	step    string
	props   []byte
}

// style is per-user behavioural noise, unrelated to the outcome, so that
// behaviour tells traits only roughly.
type style struct{ clicks, errors, pace float64 }

// gen builds one user's events along a clock that only moves forward.
type gen struct {
	rng     *rand.Rand
	flow    Flow
	user    string
	t       traits
	style   style
	at      time.Time
	session int
	step    string // the step on screen, which the SDK marks events with
	iv      int    // interventions shown so far
	out     []raw
}

func newGen(rng *rand.Rand, f Flow, user string, t traits, start time.Time) *gen {
	st := style{clicks: lognormal(rng, 0, 0.5), errors: lognormal(rng, 0, 0.4), pace: lognormal(rng, 0, 0.3)}
	return &gen{rng: rng, flow: f, user: user, t: t, style: st, at: so.Truncate(start)}
}

// run walks the flow up to the stop (past the end for completers) and
// returns the events the SDK would have delivered.
func (g *gen) run(end stop) []so.EventInput {
	g.startSession()
	for i := range g.flow.Steps {
		if i > 0 {
			g.maybeBreak()
		}
		if i == end.step {
			g.quit(i, end.unrelated)
			break
		}
		g.pass(i)
	}
	return g.finish()
}

// emit records an event now, marked with the step on screen.
func (g *gen) emit(typ so.EventType, props any) {
	b, _ := json.Marshal(props)
	g.out = append(g.out, raw{at: g.at, typ: typ, session: g.session, step: g.step, props: b})
}

// pause moves the clock on.
func (g *gen) pause(d time.Duration) { g.at = g.at.Add(max(d, 0)) }

// pauseSecs moves the clock on by a uniform draw in [lo, hi) seconds.
func (g *gen) pauseSecs(lo, hi float64) {
	g.pause(time.Duration((lo + (hi-lo)*g.rng.Float64()) * float64(time.Second)))
}

// startSession begins a session as the SDK does: session_started, then the
// landing page view.
func (g *gen) startSession() {
	g.session++
	g.step = ""
	g.emit(so.EventSessionStarted, empty{})
	g.pauseSecs(0.05, 0.5)
	g.emit(so.EventPageViewed, path{"/app"})
}

// maybeBreak leaves for hours between steps; hurried and unmotivated users
// do so more, and the flow resumes in the new session.
func (g *gen) maybeBreak() {
	if chance(g.rng, 0.06+0.2*g.t.hurry+0.12*(1-g.t.motivation)) {
		g.takeBreak()
	}
}

// takeBreak ends the session (the SDK sends session_ended, stamped with the
// session's last activity) and starts a new one after a gap.
func (g *gen) takeBreak() {
	g.step = ""
	g.emit(so.EventSessionEnded, empty{})
	gap := time.Duration(lognormal(g.rng, math.Log(5), 1) * float64(time.Hour))
	g.pause(min(max(gap, minBreak), maxBreak))
	g.startSession()
}

// enter navigates to a step's page and shows the step.
func (g *gen) enter(i int) {
	g.step = ""
	g.pauseSecs(0.5, 4)
	g.emit(so.EventPageViewed, path{pagePath(g.flow.Steps[i])})
	g.pauseSecs(0.2, 1.5)
	g.step = g.flow.Steps[i].Key
	g.emit(so.EventStepViewed, empty{})
}

// pass takes the user through step i: completed, or skipped if optional.
func (g *gen) pass(i int) {
	s := g.flow.Steps[i]
	g.enter(i)
	if !s.Required && chance(g.rng, clamp01(0.1+0.6*g.t.hurry-0.3*g.t.motivation+0.3*s.Difficulty)) {
		g.pauseSecs(2, 12)
		g.emit(so.EventStepSkipped, empty{})
		return
	}
	g.pauseSecs(1, 6)
	g.emit(so.EventStepStarted, empty{})
	g.work(i, g.load(i, 0), 1)
	g.emit(so.EventStepCompleted, empty{})
}

// quit ends the journey at step i: an unrelated quit leaves mid-way with
// ordinary behaviour, a failure struggles more first and may come back once
// to look without progressing.
func (g *gen) quit(i int, unrelated bool) {
	if i == 0 && unrelated && chance(g.rng, 0.3) {
		return // left from the landing page
	}
	g.enter(i)
	if chance(g.rng, 0.2) {
		return // looked at the step and left
	}
	g.pauseSecs(1, 6)
	g.emit(so.EventStepStarted, empty{})
	if unrelated {
		g.work(i, g.load(i, 0), g.rng.Float64())
		return
	}
	g.work(i, g.load(i, 0.5), 1)
	if chance(g.rng, 0.3) {
		g.takeBreak()
		g.enter(i)
		g.work(i, workload{duration: time.Duration(g.rng.Float64() * float64(time.Minute)), clicks: poisson(g.rng, 2)}, 1)
	}
}

// finish drops a share of the autocaptured events, as delivery loses some,
// and numbers the rest.
func (g *gen) finish() []so.EventInput {
	out := make([]so.EventInput, 0, len(g.out))
	for _, r := range g.out {
		if droppable(r.typ) && chance(g.rng, dropShare) {
			continue
		}
		e := so.EventInput{ID: g.user + "-" + strconv.Itoa(len(out)+1), Type: r.typ, UserID: g.user,
			SessionID: "s-" + g.user + "-" + strconv.Itoa(r.session), Timestamp: so.FormatTime(r.at), Properties: r.props}
		if r.step != "" {
			e.Flow, e.Step = g.flow.Key, r.step
		}
		out = append(out, e)
	}
	return out
}

// droppable tells the autocaptured events that may go missing; session,
// step and intervention events are kept so the journey stays consistent.
func droppable(t so.EventType) bool {
	switch t {
	case so.EventPageViewed, so.EventClick, so.EventRageClick, so.EventHesitation, so.EventIdle,
		so.EventError, so.EventHelpOpened, so.EventHelpClosed:
		return true
	}
	return false
}

func pagePath(s Step) string { return "/app/" + s.Key }
