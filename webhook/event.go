package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// The event types an endpoint can subscribe to: "noun.verb", as the
// specification recommends.
const (
	JourneyCompleted      = "journey.completed"
	JourneyAbandoned      = "journey.abandoned"
	StruggleDetected      = "struggle.detected"
	InterventionTriggered = "intervention.triggered"
	InterventionEscalated = "intervention.escalated"
	// AlertOpened is sent once per alert, when the alert job opens it.
	AlertOpened = "alert.opened"
)

// Types lists every event type, in the order the API documents them.
var Types = []string{
	JourneyCompleted,
	JourneyAbandoned,
	StruggleDetected,
	InterventionTriggered,
	InterventionEscalated,
	AlertOpened,
}

// KnownType tells whether t is one of Types.
func KnownType(t string) bool { return slices.Contains(Types, t) }

// CheckTypes checks the event types of an endpoint's subscription: at least one,
// each known, none twice. An error names the field and, for a bad entry, its
// index (field[i]) and value.
func CheckTypes(field string, types []string) error {
	if len(types) == 0 {
		return so.FieldErrorf(so.EINVALID, field, "must name at least one event type, of %s", strings.Join(Types, ", "))
	}
	for i, t := range types {
		at := fmt.Sprintf("%s[%d]", field, i)
		if !KnownType(t) {
			return so.FieldErrorf(so.EINVALID, at, "unknown event type %q: expected one of %s", t, strings.Join(Types, ", "))
		}
		if j := slices.Index(types[:i], t); j >= 0 {
			return so.FieldErrorf(so.EINVALID, at, "event type %q is already listed at %s[%d]", t, field, j)
		}
	}
	return nil
}

// Payload is the body of every delivery, the envelope the specification
// recommends: the event type, when the event happened (RFC 3339, milliseconds,
// UTC) and the event's own fields.
type Payload struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// NewPayload renders the body of a delivery of an event of type typ that
// happened at at; data must encode to a JSON object. The body is signed and
// sent as it is, byte for byte, on every attempt.
func NewPayload(typ string, at time.Time, data any) ([]byte, error) {
	if !KnownType(typ) {
		return nil, so.FieldErrorf(so.EINVALID, "type", "unknown event type %q: expected one of %s", typ, strings.Join(Types, ", "))
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode the data of %s: %w", typ, err)
	}
	if !bytes.HasPrefix(raw, []byte("{")) {
		return nil, so.FieldErrorf(so.EINVALID, "data", "must encode to a JSON object, not %s", kind(raw))
	}
	return json.Marshal(Payload{Type: typ, Timestamp: so.FormatTime(at), Data: raw})
}

// kind names the JSON kind of an encoded value for an error message.
func kind(raw []byte) string {
	switch {
	case len(raw) == 0:
		return "nothing"
	case raw[0] == '[':
		return "an array"
	case raw[0] == '"':
		return "a string"
	case raw[0] == 'n':
		return "null"
	case raw[0] == 't' || raw[0] == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}
