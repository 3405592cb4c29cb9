package simulate

import (
	"math"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// act is one thing a user does inside a step.
type act uint8

const (
	actClick act = iota
	actHesitate
	actError
	actRage
	actIdle
	actHelp
	actBack
	actIntervene
)

// workload is what a user will do on a step: how long it takes and how
// often each behaviour occurs.
type workload struct {
	duration                                  time.Duration
	clicks, hesitations, errors, rages, idles int
	help, back, intervene                     bool
}

// load draws the workload of step i. Struggle grows with difficulty and
// falls with skill; extra adds the struggle of a user about to fail.
func (g *gen) load(i int, extra float64) workload {
	s, t, rng := g.flow.Steps[i], g.t, g.rng
	struggle := clamp01(s.Difficulty*(1.3-t.skill) + extra)
	mu := 0.6*(0.5-t.skill) + 0.5*(s.Difficulty-0.5) - 0.6*(t.hurry-0.5) + 0.4*extra
	secs := s.ExpectedSeconds * g.style.pace * lognormal(rng, mu, 0.5)
	w := workload{
		duration:    min(time.Duration(secs*float64(time.Second)), maxStep),
		clicks:      poisson(rng, g.style.clicks*(1.5+secs/45)),
		hesitations: poisson(rng, 2*struggle+0.4*(1-t.hurry)*s.Difficulty+0.1),
		errors:      poisson(rng, g.style.errors*(3*struggle*struggle+0.05)),
		rages:       poisson(rng, 1.2*struggle*struggle*(0.3+t.hurry)),
		idles:       poisson(rng, (1.1-t.motivation)*secs/400+0.02),
		help:        chance(rng, 0.5*struggle*(1.1-t.hurry)+0.03),
		back:        i > 0 && chance(rng, 0.3*struggle+0.04),
	}
	w.intervene = w.hesitations+w.errors+w.rages >= 2 && chance(rng, 0.45)
	return w
}

// acts lists the workload's actions in a random order; an intervention,
// which the server triggers on struggle, comes after the first struggle sign.
func (g *gen) acts(w workload) []act {
	var as []act
	add := func(a act, n int) {
		for range n {
			as = append(as, a)
		}
	}
	add(actClick, w.clicks)
	add(actHesitate, w.hesitations)
	add(actError, w.errors)
	add(actRage, w.rages)
	add(actIdle, w.idles)
	add(actHelp, b2i(w.help))
	add(actBack, b2i(w.back))
	g.rng.Shuffle(len(as), func(i, j int) { as[i], as[j] = as[j], as[i] })
	if w.intervene {
		at := len(as)
		for k, a := range as {
			if a == actHesitate || a == actError || a == actRage {
				at = k + 1
				break
			}
		}
		as = slices.Insert(as, at, actIntervene)
	}
	return as
}

// work does the first share of step i's actions, spread over as much of its
// duration, each after a random slice of it.
func (g *gen) work(i int, w workload, share float64) {
	as := g.acts(w)
	as = as[:int(math.Round(share*float64(len(as))))]
	slots := make([]float64, len(as)+1)
	total := 0.0
	for k := range slots {
		slots[k] = g.rng.ExpFloat64()
		total += slots[k]
	}
	for k, a := range as {
		g.pause(time.Duration(float64(w.duration) * share * slots[k] / total))
		g.do(i, a)
	}
	g.pause(time.Duration(float64(w.duration) * share * slots[len(as)] / total))
}

// do emits the events of one action as the SDK captures them.
func (g *gen) do(i int, a act) {
	s := g.flow.Steps[i]
	switch a {
	case actClick:
		g.emit(so.EventClick, path{g.element(s)})
	case actHesitate:
		g.pause(hesitateFor)
		g.emit(so.EventHesitation, hesitation{g.element(s), hesitateFor.Milliseconds()})
	case actError:
		g.emit(so.EventError, g.failure(s))
	case actRage:
		g.rage(s)
	case actIdle:
		g.pause(idleAfter)
		g.emit(so.EventIdle, idle{idleAfter.Milliseconds()})
	case actHelp:
		g.help(s)
	case actBack:
		g.back(i)
	case actIntervene:
		g.intervene()
	}
}

// rage is three quick clicks on one element; the third also reports the rage.
func (g *gen) rage(s Step) {
	el := g.element(s)
	for range rageClickRun {
		g.pauseSecs(0.1, 0.3)
		g.emit(so.EventClick, path{el})
	}
	g.emit(so.EventRageClick, rageClick{el, rageClickRun})
}

// help opens the step's help, reads it and closes it.
func (g *gen) help(s Step) {
	g.emit(so.EventHelpOpened, helpContent{"help-" + s.Key})
	d := time.Duration(lognormal(g.rng, math.Log(30), 0.7) * float64(time.Second))
	g.pause(min(d, 3*time.Minute))
	g.emit(so.EventHelpClosed, helpContent{"help-" + s.Key})
}

// back navigates back to the previous step's page (the SDK reports the
// step_back against the step on screen) and returns.
func (g *gen) back(i int) {
	g.emit(so.EventStepBack, empty{})
	g.pauseSecs(0.1, 0.5)
	g.emit(so.EventPageViewed, path{pagePath(g.flow.Steps[i-1])})
	g.pauseSecs(5, 40)
	g.emit(so.EventPageViewed, path{pagePath(g.flow.Steps[i])})
	g.pauseSecs(0.2, 1.5)
	g.emit(so.EventStepViewed, empty{})
}

// intervene shows an intervention and the user's answer: motivated users
// accept more. Like the server's outcome log, these carry no step.
func (g *gen) intervene() {
	g.iv++
	ref := outcome{"iv-" + g.user + "-" + strconv.Itoa(g.iv), "api"}
	step := g.step
	g.step = ""
	g.emit(so.EventInterventionShown, ref)
	g.pauseSecs(2, 20)
	if chance(g.rng, 0.2+0.6*g.t.motivation) {
		g.emit(so.EventInterventionAccepted, ref)
	} else {
		g.emit(so.EventInterventionDismiss, ref)
	}
	g.step = step
}

// element picks an element path on the step's page.
func (g *gen) element(s Step) string {
	els := [...]string{"form#" + s.Key + " button.primary", "form#" + s.Key + " input", "nav a.home",
		"header button.account", "aside a.docs", "form#" + s.Key + " button.cancel"}
	return els[g.rng.IntN(len(els))]
}

// failure is a validation error, or on hard steps sometimes a script error.
func (g *gen) failure(s Step) any {
	if chance(g.rng, 0.4*s.Difficulty) {
		msgs := [...]string{"Request failed with status 422", "Cannot read properties of undefined", "Network request timed out"}
		return jsError{"javascript", msgs[g.rng.IntN(len(msgs))], "https://app.example.com/static/app.js"}
	}
	fields := [...]string{"name", "email", "url", "token", "card"}
	reasons := [...]string{"valueMissing", "typeMismatch", "patternMismatch", "tooShort"}
	return formError{"validation", "form#" + s.Key + " input", fields[g.rng.IntN(len(fields))], reasons[g.rng.IntN(len(reasons))]}
}

// Properties of the events, shaped as the SDK sends them.
type (
	empty struct{}
	path  struct {
		Path string `json:"path"`
	}
	hesitation struct {
		Path       string `json:"path"`
		DurationMS int64  `json:"duration_ms"`
	}
	idle struct {
		IdleMS int64 `json:"idle_ms"`
	}
	rageClick struct {
		Path   string `json:"path"`
		Clicks int    `json:"clicks"`
	}
	helpContent struct {
		Content string `json:"content"`
	}
	outcome struct {
		InterventionID string `json:"intervention_id"`
		Source         string `json:"source"`
	}
	jsError struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Source  string `json:"source"`
	}
	formError struct {
		Kind   string `json:"kind"`
		Path   string `json:"path"`
		Field  string `json:"field"`
		Reason string `json:"reason"`
	}
)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
