package behaviour

import (
	"math"
	"testing"
)

// TestInHoldout assigns a sticky share of users.
func TestInHoldout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		percent  float64
		min, max int // of 10,000 users: the share ±1 point
	}{{0, 0, 0}, {10, 900, 1100}, {50, 4900, 5100}}
	for _, c := range cases {
		n := 0
		for i := range 10000 {
			u := "user-" + itoa(int64(i))
			in := InHoldout("proj", u, c.percent)
			if in != InHoldout("proj", u, c.percent) {
				t.Fatalf("%s is not sticky", u)
			}
			if in {
				n++
			}
		}
		if n < c.min || n > c.max {
			t.Errorf("%v%%: %d of 10000 held out", c.percent, n)
		}
	}
	// Raising the share only adds users: nobody held out at 10% is treated at 50%.
	for i := range 1000 {
		u := "user-" + itoa(int64(i))
		if InHoldout("proj", u, 10) && !InHoldout("proj", u, 50) {
			t.Fatalf("%s left the holdout when it grew", u)
		}
	}
}

// TestCompare checks Newcombe's (1998) worked examples of method 10 and the edges.
func TestCompare(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sentN, sentK, heldN, heldK int
		diff, low, high            float64
		defined                    bool
	}{
		{70, 56, 80, 48, 0.2000, 0.0524, 0.3339, true}, // Newcombe's example (a)
		{10, 9, 10, 3, 0.6000, 0.1705, 0.8090, true},   // (b)
		{56, 5, 29, 0, 0.0893, -0.0381, 0.1926, true},  // (d)
		{10, 0, 20, 0, 0, -0.1611, 0.2775, true},       // (e)
		{10, 0, 10, 0, 0, -0.2775, 0.2775, true},       // (f)
		{10, 10, 20, 0, 1, 0.6791, 1, true},            // (g)
		{10, 10, 10, 0, 1, 0.6075, 1, true},            // (h)
		{0, 0, 10, 5, 0, 0, 0, false},                  // nothing sent
		{10, 5, 0, 0, 0, 0, 0, false},                  // nothing held out
		{10, 11, 10, 5, 0, 0, 0, false},                // more successes than trials
		{10, -1, 10, 5, 0, 0, 0, false},
	}
	for _, c := range cases {
		e := Compare(c.sentN, c.sentK, c.heldN, c.heldK)
		r4 := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
		if e.Defined != c.defined || r4(e.Difference) != c.diff || r4(e.Low) != c.low || r4(e.High) != c.high ||
			e.SentN != c.sentN || e.HeldK != c.heldK {
			t.Errorf("Compare(%d, %d, %d, %d) = %+v, want %v [%v, %v]", c.sentN, c.sentK, c.heldN, c.heldK, e, c.diff, c.low, c.high)
		}
	}
	if e := Compare(70, 56, 80, 48); !near(e.SentRate, 0.8) || !near(e.HeldRate, 0.6) {
		t.Errorf("rates %+v", e)
	}
}
