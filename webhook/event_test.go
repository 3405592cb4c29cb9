package webhook

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func TestTypes(t *testing.T) {
	t.Parallel()
	want := []string{"journey.completed", "journey.abandoned", "struggle.detected",
		"intervention.triggered", "intervention.escalated", "alert.opened"}
	if strings.Join(Types, " ") != strings.Join(want, " ") {
		t.Fatalf("Types = %v, want %v", Types, want)
	}
	if err := CheckTypes("event_types", Types); err != nil {
		t.Fatalf("CheckTypes(Types) = %v", err)
	}
}

func TestCheckTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		types []string
		field string // "" when valid
		says  string
	}{
		{"one", []string{JourneyCompleted}, "", ""},
		{"two", []string{StruggleDetected, InterventionEscalated}, "", ""},
		{"nil", nil, "event_types", "at least one"},
		{"empty", []string{}, "event_types", "at least one"},
		{"unknown", []string{JourneyCompleted, "journey.started"}, "event_types[1]", `unknown event type "journey.started"`},
		{"empty entry", []string{""}, "event_types[0]", `unknown event type ""`},
		{"case", []string{"Journey.Completed"}, "event_types[0]", "unknown event type"},
		{"duplicate", []string{JourneyCompleted, StruggleDetected, JourneyCompleted}, "event_types[2]", `"journey.completed" is already listed at event_types[0]`},
	} {
		err := CheckTypes("event_types", tc.types)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != tc.field || !strings.Contains(so.ErrorMessage(err), tc.says) {
			t.Errorf("%s: CheckTypes = %v, want invalid %s saying %q", tc.name, err, tc.field, tc.says)
		}
	}
}

func TestNewPayload(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("CET", 3600))
	body, err := NewPayload(JourneyCompleted, at, map[string]any{"user_id": "u1", "flow_key": "setup"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"journey.completed","timestamp":"2026-03-04T04:06:07.891Z","data":{"flow_key":"setup","user_id":"u1"}}`
	if string(body) != want {
		t.Fatalf("NewPayload = %s\nwant          %s", body, want)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Type != JourneyCompleted {
		t.Fatalf("read back: %+v, %v", p, err)
	}

	type data struct {
		UserID string `json:"user_id"`
	}
	if _, err := NewPayload(StruggleDetected, at, data{UserID: "u2"}); err != nil {
		t.Errorf("a struct: %v", err)
	}
	for _, tc := range []struct {
		name, typ string
		data      any
		field     string
	}{
		{"unknown type", "journey.started", map[string]any{}, "type"},
		{"nil data", JourneyCompleted, nil, "data"},
		{"array data", JourneyCompleted, []int{1}, "data"},
		{"string data", JourneyCompleted, "x", "data"},
	} {
		if _, err := NewPayload(tc.typ, at, tc.data); so.ErrorField(err) != tc.field {
			t.Errorf("%s: NewPayload = %v, want an error about %s", tc.name, err, tc.field)
		}
	}
	if _, err := NewPayload(JourneyCompleted, at, map[string]any{"f": func() {}}); err == nil {
		t.Error("NewPayload encoded a func")
	}
}
