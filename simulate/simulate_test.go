package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// run simulates or fails the test.
func run(t *testing.T, o Options) []User {
	t.Helper()
	users, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

// outcomesOnly streams a population keeping only the oracle and outcome, so
// that large populations stay small in memory.
func outcomesOnly(t *testing.T, o Options) []User {
	t.Helper()
	seq, err := Stream(o)
	if err != nil {
		t.Fatal(err)
	}
	var users []User
	for u := range seq {
		u.Events, u.Traits = nil, nil
		users = append(users, u)
	}
	return users
}

func completedShare(users []User) float64 {
	n := 0
	for _, u := range users {
		if u.Completed {
			n++
		}
	}
	return float64(n) / float64(len(users))
}

func TestOracleAUCCalibrated(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			users := outcomesOnly(t, Options{Seed: seed, Users: 20_000})
			auc, share := OracleAUC(users), completedShare(users)
			t.Logf("oracle AUC %.4f, completed %.3f", auc, share)
			if auc < 0.75 || auc > 0.9 {
				t.Errorf("oracle AUC %.4f, want 0.75..0.9", auc)
			}
			if share < 0.3 || share > 0.7 {
				t.Errorf("completed share %.3f, want 0.3..0.7", share)
			}
		})
	}
}

func jsonl(t *testing.T, users []User) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSONL(&b, users); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministicBySeed(t *testing.T) {
	t.Parallel()
	base := jsonl(t, run(t, Options{Seed: 7, Users: 300}))
	tests := []struct {
		name string
		o    Options
		same bool
	}{
		{"same seed", Options{Seed: 7, Users: 300}, true},
		{"other seed", Options{Seed: 8, Users: 300}, false},
		{"other prefix", Options{Seed: 7, Users: 300, UserPrefix: "u"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := jsonl(t, run(t, tt.o)); bytes.Equal(got, base) != tt.same {
				t.Errorf("output equal to seed 7's: %v, want %v", !tt.same, tt.same)
			}
		})
	}
}

func TestJSONLLines(t *testing.T) {
	t.Parallel()
	users := run(t, Options{Seed: 3, Users: 50})
	lines := strings.Split(strings.TrimSuffix(string(jsonl(t, users)), "\n"), "\n")
	var want []string // user ids and event ids, in order
	for _, u := range users {
		want = append(want, "user "+u.ID)
		for _, e := range u.Events {
			want = append(want, e.ID)
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, line := range lines {
		var e struct {
			so.EventInput
			Traits map[string]string `json:"traits"`
		}
		err := json.Unmarshal([]byte(line), &e)
		got := e.ID
		if e.Traits != nil {
			got = "user " + e.UserID
		}
		if err != nil || got != want[i] {
			t.Fatalf("line %d: %q (%v), want %s", i, line, err, want[i])
		}
	}
}

func TestEventsValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Options
	}{
		{"defaults", Options{Seed: 11, Users: 2000}},
		{"custom", Options{Seed: 12, Users: 300, UserPrefix: "user/", Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)),
			Spread: time.Hour, Flow: Flow{Key: "f_1", Steps: []Step{{Key: "a", ExpectedSeconds: 5, Difficulty: 1},
				{Key: "b", Required: true, ExpectedSeconds: 3000, Difficulty: 0}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids := map[string]bool{}
			for _, u := range run(t, tt.o) {
				checkUser(t, u, ids)
			}
		})
	}
}

// checkUser checks that every event passes the server's validation, in time
// order, with unique ids and the user's id and sessions.
func checkUser(t *testing.T, u User, ids map[string]bool) {
	t.Helper()
	var last time.Time
	for _, in := range u.Events {
		ts, err := time.Parse(time.RFC3339Nano, in.Timestamp)
		if err != nil || in.Timestamp != so.FormatTime(ts) {
			t.Fatalf("event %s: timestamp %q is not RFC 3339 with milliseconds in UTC", in.ID, in.Timestamp)
		}
		if _, err := so.NewEvent("p", in, ts); err != nil {
			t.Fatalf("event %+v: %v", in, err)
		}
		switch {
		case ts.Before(last):
			t.Fatalf("user %s: event %s at %s is before %s", u.ID, in.ID, ts, last)
		case ids[in.ID]:
			t.Fatalf("event id %s twice", in.ID)
		case in.UserID != u.ID || !strings.HasPrefix(in.SessionID, "s-"+u.ID+"-"):
			t.Fatalf("event %s: user %q session %q, want user %s", in.ID, in.UserID, in.SessionID, u.ID)
		}
		last, ids[in.ID] = ts, true
	}
}

