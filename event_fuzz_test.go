package smartonboard_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	so "github.com/smartonboarding/smartonboard"
)

// fuzzReceived is when every fuzzed event arrives, so a run is reproducible.
var fuzzReceived = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// eventFields are the fields NewEvent may name in an error.
var eventFields = []string{"id", "type", "user_id", "session_id", "flow", "step", "timestamp", "properties", "properties.name"}

// FuzzNewEvent protects event validation: whatever a client sends, NewEvent never
// panics, refuses with an invalid error naming a field, and accepts only events
// that the stores can keep and that pass validation again unchanged.
func FuzzNewEvent(f *testing.F) {
	f.Add("e1", "click", "u1", "s1", "", "", "2026-11-25T09:59:00.123Z", []byte(`{"target":"#save"}`))
	f.Add("e2", "step_completed", "user-2", "", "onboarding", "connect", "2026-11-25T10:04:59+01:00", []byte(nil))
	f.Add("e3", "custom", "u3", "", "", "", "2026-01-01T00:00:00Z", []byte(`{"name":"exported"}`))
	f.Add("e4", "custom", "u4", "", "", "", "2026-01-01T00:00:00Z", []byte(`{"name":"  "}`))
	f.Add("e5", "step_viewed", "u5", "", "flow", "", "2026-11-25T10:00:00Z", []byte(`null`))
	f.Add("e6", "click", "u\x00", "", "", "", "2026-11-25T10:00:00Z", []byte(`{}`))
	f.Add("\xff", "click", "u6", "", "", "", "2026-11-25T10:00:00Z", []byte(`{}`))
	f.Add("e7", "click", "u7", "", "", "", "2026-11-25T10:06:00Z", []byte(`{}`))
	f.Add("e8", "click", "u8", "", "", "", "yesterday", []byte(`{}`))
	f.Add("e9", "click", "u9", "", "", "", "2026-11-25T10:00:00Z", []byte(`{"a":"\ud800"}`))
	f.Add("e10", "click", "u10", "", "", "", "2026-11-25T10:00:00Z", []byte(`{"a":"\u0000"}`))
	f.Add("e11", "click", "u11", "", "", "", "2026-11-25T10:00:00Z", []byte(`[1,2]`))
	f.Add("e12", "idle", strings.Repeat("é", so.MaxUserIDLen), "", "", "", "1999-12-31T23:59:59.999999999-23:59", []byte(` {"a":1} `))
	f.Fuzz(func(t *testing.T, id, typ, userID, sessionID, flow, step, ts string, props []byte) {
		in := so.EventInput{ID: id, Type: so.EventType(typ), UserID: userID, SessionID: sessionID,
			Flow: flow, Step: step, Timestamp: ts, Properties: json.RawMessage(props)}
		ev, err := so.NewEvent("default", in, fuzzReceived)
		if err != nil {
			checkAppError(t, err, so.EINVALID)
			if field := so.ErrorField(err); !slices.Contains(eventFields, field) {
				t.Fatalf("error %v names field %q, not one of %v", err, field, eventFields)
			}
			return
		}
		checkStoredEvent(t, in, ev)
	})
}

// checkAppError fails unless err is an *so.Error (possibly wrapped) with the code
// and a message.
func checkAppError(t *testing.T, err error, code string) {
	t.Helper()
	var appErr *so.Error
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v (%T) is not an *so.Error", err, err)
	}
	if appErr.Code != code || appErr.Message == "" {
		t.Fatalf("error %#v: want code %q and a message", appErr, code)
	}
}

