package predict

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Horizons are the cut-offs, after a journey's start, at which the training
// data looks at it: a model scores a journey at any point of its life, so it
// learns from every stage, early ones most densely.
var Horizons = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute,
	90 * time.Minute, 4 * time.Hour, 12 * time.Hour, 24 * time.Hour, 72 * time.Hour,
}

// The least data a model is trained on; below it the prior answers.
const (
	MinSettled  = 200 // settled journeys
	MinPerClass = 20  // of them completed, and of them not
)

// Options are the training settings; zero fields take the defaults named.
type Options struct {
	Now          time.Time     // judges settling; zero counts every journey as settled (a finished simulation)
	AbandonAfter time.Duration // the abandonment window (default 7 days)
	Lambda       float64       // L2 penalty on standardized weights (default 1)
	PerJourney   int           // cut-offs kept per journey (default 11: every horizon)
	// Shares of the journeys, oldest first, for training and calibration;
	// the newest rest is the holdout (defaults 0.6 and 0.2).
	TrainShare, CalibrateShare float64
}

func (o Options) withDefaults() Options {
	if o.AbandonAfter <= 0 {
		o.AbandonAfter = 7 * 24 * time.Hour
	}
	if o.Lambda <= 0 {
		o.Lambda = 1
	}
	if o.PerJourney <= 0 {
		o.PerJourney = 11
	}
	if o.TrainShare <= 0 || o.CalibrateShare <= 0 || o.TrainShare+o.CalibrateShare >= 1 {
		o.TrainShare, o.CalibrateShare = 0.6, 0.2
	}
	return o
}

// ErrTooLittleData says training was refused for want of settled journeys.
var ErrTooLittleData = errors.New("too little data")

// Collector gathers training samples from journeys streamed to it one at a
// time, keeping a few behavioural vectors per settled journey, not its events.
type Collector struct {
	o        Options
	journeys []collected
}

// collected is what training keeps of one journey.
type collected struct {
	id        string
	start     time.Time
	completed bool
	traits    map[string]string
	samples   []cut
}

// cut is a journey's behaviour at one cut-off.
type cut struct {
	at      time.Time
	horizon time.Duration
	f       [numFeatures]float32
}

// NewCollector starts a collection with the options.
func NewCollector(o Options) *Collector { return &Collector{o: o.withDefaults()} }

