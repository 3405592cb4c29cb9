package behaviour

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// t0 is the time every test sequence counts its seconds from.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// at is t0 plus seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// e builds an event of user u in project p, session s1, with no flow.
func e(id string, typ so.EventType, sec float64, opts ...func(*so.Event)) *so.Event {
	ev := &so.Event{ProjectID: "p", ID: id, Type: typ, UserID: "u", SessionID: "s1", Timestamp: at(sec),
		Properties: json.RawMessage("{}")}
	for _, o := range opts {
		o(ev)
	}
	return ev
}

// on puts an event on a step of flow f.
func on(step string) func(*so.Event) {
	return func(ev *so.Event) { ev.Flow, ev.Step = "f", step }
}

// in puts an event in a session.
func in(session string) func(*so.Event) { return func(ev *so.Event) { ev.SessionID = session } }

// props sets an event's properties.
func props(js string) func(*so.Event) {
	return func(ev *so.Event) { ev.Properties = json.RawMessage(js) }
}

// ms sets a hesitation's duration.
func ms(d int) func(*so.Event) { return props(fmt.Sprintf(`{"duration_ms":%d}`, d)) }

// journeyF is a two-step journey of flow f: a (60 s estimate, every option) and b.
func journeyF() *Journey {
	return &Journey{ID: "j1", Flow: "f", Steps: []StepInfo{
		{Key: "a", EstimatedSeconds: 60, ContentItemID: "c-a", GuideAvailable: true, HelpContentIDs: []string{"h1"}, SimplerContentID: "c-a-easy"},
		{Key: "b", EstimatedSeconds: 10, ContentItemID: "c-b"}}}
}

// observeAll runs the events through a fresh State with journey j, marshalling
// the State to JSON and back between events when roundTrip is set.
func observeAll(t *testing.T, events []*so.Event, j *Journey, cfg so.Behaviour, roundTrip bool) ([]Observation, *State) {
	t.Helper()
	s := &State{}
	var out []Observation
	for _, ev := range events {
		out = append(out, s.Observe(ev, j, cfg))
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
	return out, s
}

// near tells whether two scores agree to the 10 decimals hand-worked values carry.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// fired lists "index:rule" for every detection of the observations.
func fired(obs []Observation) []string {
	var out []string
	for i, o := range obs {
		for _, d := range o.Detections {
			out = append(out, fmt.Sprintf("%d:%s", i, d.Rule))
		}
	}
	return out
}

// itoa formats an int64.
func itoa(n int64) string { return fmt.Sprint(n) }
