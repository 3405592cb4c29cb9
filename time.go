package smartonboard

import (
	"crypto/rand"
	"time"

	"github.com/google/uuid"
)

// TimeFormat is how every timestamp leaves the API: RFC 3339, milliseconds, UTC.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Now returns the current time at the precision the stores keep (milliseconds, UTC),
// so that a value read back equals the value written.
func Now() time.Time { return Truncate(time.Now()) }

// Truncate brings a time to stored precision: milliseconds, UTC.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// FormatTime renders a time the way the API promises.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// NewID returns a new time-ordered identifier (UUIDv7), so ids sort by creation and
// serve directly as pagination cursors.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
	}
	return id.String()
}
