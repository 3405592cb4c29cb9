package predict

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// KindLogistic is the model kind this package trains.
const KindLogistic = "logistic"

// Params are what a trained model needs to score: the schema, the
// standardization, the weights and the calibration, plus the training
// distribution of each feature for drift.
type Params struct {
	Schema Schema    `json:"schema"`
	Mean   []float64 `json:"mean"`
	Scale  []float64 `json:"scale"`
	// Weights are per standardized feature; Bias is the intercept.
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	// PlattA and PlattB map the raw logit s to the calibrated 1/(1+exp(-(A·s+B))).
	PlattA float64 `json:"platt_a"`
	PlattB float64 `json:"platt_b"`
	// Reference is each feature's distribution over the training samples.
	Reference []Reference `json:"reference"`
}

// Check refuses parameters whose lengths disagree, so a stored model that
// cannot score is found when it is loaded, not when a user is scored.
func (p *Params) Check() error {
	n := p.Schema.Len()
	if n == 0 || len(p.Mean) != n || len(p.Scale) != n || len(p.Weights) != n {
		return errors.New("model parameters do not match their schema")
	}
	for _, v := range slices.Concat(p.Mean, p.Scale, p.Weights, []float64{p.Bias, p.PlattA, p.PlattB}) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("model parameters are not finite")
		}
	}
	return nil
}

// Contribution is one feature's push on a prediction, in words.
type Contribution struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"`
	// Effect is the change in log-odds against an average journey.
	Effect float64 `json:"effect"`
	Text   string  `json:"text"`
}

// Score is the calibrated probability of vector x.
func (p *Params) Score(x []float64) float64 {
	return sigmoid(p.PlattA*p.logit(x) + p.PlattB)
}

// logit is the uncalibrated log-odds of x.
func (p *Params) logit(x []float64) float64 {
	s := p.Bias
	for i, v := range x {
		s += p.Weights[i] * p.z(i, v)
	}
	return s
}

// z standardizes feature i.
func (p *Params) z(i int, v float64) float64 { return (v - p.Mean[i]) / p.Scale[i] }

// Explain lists the n features that move x's prediction most, largest first.
func (p *Params) Explain(x []float64, n int) []Contribution {
	cs := make([]Contribution, 0, len(x))
	for i, v := range x {
		e := p.PlattA * p.Weights[i] * p.z(i, v)
		if math.Abs(e) < 0.01 {
			continue
		}
		cs = append(cs, Contribution{Feature: p.Schema.Name(i), Value: v, Effect: e, Text: p.words(i, v, e)})
	}
	slices.SortFunc(cs, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Effect), math.Abs(a.Effect)) })
	return cs[:min(n, len(cs))]
}

// words says how feature i's value moves the chance.
func (p *Params) words(i int, v, effect float64) string {
	way := "raises"
	if effect < 0 {
		way = "lowers"
	}
	if i >= len(p.Schema.Features) {
		if v == 0 {
			return fmt.Sprintf("not having %s %s the chance", p.Schema.Words(i), way)
		}
		return fmt.Sprintf("%s, which %s the chance", p.Schema.Words(i), way)
	}
	level := "more"
	if v < p.Mean[i] {
		level = "less"
	}
	return fmt.Sprintf("%s: %s than usual, which %s the chance", p.Schema.Words(i), level, way)
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
