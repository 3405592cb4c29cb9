package behaviour

import "math"

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Effect compares the completion rate of sent and held-out interventions.
type Effect struct {
	SentN, SentK, HeldN, HeldK int
	SentRate, HeldRate         float64
	Difference, Low, High      float64 // sent − held, with a 95% interval
	Defined                    bool    // false when a group is empty or a count impossible
}

// Compare gives the difference of proportions with Newcombe's hybrid score
// interval (1998, method 10), which stays inside [−1, 1] and behaves at 0 and n.
func Compare(sentN, sentK, heldN, heldK int) Effect {
	e := Effect{SentN: sentN, SentK: sentK, HeldN: heldN, HeldK: heldK}
	if sentN <= 0 || heldN <= 0 || sentK < 0 || heldK < 0 || sentK > sentN || heldK > heldN {
		return e
	}
	p1, l1, u1 := wilson(sentK, sentN)
	p2, l2, u2 := wilson(heldK, heldN)
	e.SentRate, e.HeldRate, e.Difference, e.Defined = p1, p2, p1-p2, true
	e.Low = e.Difference - math.Hypot(p1-l1, u2-p2)
	e.High = e.Difference + math.Hypot(u1-p1, p2-l2)
	return e
}

// wilson returns a proportion and its 95% Wilson score interval.
func wilson(k, n int) (p, low, high float64) {
	p, nf, z2 := float64(k)/float64(n), float64(n), z95*z95
	centre := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return p, max(0, centre-half), min(1, centre+half)
}