// checkStoredEvent holds an accepted event to what NewEvent promises.
func checkStoredEvent(t *testing.T, in so.EventInput, ev *so.Event) {
	t.Helper()
	if ev.ProjectID != "default" || ev.ID != in.ID || ev.Type != in.Type || ev.UserID != in.UserID ||
		ev.SessionID != in.SessionID || ev.Flow != in.Flow || ev.Step != in.Step || !ev.ReceivedAt.Equal(fuzzReceived) {
		t.Fatalf("event %+v does not carry its input %+v", ev, in)
	}
	for _, s := range []struct {
		field       string
		v           string
		min, maxLen int
	}{{"id", ev.ID, 1, so.MaxEventIDLen}, {"user_id", ev.UserID, 1, so.MaxUserIDLen},
		{"session_id", ev.SessionID, 0, 128}, {"flow", ev.Flow, 0, 64}, {"step", ev.Step, 0, 64}} {
		if n := utf8.RuneCountInString(s.v); !utf8.ValidString(s.v) || strings.ContainsRune(s.v, 0) || n < s.min || n > s.maxLen {
			t.Fatalf("accepted %s %q: want valid UTF-8 without NUL, %d to %d characters", s.field, s.v, s.min, s.maxLen)
		}
	}
	if strings.IndexFunc(ev.UserID, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		t.Fatalf("accepted user_id %q holds a control character", ev.UserID)
	}
	if !slices.Contains(so.EventTypes, ev.Type) {
		t.Fatalf("accepted unknown type %q", ev.Type)
	}
	parsed, err := time.Parse(time.RFC3339Nano, in.Timestamp)
	if err != nil || !ev.Timestamp.Equal(so.Truncate(parsed)) || ev.Timestamp.Location() != time.UTC ||
		ev.Timestamp.After(fuzzReceived.Add(so.MaxFutureSkew)) {
		t.Fatalf("accepted timestamp %q as %v", in.Timestamp, ev.Timestamp)
	}
	checkProperties(t, in, ev)
	if _, err := json.Marshal(ev); err != nil {
		t.Fatalf("an accepted event cannot be rendered: %v", err)
	}
	if ev.Timestamp.Year() < 1 {
		// Before year 1 in UTC (a year-0 time with a positive offset) RFC 3339
		// cannot write the time back, so there is nothing to validate again.
		return
	}
	again := so.EventInput{ID: ev.ID, Type: ev.Type, UserID: ev.UserID, SessionID: ev.SessionID, Flow: ev.Flow,
		Step: ev.Step, Timestamp: so.FormatTime(ev.Timestamp), Properties: ev.Properties}
	ev2, err := so.NewEvent(ev.ProjectID, again, fuzzReceived)
	if err != nil {
		t.Fatalf("an accepted event fails validation again: %v (%+v)", err, again)
	}
	if !ev2.Timestamp.Equal(ev.Timestamp) || string(ev2.Properties) != string(ev.Properties) {
		t.Fatalf("validating again changed the event: %+v, then %+v", ev, ev2)
	}
}

// checkProperties wants a JSON object within the limit that holds no NUL once
// decoded, "{}" for absent properties, and a name on custom events.
func checkProperties(t *testing.T, in so.EventInput, ev *so.Event) {
	t.Helper()
	if len(in.Properties) == 0 || string(in.Properties) == "null" {
		if string(ev.Properties) != "{}" {
			t.Fatalf("absent properties %q stored as %q", in.Properties, ev.Properties)
		}
	} else if string(ev.Properties) != string(in.Properties) {
		t.Fatalf("properties %q stored as %q", in.Properties, ev.Properties)
	}
	var obj map[string]any
	if len(ev.Properties) > so.MaxPropertiesBytes || !utf8.Valid(ev.Properties) || json.Unmarshal(ev.Properties, &obj) != nil || obj == nil {
		t.Fatalf("accepted properties %q: want a JSON object of at most %d bytes", ev.Properties, so.MaxPropertiesBytes)
	}
	if s, ok := findNUL(obj); ok {
		t.Fatalf("accepted properties %q hold a NUL in %q", ev.Properties, s)
	}
	if ev.Type == so.EventCustom && !hasName(obj) {
		t.Fatalf("accepted a custom event without a name: %q", ev.Properties)
	}
}

// hasName tells whether properties hold a non-blank string name. The key matches
// without regard to case, as encoding/json matches it in NewEvent.
func hasName(obj map[string]any) bool {
	for k, v := range obj {
		if name, ok := v.(string); ok && strings.EqualFold(k, "name") && strings.TrimSpace(name) != "" {
			return true
		}
	}
	return false
}

// findNUL returns the first decoded string (key or value) that holds a NUL.
func findNUL(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if s, ok := findNUL(e); ok {
				return s, true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) {
				return k, true
			}
			if s, ok := findNUL(e); ok {
				return s, true
			}
		}
	}
	return "", false
}