// replay applies the user's events to a journey on a version of the flow
// whose every step requires the one before, as the server would.
func replay(t *testing.T, f Flow, u User) *so.Journey {
	t.Helper()
	v := &so.FlowVersion{FlowID: "f", ProjectID: "p", FlowKey: f.Key, Version: 1}
	for i, s := range f.Steps {
		st := so.Step{Key: s.Key, Required: s.Required, Kind: so.StepTask}
		if i > 0 {
			st.Prerequisites = []string{f.Steps[i-1].Key}
		}
		v.Steps = append(v.Steps, st)
	}
	first, _ := time.Parse(time.RFC3339Nano, u.Events[0].Timestamp)
	j := so.NewJourney("p", u.ID, v, first)
	for _, in := range u.Events {
		ts, _ := time.Parse(time.RFC3339Nano, in.Timestamp)
		e, err := so.NewEvent("p", in, ts)
		if err != nil {
			t.Fatal(err)
		}
		if _, n := j.Apply(v, e); n != nil {
			t.Fatalf("user %s event %s (%s %s): notice %s", u.ID, in.ID, in.Type, in.Step, n.Message)
		}
	}
	return j
}

func TestEventsMatchOutcome(t *testing.T) {
	t.Parallel()
	f := DefaultFlow()
	for _, u := range run(t, Options{Seed: 5, Users: 3000}) {
		if j := replay(t, f, u); (j.Status == so.JourneyCompleted) != u.Completed {
			t.Fatalf("user %s: completed %v, journey %s", u.ID, u.Completed, j.Status)
		}
		done := stepsDone(u)
		switch {
		case u.Completed && strings.Join(done, ",") != strings.Join(keys(f), ","):
			t.Fatalf("completer %s finished steps %v, want all in order", u.ID, done)
		case !u.Completed && (len(done) > lastRequired(f) || slices.Contains(done, f.Steps[lastRequired(f)].Key)):
			t.Fatalf("non-completer %s finished steps %v", u.ID, done)
		}
	}
}

// stepsDone lists the steps completed or skipped, in event order.
func stepsDone(u User) []string {
	var done []string
	for _, e := range u.Events {
		if e.Type == so.EventStepCompleted || e.Type == so.EventStepSkipped {
			done = append(done, e.Step)
		}
	}
	return done
}

func keys(f Flow) []string {
	var ks []string
	for _, s := range f.Steps {
		ks = append(ks, s.Key)
	}
	return ks
}

func TestOnlyOptionalStepsSkipped(t *testing.T) {
	t.Parallel()
	optional := map[string]bool{}
	for _, s := range DefaultFlow().Steps {
		optional[s.Key] = !s.Required
	}
	skips := 0
	for _, u := range run(t, Options{Seed: 6, Users: 1000}) {
		for _, e := range u.Events {
			if e.Type == so.EventStepSkipped {
				skips++
				if !optional[e.Step] {
					t.Fatalf("user %s skipped required step %s", u.ID, e.Step)
				}
			}
		}
	}
	if skips == 0 {
		t.Error("nobody skipped an optional step")
	}
}

// mean is the mean per user of a statistic, over users that match.
func mean(users []User, match func(User) bool, stat func(User) float64) float64 {
	sum, n := 0.0, 0
	for _, u := range users {
		if match(u) {
			sum += stat(u)
			n++
		}
	}
	return sum / float64(max(n, 1))
}

func count(typ so.EventType) func(User) float64 {
	return func(u User) float64 {
		n := 0
		for _, e := range u.Events {
			if e.Type == typ {
				n++
			}
		}
		return float64(n)
	}
}

func completed(u User) bool { return u.Completed }
func failed(u User) bool    { return !u.Completed }

func TestBehaviourCarriesSignal(t *testing.T) {
	t.Parallel()
	users := run(t, Options{Seed: 9, Users: 5000})
	hurried := func(u User) bool { return u.TimePressure > 0.7 }
	calm := func(u User) bool { return u.TimePressure < 0.3 }
	skilled := func(u User) bool { return u.Skill > 0.7 }
	unskilled := func(u User) bool { return u.Skill < 0.3 }
	tests := []struct {
		name       string
		more, less func(User) bool
		stat       func(User) float64
	}{
		{"errors: non-completers over completers", failed, completed, count(so.EventError)},
		{"errors: unskilled over skilled", unskilled, skilled, count(so.EventError)},
		{"rage clicks: non-completers over completers", failed, completed, count(so.EventRageClick)},
		{"skips: hurried over calm", hurried, calm, count(so.EventStepSkipped)},
		{"help: unskilled over skilled", unskilled, skilled, count(so.EventHelpOpened)},
		{"probability: completers over non-completers", completed, failed, func(u User) float64 { return u.Probability }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if more, less := mean(users, tt.more, tt.stat), mean(users, tt.less, tt.stat); !(more > less) {
				t.Errorf("mean %.3f, not above %.3f", more, less)
			}
		})
	}
}

