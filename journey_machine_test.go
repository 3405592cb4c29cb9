package smartonboard_test

import (
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// flowV1 is a four-step flow: connect (required) → invite (required, needs
// connect); tour is optional and basic; tips is optional and needs connect.
func flowV1() *so.FlowVersion {
	return &so.FlowVersion{FlowID: "f1", ProjectID: "p", FlowKey: "start", Version: 1, Steps: []so.Step{
		{Key: "connect", Kind: so.StepTask, Required: true, Prerequisites: []string{}},
		{Key: "tour", Kind: so.StepTour, Basic: true, Prerequisites: []string{}},
		{Key: "invite", Kind: so.StepTask, Required: true, Prerequisites: []string{"connect"}},
		{Key: "tips", Kind: so.StepArticle, Prerequisites: []string{"connect"}},
	}}
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func ev(typ so.EventType, step string, at time.Duration) *so.Event {
	flow := "start"
	if step == "" && typ != so.EventStepStarted {
		flow = ""
	}
	return &so.Event{ProjectID: "p", ID: string(typ) + step, Type: typ, UserID: "u", Flow: flow, Step: step,
		Timestamp: t0.Add(at), ReceivedAt: t0.Add(at), Properties: []byte(`{}`)}
}

func TestJourneyStateMachine(t *testing.T) {
	t.Parallel()
	type want struct {
		status  so.JourneyStatus
		steps   map[string]so.StepStatus
		current string
		notice  string
		changed bool
	}
	cases := []struct {
		name   string
		events []*so.Event
		want   want
	}{
		{"new journey", nil, want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepPending}, "connect", "", false}},
		{"start a step", []*so.Event{ev(so.EventStepStarted, "connect", time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepInProgress}, "connect", "", true}},
		{"complete a step", []*so.Event{ev(so.EventStepStarted, "connect", time.Minute), ev(so.EventStepCompleted, "connect", 2*time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepCompleted, "invite": so.StepPending}, "tour", "", true}},
		{"out of order completion", []*so.Event{ev(so.EventStepCompleted, "invite", time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"invite": so.StepPending}, "connect", so.NoticeOutOfOrder, true}},
		{"skip optional", []*so.Event{ev(so.EventStepSkipped, "tour", time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"tour": so.StepSkipped}, "connect", "", true}},
		{"skip before prerequisites", []*so.Event{ev(so.EventStepSkipped, "tips", time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"tips": so.StepPending}, "connect", so.NoticeOutOfOrder, true}},
		{"skip required", []*so.Event{ev(so.EventStepSkipped, "connect", time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepPending}, "connect", so.NoticeRequiredStep, true}},
		{"unknown step", []*so.Event{ev(so.EventStepCompleted, "nope", time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepPending}, "connect", so.NoticeUnknownStep, true}},
		{"all required done completes", []*so.Event{ev(so.EventStepCompleted, "connect", time.Minute), ev(so.EventStepCompleted, "invite", 2*time.Minute)},
			want{so.JourneyCompleted, map[string]so.StepStatus{"tour": so.StepPending, "invite": so.StepCompleted}, "", "", true}},
		{"completed is final", []*so.Event{ev(so.EventStepCompleted, "connect", time.Minute), ev(so.EventStepCompleted, "invite", 2*time.Minute), ev(so.EventStepStarted, "tour", 3*time.Minute)},
			want{so.JourneyCompleted, map[string]so.StepStatus{"tour": so.StepPending}, "", so.NoticeJourneyCompleted, false}},
		{"session end pauses", []*so.Event{ev(so.EventSessionEnded, "", time.Minute)},
			want{so.JourneyPaused, nil, "connect", "", true}},
		{"activity resumes a pause", []*so.Event{ev(so.EventSessionEnded, "", time.Minute), ev(so.EventStepStarted, "connect", 2*time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepInProgress}, "connect", "", true}},
		{"step back moves the current step", []*so.Event{ev(so.EventStepCompleted, "connect", time.Minute), ev(so.EventStepBack, "connect", 2*time.Minute)},
			want{so.JourneyActive, map[string]so.StepStatus{"connect": so.StepCompleted}, "connect", "", true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := flowV1()
			j := so.NewJourney("p", "u", v, t0)
			changed, notice := false, ""
			for _, e := range c.events {
				ch, n := j.Apply(v, e)
				changed = ch
				if n != nil {
					notice = n.Code
				}
			}
			if j.Status != c.want.status || j.CurrentStep != c.want.current || notice != c.want.notice || (len(c.events) > 0 && changed != c.want.changed) {
				t.Fatalf("status %s current %q notice %q changed %v; want %+v", j.Status, j.CurrentStep, notice, changed, c.want)
			}
			for k, st := range c.want.steps {
				if got := j.Step(k).Status; got != st {
					t.Fatalf("step %s is %s, want %s", k, got, st)
				}
			}
		})
	}
}

