package smartonboard

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestJourneyJSON pins the stored and served form of a journey: millisecond
// times, null for unset optional times and for absent steps, and a round trip
// back to the same value, whatever the order of the fields it is read from.
func TestJourneyJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 10, 0, 0, 120_000_000, time.UTC)
	done := at.Add(90 * time.Second)
	j := Journey{ID: "j1", ProjectID: "p1", UserID: "u1", FlowID: "f1", FlowKey: "start", FlowVersion: 2,
		Status: JourneyCompleted, CurrentStep: "", Sessions: 2, Returning: true,
		StartedAt: at, LastActivityAt: done, LastEventAt: done, CompletedAt: &done, UpdatedAt: done, Revision: 5,
		Steps: []StepState{{Key: "connect", Status: StepCompleted, StartedAt: &at, CompletedAt: &done, TimeSpentMS: 90000, Attempts: 1},
			{Key: "invite", Status: StepSkipped}}}
	got, err := j.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"j1","project_id":"p1","user_id":"u1","flow_id":"f1","flow":"start","flow_version":2,"status":"completed",` +
		`"current_step":"","sessions":2,"returning":true,"revision":5,` +
		`"steps":[{"key":"connect","status":"completed","time_spent_ms":90000,"attempts":1,"errors":0,"out_of_order_attempts":0,"backtracks":0,` +
		`"started_at":"2026-11-25T10:00:00.120Z","completed_at":"2026-11-25T10:01:30.120Z"},` +
		`{"key":"invite","status":"skipped","time_spent_ms":0,"attempts":0,"errors":0,"out_of_order_attempts":0,"backtracks":0,"started_at":null,"completed_at":null}],` +
		`"started_at":"2026-11-25T10:00:00.120Z","last_activity_at":"2026-11-25T10:01:30.120Z","last_event_at":"2026-11-25T10:01:30.120Z",` +
		`"completed_at":"2026-11-25T10:01:30.120Z","updated_at":"2026-11-25T10:01:30.120Z"}`
	if string(got) != want {
		t.Fatalf("journey JSON:\n got %s\nwant %s", got, want)
	}
	if viaEncoder, err := json.Marshal(j); err != nil || string(viaEncoder) != want {
		t.Fatalf("json.Marshal differs from MarshalJSON (%v):\n%s", err, viaEncoder)
	}
	// States written before this order kept steps right after status; they read
	// the same.
	stepsAt, stepsEnd := strings.Index(want, `"steps":`), strings.Index(want, `],"started_at"`)+2
	steps := want[stepsAt:stepsEnd]
	older := strings.Replace(strings.Replace(want, steps, "", 1), `"status":"completed",`, `"status":"completed",`+steps, 1)
	if older == want || strings.Count(older, `"steps":`) != 1 {
		t.Fatalf("could not build the older order: %s", older)
	}
	for _, stored := range []string{want, older} {
		var back Journey
		if err := json.Unmarshal([]byte(stored), &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, j) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, j)
		}
	}
	if empty, err := (Journey{}).MarshalJSON(); err != nil || !json.Valid(empty) || !strings.Contains(string(empty), `"steps":null`) {
		t.Fatalf("a journey without steps: %s", empty)
	}
}

// TestDecodeJourneyMatchesEncodingJSON: the fast decoder the stores use reads
// journeys (completed, active, without steps, with nulls) exactly as
// encoding/json does, and refuses what it refuses.
func TestDecodeJourneyMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 10, 0, 0, 120_000_000, time.UTC)
	done := at.Add(90 * time.Second)
	journeys := []Journey{
		{ID: "j1", ProjectID: "p1", UserID: "u1", FlowID: "f1", FlowKey: "start", FlowVersion: 2, Status: JourneyCompleted,
			Sessions: 2, Returning: true, StartedAt: at, LastActivityAt: done, LastEventAt: done, CompletedAt: &done, UpdatedAt: done,
			Revision: 5, Steps: []StepState{{Key: "connect", Status: StepCompleted, StartedAt: &at, CompletedAt: &done,
				TimeSpentMS: 90000, Attempts: 1, Errors: 3, Backtracks: 1}, {Key: "invite", Status: StepSkipped}}},
		{ID: "j2", ProjectID: "p1", UserID: "ü \"quoted\"", FlowID: "f1", FlowKey: "start", FlowVersion: 1, Status: JourneyActive,
			CurrentStep: "connect", StartedAt: at, LastActivityAt: at, LastEventAt: at, UpdatedAt: at},
	}
	for _, j := range journeys {
		doc, err := j.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var want Journey
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeJourney(doc)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Fatalf("DecodeJourney(%s) = %+v, %v\nencoding/json: %+v", doc, got, err, want)
		}
	}
	for _, bad := range []string{``, `{`, `[]`, `{"started_at":"yesterday"}`, `{"steps":{}}`} {
		var j Journey
		if json.Unmarshal([]byte(bad), &j) == nil {
			continue // only inputs encoding/json refuses
		}
		if got, err := DecodeJourney([]byte(bad)); err == nil {
			t.Errorf("DecodeJourney(%q) = %+v, want the error encoding/json gives", bad, got)
		}
	}
}

// TestFactJSONMatchesEncodingJSON: facts written and read by the fast codec
// are what encoding/json writes and reads.
func TestFactJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	secs, bucket := 12.5, 7
	f := &JourneyFact{ProjectID: "p1", JourneyID: "j1", UserID: "u1", Flow: "start", Version: 2, Revision: 4,
		StartHour: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Status: JourneyCompleted, CompleteSeconds: &secs,
		ValueSeconds: &secs, Step: "invite", EngagementBucket: &bucket, Steps: []StepFact{{Key: "connect", Reached: true,
			Started: true, Completed: true, Struggled: true, Rules: []string{"hesitation"}, Seconds: &secs}, {Key: "invite", Skipped: true}}}
	fast, err := EncodeFact(f)
	if err != nil {
		t.Fatal(err)
	}
	std, err := json.Marshal(f)
	if err != nil || string(fast) != string(std) {
		t.Fatalf("EncodeFact = %s\nencoding/json %s (%v)", fast, std, err)
	}
	back, err := DecodeFact(fast)
	if err != nil || !reflect.DeepEqual(back, f) {
		t.Fatalf("DecodeFact = %+v, %v; want %+v", back, err, f)
	}
	if _, err := DecodeFact([]byte(`{"steps":"x"}`)); err == nil {
		t.Fatal("DecodeFact of a fact whose steps are a string: no error")
	}
}