func TestTraitsCarrySomeSignal(t *testing.T) {
	t.Parallel()
	users := run(t, Options{Seed: 10, Users: 5000})
	level := map[string]float64{"beginner": 0, "intermediate": 1, "expert": 2}
	scores, labels := make([]float64, len(users)), make([]bool, len(users))
	for i, u := range users {
		for _, k := range []string{"plan", "role", "experience", "company_size"} {
			if u.Traits[k] == "" {
				t.Fatalf("user %s has no %s: %v", u.ID, k, u.Traits)
			}
		}
		scores[i], labels[i] = level[u.Traits["experience"]], u.Completed
	}
	if auc, oracle := AUC(scores, labels), OracleAUC(users); auc < 0.55 || auc > oracle-0.05 {
		t.Errorf("experience AUC %.3f, want between 0.55 and the oracle's %.3f less 0.05", auc, oracle)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	multi := 0
	for _, u := range run(t, Options{Seed: 4, Users: 1000}) {
		var last time.Time
		for i, e := range u.Events {
			ts, _ := time.Parse(time.RFC3339Nano, e.Timestamp)
			newSession := i > 0 && e.SessionID != u.Events[i-1].SessionID
			if gap := ts.Sub(last); i > 0 && newSession != (gap >= so.SessionGap) {
				t.Fatalf("user %s event %s: new session %v after %s", u.ID, e.ID, newSession, gap)
			}
			if newSession != (i > 0 && e.Type == so.EventSessionStarted) {
				t.Fatalf("user %s event %s: %s in a new session %v", u.ID, e.ID, e.Type, newSession)
			}
			if newSession {
				multi++
			}
			last = ts
		}
	}
	if multi < 50 {
		t.Errorf("%d returns over 1000 users, want sessions after breaks", multi)
	}
}

func TestBatches(t *testing.T) {
	t.Parallel()
	users := run(t, Options{Seed: 13, Users: 200})
	var all, got []so.EventInput
	for _, u := range users {
		all = append(all, u.Events...)
	}
	for b := range Batches(users) {
		body, _ := json.Marshal(map[string]any{"events": b})
		if len(b) == 0 || len(b) > so.MaxEventsPerBatch || len(body) > so.MaxEventBatchBytes {
			t.Fatalf("batch of %d events, %d bytes", len(b), len(body))
		}
		got = append(got, b...)
	}
	if len(got) != len(all) || got[0].ID != all[0].ID || got[len(got)-1].ID != all[len(all)-1].ID {
		t.Errorf("batches hold %d events, want %d in order", len(got), len(all))
	}
}

func TestAUC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5}, []bool{true, false, true}, 0.5},
		{"one swap", []float64{0.1, 0.3, 0.2, 0.4}, []bool{false, false, true, true}, 0.75},
		{"one class", []float64{0.1, 0.2}, []bool{true, true}, 0.5},
		{"empty", nil, nil, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := AUC(tt.scores, tt.labels); got != tt.want {
				t.Errorf("AUC %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	t.Parallel()
	step := func(s Step) Flow { return Flow{Key: "f", Steps: []Step{s}} }
	tests := []struct {
		name string
		o    Options
	}{
		{"negative users", Options{Users: -1}},
		{"negative spread", Options{Spread: -time.Second}},
		{"early start", Options{Start: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"long prefix", Options{UserPrefix: strings.Repeat("x", 33)}},
		{"control prefix", Options{UserPrefix: "a\n"}},
		{"bad flow key", Options{Flow: Flow{Key: "Bad Key", Steps: DefaultFlow().Steps}}},
		{"no required step", Options{Flow: step(Step{Key: "a", ExpectedSeconds: 1})}},
		{"bad step key", Options{Flow: step(Step{Key: "A", Required: true, ExpectedSeconds: 1})}},
		{"no expected time", Options{Flow: step(Step{Key: "a", Required: true})}},
		{"difficulty over 1", Options{Flow: step(Step{Key: "a", Required: true, ExpectedSeconds: 1, Difficulty: 1.5})}},
		{"step twice", Options{Flow: Flow{Key: "f", Steps: []Step{{Key: "a", Required: true, ExpectedSeconds: 1}, {Key: "a", ExpectedSeconds: 1}}}}},
		{"no personas", Options{Personas: []Persona{}}},
		{"zero share", Options{Personas: []Persona{{Name: "p"}}}},
		{"range outside", Options{Personas: []Persona{{Name: "p", Share: 1, Skill: Range{Mean: 2}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Run(tt.o); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	total := 0.0
	for _, p := range DefaultPersonas() {
		total += p.Share
	}
	f := DefaultFlow()
	if total < 0.999 || total > 1.001 || len(f.Steps) != 5 || lastRequired(f) < 0 || !hasOptional(f) {
		t.Errorf("shares sum to %v; flow %+v", total, f)
	}
	users := run(t, Options{Seed: 1, Users: 10})
	if users[0].ID != "sim-0" || users[0].Events[0].Timestamp < so.FormatTime(DefaultStart) {
		t.Errorf("first user %s starts at %s", users[0].ID, users[0].Events[0].Timestamp)
	}
}

func hasOptional(f Flow) bool {
	for _, s := range f.Steps {
		if !s.Required {
			return true
		}
	}
	return false
}

// TestTraitsValid: every user's traits are ones POST /v1/identify accepts.
func TestTraitsValid(t *testing.T) {
	t.Parallel()
	for _, u := range run(t, Options{Seed: 5, Users: 300}) {
		raw, err := json.Marshal(u.Traits)
		if err != nil {
			t.Fatal(err)
		}
		if err := so.ValidateTraits(raw); err != nil {
			t.Fatalf("user %s traits %s: %v", u.ID, raw, err)
		}
	}
}
