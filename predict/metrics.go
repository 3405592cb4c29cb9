package predict

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	so "github.com/smartonboarding/smartonboard"
)

// Metrics are a model's quality on a set of predictions, as the registry
// stores them.
type Metrics = so.ModelMetrics

// Measure computes the metrics of probabilities p against labels y.
func Measure(p []float64, y []bool) Metrics {
	m := Metrics{N: len(p), AUC: AUC(p, y), ECE: ECE(p, y, eceBins)}
	for i := range p {
		q := min(max(p[i], 1e-12), 1-1e-12)
		t := b2f(y[i])
		m.LogLoss -= t*math.Log(q) + (1-t)*math.Log(1-q)
		m.Brier += (p[i] - t) * (p[i] - t)
		m.BaseRate += t
	}
	if n := float64(len(p)); n > 0 {
		m.LogLoss, m.Brier, m.BaseRate = m.LogLoss/n, m.Brier/n, m.BaseRate/n
	}
	return m
}

// eceBins is the number of equal-width probability bins of the calibration error.
const eceBins = 10

// AUC is the area under the ROC curve by the rank-sum formula, ties counting
// half; 0.5 when either class is empty.
func AUC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var pos, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2
		for _, k := range idx[i:j] {
			if labels[k] {
				pos++
				rankSum += mid
			}
		}
		i = j
	}
	neg := float64(len(idx)) - pos
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// ECE is the expected calibration error: over equal-width bins of predicted
// probability, the gap between mean prediction and observed rate, weighted
// by the bin's share of predictions.
func ECE(p []float64, y []bool, bins int) float64 {
	sumP, sumY, n := make([]float64, bins), make([]float64, bins), make([]float64, bins)
	for i := range p {
		b := min(int(p[i]*float64(bins)), bins-1)
		sumP[b] += p[i]
		sumY[b] += b2f(y[i])
		n[b]++
	}
	ece := 0.0
	for b := range bins {
		if n[b] > 0 {
			ece += math.Abs(sumP[b]-sumY[b]) / float64(len(p))
		}
	}
	return ece
}

// Bin is one bin of a calibration plot: mean prediction against observed rate.
type Bin struct {
	Predicted float64 `json:"predicted"`
	Observed  float64 `json:"observed"`
	N         int     `json:"n"`
}

// Calibration is the calibration plot of p against y in equal-width bins.
func Calibration(p []float64, y []bool, bins int) []Bin {
	out := make([]Bin, bins)
	for i := range p {
		b := min(int(p[i]*float64(bins)), bins-1)
		out[b].Predicted += p[i]
		out[b].Observed += b2f(y[i])
		out[b].N++
	}
	for i := range out {
		if out[i].N > 0 {
			out[i].Predicted /= float64(out[i].N)
			out[i].Observed /= float64(out[i].N)
		}
	}
	return out
}

// Interval is a bootstrap percentile interval around a point estimate.
type Interval struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Bootstrap resamples groups (journeys, so a journey's several predictions
// move together) with replacement and returns the 95% percentile interval
// of stat over the resamples; stat gets the indices of the chosen items.
func Bootstrap(groups []int, rounds int, seed uint64, stat func(idx []int) float64) Interval {
	members := map[int][]int{}
	var keys []int
	for i, g := range groups {
		if members[g] == nil {
			keys = append(keys, g)
		}
		members[g] = append(members[g], i)
	}
	all := make([]int, len(groups))
	for i := range all {
		all[i] = i
	}
	iv := Interval{Value: stat(all)}
	if len(keys) == 0 || rounds <= 0 {
		iv.Low, iv.High = iv.Value, iv.Value
		return iv
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	vals := make([]float64, rounds)
	idx := make([]int, 0, len(groups))
	for r := range rounds {
		idx = idx[:0]
		for range keys {
			idx = append(idx, members[keys[rng.IntN(len(keys))]]...)
		}
		vals[r] = stat(idx)
	}
	slices.Sort(vals)
	iv.Low, iv.High = vals[int(0.025*float64(rounds))], vals[min(rounds-1, int(0.975*float64(rounds)))]
	return iv
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
