package analytics

import (
	"fmt"

	"github.com/axiomhq/hyperloglog"
	metro "github.com/dgryski/go-metro"
)

// usersPrecision is the HyperLogLog precision of every Users: sketches of
// different precisions cannot be merged, so DecodeUsers refuses any other.
const usersPrecision = 14

// denseFrom is the estimate from which Encode writes the dense form (16 KB
// of registers): past a couple of thousand users a sparse sketch takes
// longer to decode and merge than the dense one, whose cost is fixed, so a
// window of busy hours costs the same however busy they were.
const denseFrom = 2048

// Users estimates how many distinct user ids it was given: exact for a few
// hundred (the sketch's sparse form), within about 1% beyond. Users can be
// merged (a union) but not subtracted.
type Users struct {
	sk    *hyperloglog.Sketch
	dense bool // the sketch holds registers, not a sparse list
	adds  int  // ids added while sparse, to decide when to turn dense
}

// NewUsers returns an empty set.
func NewUsers() *Users { return &Users{sk: hyperloglog.New14()} }

// newDenseUsers returns an empty set in the dense form.
func newDenseUsers() *Users { return &Users{sk: hyperloglog.NewNoSparse(), dense: true} }

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
	u.dense = b[3] == 0 // byte 3 is 1 for the sparse form
	return u, nil
}

// UserHash is the hash Add inserts: the hyperloglog library's own (metro
// with its seed), so that ids hashed once here count as Insert counts them
// (TestUserHashIsTheSketchs keeps the two in agreement).
func UserHash(userID string) uint64 { return metro.Hash64Str(userID, 1337) }

// Add counts a user id (again: it counts once).
func (u *Users) Add(userID string) { u.AddHash(UserHash(userID)) }

// denseCheck is how many ids a sparse set takes between checks whether it
// reached denseFrom.
const denseCheck = 256

// AddHash counts a user by its UserHash. A sparse set that reaches denseFrom
// users turns dense at once (as Encode would turn it): a sparse sketch
// re-encodes its whole list every 164 new ids, so a batch of thousands of
// users costs quadratic time sparse and linear time dense.
func (u *Users) AddHash(h uint64) {
	u.sk.InsertHash(h)
	if u.dense {
		return
	}
	if u.adds++; u.adds >= denseFrom && u.adds%denseCheck == 0 && u.Estimate() >= denseFrom {
		u.toDense()
	}
}

// toDense moves the set's users into registers.
func (u *Users) toDense() {
	dense := newDenseUsers() // precision 14, as usersPrecision
	_ = dense.Merge(u)       // same precision: Merge cannot fail
	*u = *dense
}

// Merge adds o's users to u (a nil o adds none); it fails only on a sketch
// of another precision, which DecodeUsers never returns.
func (u *Users) Merge(o *Users) error {
	if o == nil {
		return nil
	}
	u.dense = u.dense || o.dense // merging registers turns a sparse sketch dense
	return u.sk.Merge(o.sk)
}

// Estimate returns the estimated number of distinct users.
func (u *Users) Estimate() int64 { return int64(u.sk.Estimate()) }

// Encode returns the sketch's bytes, nil for an empty set. The bytes are not
// canonical: equal sets may encode differently. A sparse set of denseFrom
// users or more turns dense first, and stays so.
func (u *Users) Encode() ([]byte, error) {
	n := u.Estimate()
	if n == 0 { // a sketch holding any id estimates at least 1
		return nil, nil
	}
	if !u.dense && n >= denseFrom {
		u.toDense()
	}
	return u.sk.MarshalBinary()
}
