package predict

import (
	"math"
	"slices"
	"sort"
)

// Reference is a feature's distribution in training: the upper edges of up
// to ten quantile bins (the last bin is open) and each bin's share.
type Reference struct {
	Edges  []float64 `json:"edges"`
	Shares []float64 `json:"shares"`
}

// referenceBins is the number of quantile bins of a reference.
const referenceBins = 10

// NewReference bins the values at their deciles; equal deciles merge, so a
// 0/1 indicator gets two bins.
func NewReference(values []float64) Reference {
	if len(values) == 0 {
		return Reference{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	var edges []float64
	for q := 1; q < referenceBins; q++ {
		e := v[min(len(v)-1, q*len(v)/referenceBins)]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	if edges[len(edges)-1] >= v[len(v)-1] {
		edges = edges[:len(edges)-1]
	}
	r := Reference{Edges: edges}
	r.Shares = r.shares(values)
	return r
}

// bin is the index of the bin holding x: the first edge at or above it.
func (r Reference) bin(x float64) int { return sort.SearchFloat64s(r.Edges, x) }

// shares is the share of values in each bin.
func (r Reference) shares(values []float64) []float64 {
	s := make([]float64, len(r.Edges)+1)
	for _, x := range values {
		s[r.bin(x)]++
	}
	for i := range s {
		s[i] /= float64(max(len(values), 1))
	}
	return s
}

// psiFloor keeps an empty bin from making the index infinite.
const psiFloor = 1e-4

// PSI is the population stability index of values against the reference:
// Σ (actual − expected)·ln(actual ÷ expected) over the bins. Below 0.1 is
// usually read as stable, above 0.25 as a shift.
func (r Reference) PSI(values []float64) float64 {
	if len(values) == 0 || len(r.Shares) == 0 {
		return 0
	}
	psi := 0.0
	for i, a := range r.shares(values) {
		a, e := max(a, psiFloor), max(r.Shares[i], psiFloor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// FeatureDrift is one feature's stability index.
type FeatureDrift struct {
	Feature string  `json:"feature"`
	PSI     float64 `json:"psi"`
}

// Drift is the stability index of every feature of the vectors against the
// training reference, largest first.
func (p *Params) Drift(xs [][]float64) []FeatureDrift {
	out := make([]FeatureDrift, 0, len(p.Reference))
	col := make([]float64, len(xs))
	for i, ref := range p.Reference {
		for k, x := range xs {
			col[k] = x[i]
		}
		out = append(out, FeatureDrift{p.Schema.Name(i), ref.PSI(col)})
	}
	slices.SortFunc(out, func(a, b FeatureDrift) int { return -cmpFloat(a.PSI, b.PSI) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
