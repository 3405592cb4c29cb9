package smartonboard

import (
	"context"
	"slices"
	"time"
)

// RejectionCount is how many events of one project were rejected with one
// error code in one hour (UTC, by when the server refused them: a rejected
// event's own timestamp may be what was wrong with it).
type RejectionCount struct {
	ProjectID string
	Hour      time.Time
	Code      string
	Events    int64
}

// RejectionStore keeps the counts of rejected events, which nothing else
// records: the batch's response is the only other place they appear.
type RejectionStore interface {
	// AddRejections adds the counts to the stored ones in one transaction;
	// counts of a project that no longer exists are dropped, so they cannot
	// fail the others forever.
	AddRejections(ctx context.Context, counts []RejectionCount) error
}

// RejectionCode is the code a rejection is counted under: its own when it is
// one of ours, else internal, so the counts' keys stay a small fixed set
// whatever a caller sends.
func RejectionCode(code string) string {
	if slices.Contains(ErrorCodes, code) {
		return code
	}
	return EINTERNAL
}