func TestJourneySessionsAndAbandonReturn(t *testing.T) {
	t.Parallel()
	v := flowV1()
	j := so.NewJourney("p", "u", v, t0)
	j.Apply(v, ev(so.EventStepStarted, "connect", 10*time.Minute))
	if j.Sessions != 1 || j.Returning {
		t.Fatalf("a 10-minute gap started a session: %d %v", j.Sessions, j.Returning)
	}
	j.Status = so.JourneyAbandoned
	j.Apply(v, ev(so.EventStepCompleted, "connect", 2*time.Hour))
	if j.Sessions != 2 || !j.Returning || j.Status != so.JourneyActive || j.CurrentStep != "tour" {
		t.Fatalf("return after a gap: sessions %d returning %v status %s current %s", j.Sessions, j.Returning, j.Status, j.CurrentStep)
	}
	if st := j.Step("connect"); st.TimeSpentMS != (110*time.Minute).Milliseconds() || st.Attempts != 1 {
		t.Fatalf("time spent %d attempts %d", st.TimeSpentMS, st.Attempts)
	}
	// duration_ms, when sent, is the time spent.
	e := ev(so.EventStepCompleted, "tour", 2*time.Hour+time.Minute)
	e.Properties = []byte(`{"duration_ms": 5400}`)
	j.Apply(v, e)
	if st := j.Step("tour"); st.TimeSpentMS != 5400 || st.Status != so.StepCompleted {
		t.Fatalf("tour = %+v", st)
	}
}

func TestFlowValidation(t *testing.T) {
	t.Parallel()
	step := func(key string, pre ...string) so.Step {
		return so.Step{Key: key, Title: key, Kind: so.StepTask, ContentItemID: "c", Prerequisites: pre}
	}
	cases := map[string]struct {
		steps []so.Step
		field string
	}{
		"cycle":          {[]so.Step{step("a", "c"), step("b", "a"), step("c", "b")}, "steps"},
		"unknown prereq": {[]so.Step{step("a", "zzz")}, "steps[0].prerequisites[0]"},
		"self prereq":    {[]so.Step{step("a", "a")}, "steps[0].prerequisites"},
		"duplicate key":  {[]so.Step{step("a"), step("a")}, "steps[1].key"},
		"bad key":        {[]so.Step{step("A b")}, "steps[0].key"},
		"bad kind":       {[]so.Step{{Key: "a", Title: "a", Kind: "movie", ContentItemID: "c"}}, "steps[0].kind"},
		"no content":     {[]so.Step{{Key: "a", Title: "a", Kind: so.StepTask}}, "steps[0].content_item_id"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := so.ValidateSteps(c.steps)
			if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field {
				t.Fatalf("got %v (field %q), want field %s", err, so.ErrorField(err), c.field)
			}
		})
	}
	err := so.ValidateSteps([]so.Step{step("a", "c"), step("b", "a"), step("c", "b")})
	if want := "a → c → b → a"; !strings.Contains(so.ErrorMessage(err), want) {
		t.Fatalf("cycle message %q does not name %s", so.ErrorMessage(err), want)
	}
	if err := so.ValidateSteps([]so.Step{step("a"), step("b", "a"), step("c", "a", "b")}); err != nil {
		t.Fatalf("a DAG rejected: %v", err)
	}
}

// TestActivityUsesServerTime: abandonment is judged on when the server received
// live events, so a client clock a little slow cannot make a journey look idle,
// and on when history happened, so imported journeys idle since then are
// abandoned as they were; an old event never moves activity back.
func TestActivityUsesServerTime(t *testing.T) {
	t.Parallel()
	v := flowV1()
	j := so.NewJourney("p", "u", v, t0)
	slow := ev(so.EventStepStarted, "connect", -so.PastEvent+2*time.Minute) // the client clock is almost an hour slow
	slow.ReceivedAt = t0.Add(time.Minute)
	j.Apply(v, slow)
	if !j.LastActivityAt.Equal(t0.Add(time.Minute)) || !j.LastEventAt.Equal(t0) {
		t.Fatalf("after a live event: last activity %s, last event %s", j.LastActivityAt, j.LastEventAt)
	}
	old := ev(so.EventStepCompleted, "connect", -30*24*time.Hour) // history of a month ago
	old.ReceivedAt = t0.Add(2 * time.Minute)
	j.Apply(v, old)
	if !j.LastActivityAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a month-old event moved the last activity to %s", j.LastActivityAt)
	}
	imported := so.NewJourney("p", "v", v, old.Timestamp)
	later := ev(so.EventStepCompleted, "connect", -29*24*time.Hour)
	later.ReceivedAt = t0
	imported.Apply(v, later)
	if !imported.LastActivityAt.Equal(later.Timestamp) {
		t.Fatalf("imported history's last activity %s, want when it happened (%s)", imported.LastActivityAt, later.Timestamp)
	}
}
