package analytics

import (
	"fmt"

	"github.com/axiomhq/hyperloglog"
)

// usersPrecision is the HyperLogLog precision of every Users: sketches of
// different precisions cannot be merged, so DecodeUsers refuses any other.
const usersPrecision = 14

// Users estimates how many distinct user ids it was given: exact for a few
// hundred (the sketch's sparse form), within about 1% beyond. Users can be
// merged (a union) but not subtracted.
type Users struct{ sk *hyperloglog.Sketch }

// NewUsers returns an empty set.
func NewUsers() *Users { return &Users{sk: hyperloglog.New14()} }

// DecodeUsers reads what Encode wrote; nil or empty bytes are an empty set.
func DecodeUsers(b []byte) (*Users, error) {
	u := NewUsers()
	if len(b) == 0 {
		return u, nil
	}
	if err := u.sk.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("analytics: corrupt users sketch: %w", err)
	}
	if b[1] != usersPrecision { // byte 1 of the format is the precision
		return nil, fmt.Errorf("analytics: users sketch of precision %d, want %d", b[1], usersPrecision)
	}
	return u, nil
}

// Add counts a user id (again: it counts once).
func (u *Users) Add(userID string) { u.sk.Insert([]byte(userID)) }

// Merge adds o's users to u (a nil o adds none); it fails only on a sketch
// of another precision, which DecodeUsers never returns.
func (u *Users) Merge(o *Users) error {
	if o == nil {
		return nil
	}
	return u.sk.Merge(o.sk)
}

// Estimate returns the estimated number of distinct users.
func (u *Users) Estimate() int64 { return int64(u.sk.Estimate()) }

// Encode returns the sketch's bytes, nil for an empty set. The bytes are not
// canonical: equal sets may encode differently.
func (u *Users) Encode() ([]byte, error) {
	if u.Estimate() == 0 { // a sketch holding any id estimates at least 1
		return nil, nil
	}
	return u.sk.MarshalBinary()
}
