package httpapi

import (
	"fmt"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestCheckJSONText finds repeated and case-variant field names and text that is
// not UTF-8, at any depth, and names the field.
func TestCheckJSONText(t *testing.T) {
	t.Parallel()
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	for _, c := range []struct {
		name, raw, field string
	}{
		{"clean", `{"id":"a","user_id":"u","properties":{"a":[1,{"b":"c"}],"A2":"\"q\\"}}`, ""},
		{"same name in sibling objects", `{"events":[{"id":"a"},{"id":"b"}],"x":{"id":1}}`, ""},
		{"escaped quotes and backslashes", `{"a":"\\\"","b":"\\","c":"\""}`, ""},
		{"exact repeat", `{"user_id":"good","user_id":"evil"}`, "user_id"},
		{"case variant", `{"user_id":"good","USER_ID":"evil"}`, "USER_ID"},
		{"case variant through an escape", `{"user_id":"good","user\u005fid":"evil"}`, "user_id"},
		{"Kelvin sign", `{"k":1,"\u212a":2}`, "\u212a"},
		{"in an event of a batch", `{"events":[{"id":"a"},{"id":"b","Id":"c"}]}`, "events[1].Id"},
		{"inside properties", `{"events":[{"properties":{"x":1,"x":2}}]}`, "events[0].properties.x"},
		{"among many names", `{` + strings.Join(many, ",") + `,"K39":0}`, "K39"},
		{"stray byte in a value", "{\"events\":[{\"user_id\":\"a\xffb\"}]}", "events[0].user_id"},
		{"stray byte in an array", "{\"tags\":[\"ok\",\"\xfe\"]}", "tags[1]"},
		{"stray byte in a name", "{\"a\xff\":1}", "a\uFFFD"},
		{"lone surrogate", `{"user_id":"a\ud800"}`, "user_id"},
		{"surrogate pair", `{"user_id":"a\ud83d\ude00"}`, ""},
		{"after a nested object", `{"a":{"b":1},"c":2,"a":3}`, "a"},
	} {
		err := checkJSONText([]byte(c.raw), anyDepth)
		if c.field == "" && err != nil || c.field != "" && (so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field) {
			t.Errorf("%s: err = %v, want field %q", c.name, err, c.field)
		}
	}
}

// TestCheckJSONTextDepth checks only the envelope when told to.
func TestCheckJSONTextDepth(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"events":[{"id":"a","id":"b"}]}`)
	if err := checkJSONText(raw, 1); err != nil {
		t.Fatalf("depth 1 looked into the events: %v", err)
	}
	if err := checkJSONText([]byte(`{"events":[],"Events":[]}`), 1); so.ErrorField(err) != "Events" {
		t.Fatalf("depth 1 missed the envelope: %v", err)
	}
}
