package behaviour

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// mixedEvents is a fixed pseudo-random sequence of every kind of event, over
// two flows, several sessions (some without id) and late timestamps.
func mixedEvents(n int, seed uint64) []*so.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	types := []so.EventType{so.EventStepViewed, so.EventStepStarted, so.EventStepCompleted, so.EventStepSkipped,
		so.EventStepBack, so.EventClick, so.EventClick, so.EventClick, so.EventRageClick, so.EventHesitation, so.EventError,
		so.EventIdle, so.EventHelpOpened, so.EventHelpClosed, so.EventInterventionShown, so.EventInterventionAccepted,
		so.EventInterventionDismiss, so.EventCustom, so.EventSessionEnded}
	var out []*so.Event
	sec := 0.0
	for i := range n {
		sec += r.ExpFloat64() * 20
		if r.IntN(50) == 0 {
			sec += 2000 // a new session for events without id
		}
		ts := sec
		if r.IntN(10) == 0 {
			ts -= r.Float64() * 300 // late
		}
		ev := e(fmt.Sprintf("e%d", i), types[r.IntN(len(types))], ts, in([]string{"", "s1", "s2"}[int(sec/3000)%3]))
		switch ev.Type {
		case so.EventStepViewed, so.EventStepStarted, so.EventStepCompleted, so.EventStepSkipped, so.EventStepBack:
			ev.Flow, ev.Step = []string{"f", "g"}[r.IntN(2)], []string{"a", "b", "c"}[r.IntN(3)]
		case so.EventHesitation:
			ev.Properties = json.RawMessage(fmt.Sprintf(`{"duration_ms":%d}`, r.IntN(10000)))
		case so.EventInterventionAccepted, so.EventInterventionDismiss, so.EventInterventionShown:
			ev.Properties = json.RawMessage(fmt.Sprintf(`{"intervention_id":"t%d"}`, r.IntN(i+1)))
		}
		out = append(out, ev)
	}
	return out
}

// journeys are the journeys of flows f and g, as the wiring would look them up.
var journeys = map[string]*Journey{"f": journeyF(), "g": {ID: "j2", Flow: "g", Completed: 1,
	Steps: []StepInfo{{Key: "a", EstimatedSeconds: 40, GuideAvailable: true}, {Key: "b"}, {Key: "c", HelpContentIDs: []string{"h"}}}}}

// wire plays the wiring over the events: look up the journey, observe, and
// choose, cap and record each trigger; it returns everything it saw as JSON.
func wire(t *testing.T, events []*so.Event, roundTrip bool) (string, string) {
	t.Helper()
	s, out := &State{}, []any{}
	for i, ev := range events {
		j := journeys[cmpOr(ev.Flow, s.CurrentFlow())]
		obs := s.Observe(ev, j, so.BehaviourDefaults)
		out = append(out, obs)
		for _, tr := range obs.Triggers {
			opts := OptionsFor(*j.step(tr.Step))
			kind, reason, ok := Rules{}.Choose(tr, opts, s.History(tr.SessionID))
			allowed, capName := s.Allow(tr, kind, so.BehaviourDefaults)
			out = append(out, []any{kind, reason, ok, allowed, capName})
			if ok && allowed {
				s.Record(Sent{ID: fmt.Sprintf("t%d", i), Kind: kind, Flow: tr.Flow, Step: tr.Step, SessionID: tr.SessionID,
					At: tr.At, HeldOut: InHoldout("p", "u", 10)})
			}
		}
		if roundTrip {
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			s = &State{}
			if err := json.Unmarshal(b, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := json.Marshal(s)
	return string(b), string(st)
}

// cmpOr returns a unless it is empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestDeterminism gives the same output with the State stored as JSON between
// every event as without, and on a second run.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			events := mixedEvents(800, seed)
			plain, plainState := wire(t, events, false)
			stored, storedState := wire(t, events, true)
			again, _ := wire(t, events, false)
			if plain != stored || plain != again || plainState != storedState {
				t.Fatal("outputs differ")
			}
			if !strings.Contains(plain, `"Rule":"stuck"`) || !strings.Contains(plain, `"Source":"low_success"`) ||
				!strings.Contains(plain, `"Outcome":"dismissed"`) || !strings.Contains(plain, CapCooldown) {
				t.Fatal("the sequence does not exercise detections, predictions, outcomes and caps")
			}
		})
	}
}

// TestStateBounded keeps the stored State small however long the history.
func TestStateBounded(t *testing.T) {
	t.Parallel()
	_, st := wire(t, mixedEvents(5000, 7), false)
	if len(st) > 64<<10 {
		t.Fatalf("state is %d bytes", len(st))
	}
	t.Logf("state: %d bytes", len(st))
}
