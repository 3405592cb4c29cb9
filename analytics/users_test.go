package analytics_test

import (
	"fmt"
	"testing"

	"github.com/axiomhq/hyperloglog"

	"github.com/smartonboarding/smartonboard/analytics"
)

// usersOf adds the ids user-from … user-(to-1).
func usersOf(from, to int) *analytics.Users {
	u := analytics.NewUsers()
	for i := from; i < to; i++ {
		u.Add(fmt.Sprint("user-", i))
	}
	return u
}

// TestUsersExactWhenFew: the sketch's sparse form keeps 25-bit hashes, so a
// few hundred ids are counted exactly, and an id added again counts once.
func TestUsersExactWhenFew(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 10, 100, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			u := usersOf(0, n)
			for i := range n {
				u.Add(fmt.Sprint("user-", i))
			}
			if got := u.Estimate(); got != int64(n) {
				t.Fatalf("Estimate = %d, want %d", got, n)
			}
		})
	}
}

func TestUsersEstimateMany(t *testing.T) {
	t.Parallel()
	const n = 10_000
	if got := usersOf(0, n).Estimate(); got < n*98/100 || got > n*102/100 {
		t.Fatalf("Estimate = %d, want %d within 2%%", got, n)
	}
}

// TestUsersMergeIsUnion: users in both sketches count once.
func TestUsersMergeIsUnion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		a, b             [2]int // id ranges
		wantLow, wantMax int64
	}{
		{"overlapping few", [2]int{0, 60}, [2]int{40, 100}, 100, 100},           // 0…99
		{"disjoint few", [2]int{0, 5}, [2]int{5, 8}, 8, 8},                      // 0…7
		{"same", [2]int{0, 50}, [2]int{0, 50}, 50, 50},                          // 0…49
		{"overlapping many", [2]int{0, 6000}, [2]int{4000, 10000}, 9800, 10200}, // 0…9999 within 2%
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := usersOf(tc.a[0], tc.a[1])
			if err := u.Merge(usersOf(tc.b[0], tc.b[1])); err != nil {
				t.Fatal(err)
			}
			if err := u.Merge(nil); err != nil {
				t.Fatal(err)
			}
			if got := u.Estimate(); got < tc.wantLow || got > tc.wantMax {
				t.Fatalf("Estimate = %d, want [%d, %d]", got, tc.wantLow, tc.wantMax)
			}
		})
	}
}

func TestUsersRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 300, 10_000} { // empty, sparse and dense
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			u := usersOf(0, n)
			b, err := u.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if (b == nil) != (n == 0) {
				t.Fatalf("%d users encode as %d bytes", n, len(b))
			}
			d, err := analytics.DecodeUsers(b)
			if err != nil {
				t.Fatal(err)
			}
			if d.Estimate() != u.Estimate() {
				t.Fatalf("decoded estimate %d, encoded %d", d.Estimate(), u.Estimate())
			}
			d.Add("someone-new")
			if got := d.Estimate() - u.Estimate(); n < 1000 && got != 1 {
				t.Fatalf("a new user after decoding adds %d", got)
			}
		})
	}
}

func TestDecodeUsersRefuses(t *testing.T) {
	t.Parallel()
	other := hyperloglog.New16()
	other.Insert([]byte("a"))
	p16, err := other.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"garbage":        []byte("not a sketch at all"),
		"short":          {2, 14},
		"precision 16":   p16, // could not be merged with the others
		"unknown format": {9, 14, 0, 1, 0, 0, 0, 0},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := analytics.DecodeUsers(b); err == nil {
				t.Fatalf("DecodeUsers(%x) succeeded", b)
			}
		})
	}
	if u, err := analytics.DecodeUsers(nil); err != nil || u.Estimate() != 0 {
		t.Fatalf("DecodeUsers(nil) = %v, %v; want empty", u, err)
	}
}

// TestUsersEncodeDenseWhenMany: a sketch of a few thousand ids is written in
// the dense form, whose decoding and merging cost a fixed 16 KB however many
// ids it holds, and still counts within 2%; a small one stays sparse (exact).
func TestUsersEncodeDenseWhenMany(t *testing.T) {
	t.Parallel()
	const sparseFlag = 3 // byte 3 of the encoding: 1 sparse, 0 dense
	for _, tc := range []struct {
		n     int
		dense bool
	}{{100, false}, {2000, false}, {5000, true}, {50_000, true}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			t.Parallel()
			b, err := usersOf(0, tc.n).Encode()
			if err != nil {
				t.Fatal(err)
			}
			if dense := b[sparseFlag] == 0; dense != tc.dense {
				t.Fatalf("%d ids: dense %v (%d bytes), want %v", tc.n, dense, len(b), tc.dense)
			}
			back, err := analytics.DecodeUsers(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := back.Merge(usersOf(tc.n, tc.n+100)); err != nil { // a sparse one merged into it
				t.Fatal(err)
			}
			want := float64(tc.n + 100)
			if got := float64(back.Estimate()); got < want*0.98 || got > want*1.02 {
				t.Fatalf("%d ids and 100 more: estimate %v, want %v within 2%%", tc.n, got, want)
			}
			if !tc.dense && back.Estimate() != int64(want) {
				t.Fatalf("%d ids and 100 more, sparse: estimate %d, want exactly %v", tc.n, back.Estimate(), want)
			}
		})
	}
}

// TestUserHashIsTheSketchs: ids hashed by UserHash land in the registers the
// library's own Insert picks, so sketches stored before and after agree.
func TestUserHashIsTheSketchs(t *testing.T) {
	t.Parallel()
	mine, theirs := hyperloglog.NewNoSparse(), hyperloglog.NewNoSparse()
	for i := range 5000 {
		id := fmt.Sprint("user-", i)
		mine.InsertHash(analytics.UserHash(id))
		theirs.Insert([]byte(id))
	}
	a, errA := mine.MarshalBinary()
	b, errB := theirs.MarshalBinary()
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Fatalf("UserHash's registers differ from Insert's (errors %v, %v)", errA, errB)
	}
}

// TestUsersTurnDenseAsTheyGrow: a set that turns dense as ids are added
// past denseFrom ends holding what a sparse sketch of the same ids turned
// dense by Encode holds, byte for byte.
func TestUsersTurnDenseAsTheyGrow(t *testing.T) {
	t.Parallel()
	raw := hyperloglog.New14() // the library's sparse sketch, never turned dense by Users
	for i := range 6000 {
		raw.Insert([]byte(fmt.Sprint("user-", i)))
	}
	b, err := raw.MarshalBinary()
	if err != nil || b[3] != 1 {
		t.Fatalf("the library's sketch of 6000 ids: %v, sparse flag %d; want sparse", err, b[3])
	}
	sparse, err := analytics.DecodeUsers(b)
	if err != nil {
		t.Fatal(err)
	}
	s, errS := sparse.Encode()
	g, errG := usersOf(0, 6000).Encode()
	if errG != nil || errS != nil {
		t.Fatalf("Encode: %v, %v", errG, errS)
	}
	if g[3] != 0 || s[3] != 0 {
		t.Errorf("a set of 6000 users encodes sparse (grown %d, decoded %d)", g[3], s[3])
	}
	if string(g) != string(s) {
		t.Errorf("the set grown dense differs from the sparse sketch turned dense")
	}
}
