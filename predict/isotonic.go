package predict

import (
	"cmp"
	"slices"
	"sort"
)

// Isotonic is a monotone map from a Platt-calibrated probability to an
// observed rate: knots fitted by pool-adjacent-violators on the calibration
// split, linearly interpolated between them so that scores keep their order.
type Isotonic struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// minBlock is the fewest calibration samples behind one knot.
const minBlock = 50

// fitIsotonic fits the map from p to y.
func fitIsotonic(p []float64, y []bool) Isotonic {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	type block struct{ sumX, sumY, n float64 }
	var bs []block
	for start := 0; start < len(idx); start += minBlock {
		var b block
		for _, i := range idx[start:min(start+minBlock, len(idx))] {
			b.sumX, b.sumY, b.n = b.sumX+p[i], b.sumY+b2f(y[i]), b.n+1
		}
		bs = append(bs, b)
		for len(bs) > 1 && bs[len(bs)-2].sumY/bs[len(bs)-2].n >= bs[len(bs)-1].sumY/bs[len(bs)-1].n {
			last := bs[len(bs)-1]
			bs = bs[:len(bs)-1]
			bs[len(bs)-1].sumX += last.sumX
			bs[len(bs)-1].sumY += last.sumY
			bs[len(bs)-1].n += last.n
		}
	}
	var m Isotonic
	for _, b := range bs {
		m.X, m.Y = append(m.X, b.sumX/b.n), append(m.Y, min(max(b.sumY/b.n, 0.002), 0.998))
	}
	return m
}

// apply maps p, interpolating between knots and holding the end values.
func (m Isotonic) apply(p float64) float64 {
	if len(m.X) == 0 {
		return p
	}
	i := sort.SearchFloat64s(m.X, p)
	switch {
	case i == 0:
		return m.Y[0]
	case i == len(m.X):
		return m.Y[len(m.Y)-1]
	}
	t := (p - m.X[i-1]) / (m.X[i] - m.X[i-1])
	return m.Y[i-1] + t*(m.Y[i]-m.Y[i-1])
}
