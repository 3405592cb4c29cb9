package httpapi

import (
	"encoding/json"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// TestExactNames refuses a field name that only matches its field ignoring
// case, at any depth of the API's own structs, and leaves the client's own
// objects (metadata, traits, properties) alone.
func TestExactNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body  string
		dst   any
		field string // "" when it is accepted
	}{
		{`{"user_id":"u","traits":{"Role":"x","ROLE":"y"}}`, &so.IdentifyInput{}, ""},
		{`{"USER_ID":"u"}`, &so.IdentifyInput{}, "USER_ID"},
		{`{"uſer_id":"u"}`, &so.IdentifyInput{}, "uſer_id"},
		{`{"kind":"article","title":"t","metadata":{"Title":1}}`, &so.ContentInput{}, ""},
		{`{"kind":"article","Title":"t"}`, &so.ContentInput{}, "Title"},
		{`{"settings":{"limits":{"Per_IP":3}}}`, &api.ProjectPatch{}, "settings.limits.Per_IP"},
		{`{"settings":{"limits":{"per_ip":3}}}`, &api.ProjectPatch{}, ""},
		{`{"kind":"secret","name":"n","scopes":["read"],"expires_at":"2030-01-01T00:00:00Z"}`, &so.KeyInput{}, ""},
		{`{"key":"f","name":"F","steps":[{"key":"a","Title":"A"}]}`, &so.FlowInput{}, "steps[0].Title"},
	}
	for _, tt := range tests {
		err := checkExactNames([]byte(tt.body), tt.dst)
		if got := so.ErrorField(err); got != tt.field || (tt.field != "" && so.ErrorCode(err) != so.EINVALID) {
			t.Errorf("%s: %v, want field %q", tt.body, err, tt.field)
		}
	}
	var in so.KeyInput // the body does decode; only the spelling is refused
	if err := json.Unmarshal([]byte(`{"KIND":"public"}`), &in); err != nil || in.Kind != so.KeyPublic {
		t.Fatalf("encoding/json no longer matches names ignoring case (%v): the check may be redundant", err)
	}
}

// TestEventNamesExact refuses an event field spelled in another case on the
// batch's fast path and event by event on the slow one, never the names inside
// properties.
func TestEventNamesExact(t *testing.T) {
	t.Parallel()
	ts := so.FormatTime(so.Now())
	good := `{"id":"a","type":"click","user_id":"u","timestamp":"` + ts + `","properties":{"User_ID":1}}`
	bad := `{"id":"b","type":"click","USER_ID":"u","timestamp":"` + ts + `"}`
	inputs, err := decodeEventBatch([]byte(`{"events":[` + good + `,` + bad + `]}`))
	if err != nil || len(inputs) != 2 {
		t.Fatalf("batch: %v, %d inputs", err, len(inputs))
	}
	if inputs[0].err != nil {
		t.Errorf("good event: %v", inputs[0].err)
	}
	if so.ErrorField(inputs[1].err) != "USER_ID" {
		t.Errorf("case-variant event field: %v, want it refused naming USER_ID", inputs[1].err)
	}
	if _, err := decodeEventBatch([]byte(`{"Events":[` + good + `]}`)); so.ErrorField(err) != "Events" {
		t.Errorf("case-variant envelope: %v, want it refused naming Events", err)
	}
}
