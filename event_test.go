package smartonboard_test

import (
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// TestNewEventTimestampRange refuses timestamps before 2000 and accepts 2000 itself.
func TestNewEventTimestampRange(t *testing.T) {
	t.Parallel()
	now := so.Now()
	for _, c := range []struct {
		ts string
		ok bool
	}{
		{"0000-01-01T00:00:00Z", false},
		{"1999-12-31T23:59:59.999Z", false},
		{"2000-01-01T00:00:00Z", true},
		{now.Format(time.RFC3339Nano), true},
	} {
		_, err := so.NewEvent("p", so.EventInput{ID: "e", Type: so.EventClick, UserID: "u", Timestamp: c.ts}, now)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.ts, err)
		}
		if !c.ok && (so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != "timestamp") {
			t.Errorf("%s: err = %v, want invalid timestamp", c.ts, err)
		}
	}
}
