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

// Params are what a trained model needs to score: the schema, one linear
// model per stage of a journey's life (early behaviour means something else
// than late behaviour, and each stage is calibrated on its own), and the
// training distribution of each feature for drift.
type Params struct {
	Schema Schema  `json:"schema"`
	Stages []Stage `json:"stages"`
	// Reference is each feature's distribution over the training samples.
	Reference []Reference `json:"reference"`
}

// Stage is the model of journeys whose age at scoring is below UntilMinutes
// (the last stage has 0: no bound).
type Stage struct {
	UntilMinutes float64 `json:"until_minutes"`
	Linear
}

// Linear is a standardized logistic regression with Platt calibration.
type Linear struct {
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
	// Weights are per standardized feature; Bias is the intercept.
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	// PlattA and PlattB map the raw logit s to the calibrated 1/(1+exp(-(A·s+B))).
	PlattA float64 `json:"platt_a"`
	PlattB float64 `json:"platt_b"`
	// Isotonic, when set, corrects the Platt probability's shape.
	Isotonic Isotonic `json:"isotonic"`
}

// stageBounds are the journey ages, in minutes, where one stage hands over
// to the next: between the horizons, so a cut-off never sits on a bound.
var stageBounds = []float64{1.5, 3.5, 7.5, 15, 30, 60, 180, 480, 1080, 2880}

// Check refuses parameters whose lengths disagree, so a stored model that
// cannot score is found when it is loaded, not when a user is scored.
func (p *Params) Check() error {
	n := p.Schema.Len()
	if n == 0 || len(p.Stages) == 0 || len(p.Schema.Features) <= int(FElapsed) || p.Schema.Features[FElapsed] != featureNames[FElapsed] {
		return errors.New("model parameters do not match their schema")
	}
	for _, st := range p.Stages {
		if len(st.Mean) != n || len(st.Scale) != n || len(st.Weights) != n {
			return errors.New("model parameters do not match their schema")
		}
		for _, v := range slices.Concat(st.Mean, st.Scale, st.Weights, []float64{st.Bias, st.PlattA, st.PlattB}) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errors.New("model parameters are not finite")
			}
		}
	}
	return nil
}

// stage is the linear model for vector x, by the journey's age in x.
func (p *Params) stage(x []float64) *Linear {
	age := math.Expm1(x[FElapsed])
	for i := range p.Stages {
		if st := &p.Stages[i]; st.UntilMinutes == 0 || age < st.UntilMinutes {
			return &st.Linear
		}
	}
	return &p.Stages[len(p.Stages)-1].Linear
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
func (p *Params) Score(x []float64) float64 { return p.stage(x).score(x) }

func (l *Linear) score(x []float64) float64 {
	return l.Isotonic.apply(sigmoid(l.PlattA*l.logit(x) + l.PlattB))
}

// logit is the uncalibrated log-odds of x.
func (l *Linear) logit(x []float64) float64 {
	s := l.Bias
	for i, v := range x {
		s += l.Weights[i] * l.z(i, v)
	}
	return s
}

// z standardizes feature i.
func (l *Linear) z(i int, v float64) float64 { return (v - l.Mean[i]) / l.Scale[i] }

// Explain lists the n features that move x's prediction most, largest first.
func (p *Params) Explain(x []float64, n int) []Contribution {
	l := p.stage(x)
	cs := make([]Contribution, 0, len(x))
	for i, v := range x {
		e := l.PlattA * l.Weights[i] * l.z(i, v)
		if math.Abs(e) < 0.01 {
			continue
		}
		cs = append(cs, Contribution{Feature: p.Schema.Name(i), Value: v, Effect: e, Text: p.words(l, i, v, e)})
	}
	slices.SortFunc(cs, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Effect), math.Abs(a.Effect)) })
	return cs[:min(n, len(cs))]
}

// words says how feature i's value moves the chance.
func (p *Params) words(l *Linear, i int, v, effect float64) string {
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
	name := p.Schema.Features[i]
	return fmt.Sprintf("%s: %s (usually %s), which %s the chance", p.Schema.Words(i), display(name, v), display(name, l.Mean[i]), way)
}

// display renders a feature's value in the unit an admin reads: counts,
// durations, ratios to the estimate, shares.
func display(name string, v float64) string {
	f := slices.Index(featureNames[:], name)
	switch Feature(f) {
	case FProgress:
		return fmt.Sprintf("%.0f%%", 100*v)
	case FStalled:
		if v >= 0.5 {
			return "yes"
		}
		return "no"
	case FStepsCompleted, FStepsSkipped:
		return fmt.Sprintf("%.1f", v)
	case FElapsed, FSinceLast:
		return humanMinutes(math.Expm1(v))
	case FMaxGap:
		return humanMinutes(60 * math.Expm1(v))
	case FOnStep, FPace, FSlowest:
		return fmt.Sprintf("%.1f× the estimate", math.Exp(v))
	case -1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.2g", math.Expm1(v)) // the log1p counts
}

// humanMinutes prints a duration given in minutes.
func humanMinutes(m float64) string {
	switch {
	case m < 1:
		return fmt.Sprintf("%.0f s", 60*m)
	case m < 90:
		return fmt.Sprintf("%.0f min", m)
	case m < 48*60:
		return fmt.Sprintf("%.1f h", m/60)
	}
	return fmt.Sprintf("%.1f days", m/(24*60))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