// Add keeps the journey if it is settled: its behaviour at up to PerJourney
// of the horizons at which it was still open, chosen by its id.
func (c *Collector) Add(h *History) {
	if len(h.Events) == 0 {
		return
	}
	start, end := h.Start(), h.end(c.o.AbandonAfter)
	// A journey that started within the window of now could have settled
	// only by completing: keeping it would tilt the newest (holdout)
	// journeys toward completers.
	if !c.o.Now.IsZero() && (!h.Settled(c.o.Now, c.o.AbandonAfter) || start.Add(c.o.AbandonAfter).After(c.o.Now)) {
		return
	}
	var cuts []cut
	for _, d := range Horizons {
		if t := start.Add(d); t.Before(end) && (c.o.Now.IsZero() || !t.After(c.o.Now)) {
			cuts = append(cuts, cut{at: t, horizon: d})
		}
	}
	rng := rand.New(rand.NewPCG(hashString(h.JourneyID), 1))
	rng.Shuffle(len(cuts), func(i, j int) { cuts[i], cuts[j] = cuts[j], cuts[i] })
	cuts = cuts[:min(len(cuts), c.o.PerJourney)]
	k := collected{id: h.JourneyID, start: start, completed: h.Completed, traits: h.Traits}
	for _, t := range cuts {
		t.f = observe(h, t.at)
		k.samples = append(k.samples, t)
	}
	if len(k.samples) > 0 {
		c.journeys = append(c.journeys, k)
	}
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Result is a trained model and how it did on the newest journeys.
type Result struct {
	Params  *Params
	Metrics Metrics // on the holdout
	// Calibration is the holdout's calibration plot.
	Calibration []Bin
	// From and To bound the training journeys' starts.
	From, To time.Time
	// Journeys counts the settled journeys of each split.
	Train, Calibrate, Holdout int
	// Samples are the holdout's predictions, for comparing models and bootstraps.
	Samples []Sample
}

// Sample is one holdout prediction: its journey (index among the holdout's,
// and id), the cut-off, the behaviour and traits it was scored on, the
// probability and the outcome.
type Sample struct {
	Journey   int
	JourneyID string
	Cutoff    time.Time
	Horizon   time.Duration
	features  [numFeatures]float32
	traits    map[string]string
	P         float64
	Y         bool
}

// Journeys is the number of settled journeys collected.
func (c *Collector) Journeys() int { return len(c.journeys) }

// Train splits the collected journeys by start (oldest for training, then
// calibration, newest for the holdout), fits the model and measures it.
func (c *Collector) Train() (*Result, error) {
	js := c.journeys
	if err := enough(js); err != nil {
		return nil, err
	}
	slices.SortStableFunc(js, func(a, b collected) int { return a.start.Compare(b.start) })
	a := int(c.o.TrainShare * float64(len(js)))
	b := a + int(c.o.CalibrateShare*float64(len(js)))
	train, cal, hold := js[:a], js[a:b], js[b:]
	traits := make([]map[string]string, len(train))
	for i := range train {
		traits[i] = train[i].traits
	}
	schema := NewSchema(traits)
	x, y := matrix(schema, train)
	cx, cy := matrix(schema, cal)
	p := &Params{Schema: schema, Reference: references(x, schema.Len())}
	pooled := fitLinear(x, y, cx, cy, schema.Len(), c.o.Lambda)
	for i := range len(stageBounds) + 1 {
		st := Stage{Linear: pooled}
		if i < len(stageBounds) {
			st.UntilMinutes = stageBounds[i]
		}
		sx, sy := stageRows(x, y, schema.Len(), i)
		scx, scy := stageRows(cx, cy, schema.Len(), i)
		if enoughRows(sy) && enoughRows(scy) {
			st.Linear = fitLinear(sx, sy, scx, scy, schema.Len(), c.o.Lambda)
		}
		p.Stages = append(p.Stages, st)
	}
	r := &Result{Params: p, From: train[0].start, To: train[len(train)-1].start,
		Train: len(train), Calibrate: len(cal), Holdout: len(hold)}
	r.Samples = holdoutSamples(hold)
	r.Metrics, r.Calibration = p.Measure(r.Samples)
	return r, nil
}

// enough refuses a collection too small or too one-sided to learn from.
func enough(js []collected) error {
	pos := 0
	for _, j := range js {
		if j.completed {
			pos++
		}
	}
	if len(js) < MinSettled || pos < MinPerClass || len(js)-pos < MinPerClass {
		return fmt.Errorf("%w: %d settled journeys, %d completed and %d not; training needs %d, with at least %d of each",
			ErrTooLittleData, len(js), pos, len(js)-pos, MinSettled, MinPerClass)
	}
	return nil
}

// vector assembles a sample's full vector under a schema.
func vector(s Schema, f *[numFeatures]float32, traits map[string]string) []float64 {
	x := make([]float64, s.Len())
	for i := range s.Features {
		if k := slices.Index(featureNames[:], s.Features[i]); k >= 0 {
			x[i] = float64(f[k])
		}
	}
	for i, t := range s.Traits {
		if traits[t.Key] == t.Value {
			x[len(s.Features)+i] = 1
		}
	}
	return x
}

// matrix lays the journeys' samples out as rows of one flat slice.
func matrix(s Schema, js []collected) ([]float64, []bool) {
	var x []float64
	var y []bool
	for i := range js {
		for k := range js[i].samples {
			x = append(x, vector(s, &js[i].samples[k].f, js[i].traits)...)
			y = append(y, js[i].completed)
		}
	}
	return x, y
}

// holdoutSamples lists the holdout journeys' samples, unscored.
func holdoutSamples(js []collected) []Sample {
	var out []Sample
	for i := range js {
		for k := range js[i].samples {
			c := &js[i].samples[k]
			out = append(out, Sample{Journey: i, JourneyID: js[i].id, Cutoff: c.at, Horizon: c.horizon,
				features: c.f, traits: js[i].traits, Y: js[i].completed})
		}
	}
	return out
}

// Measure scores the samples under p (filling each P) and returns the metrics
// and calibration plot, so two models are compared on the same holdout.
func (p *Params) Measure(ss []Sample) (Metrics, []Bin) {
	probs, ys := make([]float64, len(ss)), make([]bool, len(ss))
	for i := range ss {
		probs[i] = p.Score(vector(p.Schema, &ss[i].features, ss[i].traits))
		ss[i].P, ys[i] = probs[i], ss[i].Y
	}
	return Measure(probs, ys), Calibration(probs, ys, eceBins)
}

// fitLinear trains one standardized logistic regression on (x, y) and
// calibrates it on (cx, cy).
func fitLinear(x []float64, y []bool, cx []float64, cy []bool, d int, lambda float64) Linear {
	var l Linear
	l.standardize(x, d)
	l.Weights, l.Bias = fitLogistic(l.zscores(x), y, d, lambda)
	logits := l.logits(cx)
	l.PlattA, l.PlattB = fitPlatt(logits, cy)
	ps := make([]float64, len(logits))
	for i, s := range logits {
		ps[i] = sigmoid(l.PlattA*s + l.PlattB)
	}
	l.Isotonic = fitIsotonic(ps, cy)
	return l
}

// stageOf is the stage index of a journey age in minutes.
func stageOf(age float64) int {
	for i, b := range stageBounds {
		if age < b {
			return i
		}
	}
	return len(stageBounds)
}

// stageRows picks the rows of stage i.
func stageRows(x []float64, y []bool, d, i int) ([]float64, []bool) {
	var sx []float64
	var sy []bool
	for r := range y {
		if stageOf(math.Expm1(x[r*d+int(FElapsed)])) == i {
			sx, sy = append(sx, x[r*d:(r+1)*d]...), append(sy, y[r])
		}
	}
	return sx, sy
}

// enoughRows tells whether a stage has the data for a model of its own.
func enoughRows(y []bool) bool {
	pos := 0
	for _, v := range y {
		if v {
			pos++
		}
	}
	return len(y) >= MinSettled && pos >= MinPerClass && len(y)-pos >= MinPerClass
}

// standardize sets the mean and scale of each column; a constant column
// keeps scale 1 so that its weight stays 0.
func (l *Linear) standardize(x []float64, d int) {
	n := len(x) / d
	l.Mean, l.Scale = make([]float64, d), make([]float64, d)
	for r := range n {
		for j := range d {
			l.Mean[j] += x[r*d+j] / float64(n)
		}
	}
	for r := range n {
		for j := range d {
			dv := x[r*d+j] - l.Mean[j]
			l.Scale[j] += dv * dv / float64(n)
		}
	}
	for j := range d {
		if l.Scale[j] = math.Sqrt(l.Scale[j]); l.Scale[j] < 1e-9 {
			l.Scale[j] = 1
		}
	}
}

// zscores standardizes a flat matrix.
func (l *Linear) zscores(x []float64) []float64 {
	d := len(l.Mean)
	z := make([]float64, len(x))
	for i, v := range x {
		z[i] = l.z(i%d, v)
	}
	return z
}

// logits are the raw log-odds of each row.
func (l *Linear) logits(x []float64) []float64 {
	d := len(l.Mean)
	out := make([]float64, len(x)/d)
	for r := range out {
		out[r] = l.logit(x[r*d : (r+1)*d])
	}
	return out
}

// references bins every training column for drift.
func references(x []float64, d int) []Reference {
	n := len(x) / d
	refs := make([]Reference, d)
	col := make([]float64, n)
	for j := range d {
		for r := range n {
			col[r] = x[r*d+j]
		}
		refs[j] = NewReference(col)
	}
	return refs
}

// Newton's method settings.
const (
	maxNewton = 50
	newtonTol = 1e-7
)

// fitLogistic minimizes the L2-penalized logistic loss over standardized rows
// by Newton's method (iteratively reweighted least squares); the intercept is
// not penalized. Each step's gradient and Hessian are summed over the rows in
// parallel, and the step solves the Hessian by Cholesky (gonum).
func fitLogistic(z []float64, y []bool, d int, lambda float64) ([]float64, float64) {
	D := d + 1
	beta := make([]float64, D)
	for range maxNewton {
		g, h := gradHess(z, y, d, beta)
		for j := range d {
			g[j] += lambda * beta[j]
			h[j*D+j] += lambda
		}
		var chol mat.Cholesky
		if !chol.Factorize(mat.NewSymDense(D, h)) {
			break
		}
		var step mat.VecDense
		if err := chol.SolveVecTo(&step, mat.NewVecDense(D, g)); err != nil {
			break
		}
		biggest := 0.0
		for j := range D {
			beta[j] -= step.AtVec(j)
			biggest = max(biggest, math.Abs(step.AtVec(j)))
		}
		if biggest < newtonTol {
			break
		}
	}
	return beta[:d], beta[d]
}

// gradHess sums the loss's gradient and (full, symmetric) Hessian over the
// rows, the last coordinate being the intercept.
func gradHess(z []float64, y []bool, d int, beta []float64) ([]float64, []float64) {
	D := d + 1
	n := len(y)
	workers := max(1, min(runtime.GOMAXPROCS(0), n/1000))
	gs, hs := make([][]float64, workers), make([][]float64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			g, h := make([]float64, D), make([]float64, D*D)
			row := make([]float64, D)
			for r := w * n / workers; r < (w+1)*n/workers; r++ {
				copy(row, z[r*d:(r+1)*d])
				row[d] = 1
				s := 0.0
				for j, v := range row {
					s += beta[j] * v
				}
				p := sigmoid(s)
				res, wt := p-b2f(y[r]), p*(1-p)
				for a, va := range row {
					g[a] += res * va
					wa := wt * va
					for b := 0; b <= a; b++ {
						h[a*D+b] += wa * row[b]
					}
				}
			}
			gs[w], hs[w] = g, h
		})
	}
	wg.Wait()
	g, h := gs[0], hs[0]
	for w := 1; w < workers; w++ {
		for i := range g {
			g[i] += gs[w][i]
		}
		for i := range h {
			h[i] += hs[w][i]
		}
	}
	for a := range D {
		for b := 0; b < a; b++ {
			h[b*D+a] = h[a*D+b]
		}
	}
	return g, h
}

// fitPlatt fits the calibration 1/(1+exp(-(a·s+b))) of raw logits s to the
// outcomes, with a tiny penalty so that a separable split stays finite.
func fitPlatt(s []float64, y []bool) (float64, float64) {
	if len(s) == 0 {
		return 1, 0
	}
	z := make([]float64, len(s))
	copy(z, s)
	w, b := fitLogistic(z, y, 1, 1e-6)
	return w[0], b
}
