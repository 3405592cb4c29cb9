package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/predict"
	"github.com/smartonboarding/smartonboard/simulate"
)

// runEval runs `smartonboard eval`: it simulates a population, trains the
// model on it in process exactly as the server does on stored journeys, and
// prints the holdout's figures against the simulator's oracle, with
// bootstrap intervals over journeys.
func runEval(_ context.Context, args []string, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 1, "random seed of the simulated population")
	users := fs.Int("users", 20000, "how many users to simulate")
	rounds := fs.Int("bootstrap", 200, "bootstrap resamples for the intervals (0 for none)")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see smartonboard eval -h)", fs.Arg(0))
	}
	if *users < predict.MinSettled {
		return fmt.Errorf("--users %d: training needs at least %d journeys", *users, predict.MinSettled)
	}
	began := time.Now()
	o := simulate.Options{Seed: *seed, Users: *users}
	population, err := simulate.Stream(o)
	if err != nil {
		return err
	}
	flow := simulate.DefaultFlow()
	c := predict.NewCollector(predict.Options{})
	byID := map[string]simulate.User{}
	for u := range population {
		h, err := simulatedHistory(flow, u)
		if err != nil {
			return err
		}
		c.Add(h)
		u.Traits = nil
		byID[u.ID] = u
	}
	fmt.Fprintf(stderr, "simulated %d users in %s; training\n", *users, time.Since(began).Round(time.Millisecond))
	trained := time.Now()
	r, err := c.Train()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "trained in %s\n", time.Since(trained).Round(time.Millisecond))
	printEval(stdout, r, byID, flow, *seed, *rounds)
	return nil
}

// simulatedHistory is a simulated user's journey as the feature builder sees
// a stored one.
func simulatedHistory(f simulate.Flow, u simulate.User) (*predict.History, error) {
	h := &predict.History{JourneyID: u.ID, UserID: u.ID, Flow: f.Key, Traits: u.Traits, Completed: u.Completed}
	for _, s := range f.Steps {
		h.Steps = append(h.Steps, so.Step{Key: s.Key, Required: s.Required, EstimatedSeconds: int(s.ExpectedSeconds)})
	}
	for _, in := range u.Events {
		ts, err := time.Parse(time.RFC3339Nano, in.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", u.ID, err)
		}
		e := so.Event{ID: in.ID, Type: in.Type, UserID: in.UserID, SessionID: in.SessionID, Flow: in.Flow,
			Step: in.Step, Timestamp: ts, Properties: in.Properties}
		h.Events = append(h.Events, e)
		if u.Completed && e.Type == so.EventStepCompleted {
			h.CompletedAt = ts
		}
	}
	return h, nil
}

// printEval writes the holdout's figures: overall, then by horizon.
func printEval(w io.Writer, r *predict.Result, users map[string]simulate.User, f simulate.Flow, seed int64, rounds int) {
	ss := r.Samples
	oracle := make([]float64, len(ss))
	groups := make([]int, len(ss))
	for i, s := range ss {
		oracle[i], groups[i] = users[s.JourneyID].ProbabilityAt(f, s.Cutoff), s.Journey
	}
	fmt.Fprintf(w, "population: %d users (seed %d); journeys by start: train %d, calibrate %d, holdout %d\n",
		len(users), seed, r.Train, r.Calibrate, r.Holdout)
	fmt.Fprintf(w, "holdout: %d predictions (each journey at up to 5 of the horizons %s); %.1f%% completed\n\n",
		len(ss), horizonList(), 100*r.Metrics.BaseRate)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "horizon\tpredictions\tmodel AUC\toracle AUC\tratio\tECE\tlog loss\tBrier\t")
	all := make([]int, len(ss))
	for i := range all {
		all[i] = i
	}
	evalRow(tw, "all", ss, oracle, groups, all, seed, rounds)
	for _, h := range predict.Horizons {
		var idx []int
		for i, s := range ss {
			if s.Horizon == h {
				idx = append(idx, i)
			}
		}
		if len(idx) > 0 {
			evalRow(tw, shortDuration(h), ss, oracle, groups, idx, seed, 0)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\noracle: the simulator's true probability of completing, given the latent traits and the steps passed by the cut-off;")
	fmt.Fprintln(w, "intervals: 95% bootstrap percentiles over holdout journeys; targets: ratio ≥ 0.95, ECE ≤ 0.03")
}

// evalRow prints the figures of the samples idx, with intervals when rounds > 0.
func evalRow(w io.Writer, name string, ss []predict.Sample, oracle []float64, groups []int, idx []int, seed int64, rounds int) {
	pick := func(sub []int) ([]float64, []float64, []bool) {
		p, o, y := make([]float64, len(sub)), make([]float64, len(sub)), make([]bool, len(sub))
		for k, i := range sub {
			p[k], o[k], y[k] = ss[idx[i]].P, oracle[idx[i]], ss[idx[i]].Y
		}
		return p, o, y
	}
	g := make([]int, len(idx))
	for k, i := range idx {
		g[k] = groups[i]
	}
	stat := func(f func(p, o []float64, y []bool) float64) predict.Interval {
		return predict.Bootstrap(g, rounds, uint64(seed), func(sub []int) float64 { return f(pick(sub)) })
	}
	model := stat(func(p, _ []float64, y []bool) float64 { return predict.AUC(p, y) })
	orc := stat(func(_, o []float64, y []bool) float64 { return predict.AUC(o, y) })
	ratio := stat(func(p, o []float64, y []bool) float64 { return predict.AUC(p, y) / predict.AUC(o, y) })
	ece := stat(func(p, _ []float64, y []bool) float64 { return predict.Measure(p, y).ECE })
	p, _, y := pick(all(len(idx)))
	m := predict.Measure(p, y)
	fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%.4f\t%.4f\t\n", name, len(idx), ival(model, rounds), ival(orc, rounds),
		ival(ratio, rounds), ival(ece, rounds), m.LogLoss, m.Brier)
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// ival prints a value with its interval when one was computed.
func ival(iv predict.Interval, rounds int) string {
	if rounds == 0 {
		return fmt.Sprintf("%.3f", iv.Value)
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Value, iv.Low, iv.High)
}

func horizonList() string {
	s := ""
	for i, h := range predict.Horizons {
		if i > 0 {
			s += ", "
		}
		s += shortDuration(h)
	}
	return s
}

// shortDuration prints 90m as 1h30m and 24h as 1d.
func shortDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
