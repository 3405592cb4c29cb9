package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/client"
	"github.com/smartonboarding/smartonboard/predict"
	"github.com/smartonboarding/smartonboard/simulate"
)

// runEval runs `smartonboard eval`: it simulates a population, trains the
// model on it in process exactly as the server does on stored journeys, and
// prints the holdout's figures against the simulator's oracle, with
// bootstrap intervals over journeys.
func runEval(ctx context.Context, args []string, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 1, "random seed of the simulated population")
	users := fs.Int("users", 20000, "how many users to simulate")
	rounds := fs.Int("bootstrap", 200, "bootstrap resamples for the intervals (0 for none)")
	url := fs.String("url", "", "also import the population into this running server, train there, and compare")
	key := fs.String("key", "", "with --url, a secret key with the admin scope")
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
		if h != nil {
			c.Add(h)
		}
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
	if *url == "" {
		return nil
	}
	served, err := evalThroughAPI(ctx, *url, *key, o, flow, stderr)
	if err != nil {
		return fmt.Errorf("through the API: %w", err)
	}
	printSideBySide(stdout, r, served)
	return nil
}

// evalThroughAPI imports the same population into a running server (its
// project must not hold other journeys of the flow), trains there and
// returns the model the server stored.
func evalThroughAPI(ctx context.Context, url, key string, o simulate.Options, flow simulate.Flow, progress io.Writer) (*so.Model, error) {
	if !strings.HasPrefix(key, "sk_") {
		return nil, errors.New("--url needs --key: a secret key with the admin scope")
	}
	api := client.New(url, key)
	send := &simulateSend{api: api, secret: true, progress: progress}
	if err := send.ensureFlow(ctx, flow); err != nil {
		return nil, err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("smartonboard-eval-%d-%d.jsonl", o.Seed, o.Users))
	defer os.Remove(path)
	defer os.Remove(path + ".progress")
	population, err := simulate.Stream(o)
	if err != nil {
		return nil, err
	}
	if err := writeSimulated(population, path, io.Discard, progress); err != nil {
		return nil, err
	}
	im := &importer{url: strings.TrimRight(url, "/"), key: key, chunk: 50000, path: path, out: progress}
	if err := im.run(ctx, true); err != nil {
		return nil, err
	}
	var queued struct{ Job so.TrainingJob }
	if err := api.Do(ctx, "POST", "/v1/models/train", nil, &queued); err != nil {
		return nil, err
	}
	if err := waitTraining(ctx, api, queued.Job.ID); err != nil {
		return nil, err
	}
	var list struct{ Models []*so.Model }
	if err := api.Do(ctx, "GET", "/v1/models", nil, &list); err != nil {
		return nil, err
	}
	if len(list.Models) == 0 {
		return nil, errors.New("the server lists no model after training")
	}
	return list.Models[0], nil
}

// waitTraining polls a training job until it ends, for at most ten minutes.
func waitTraining(ctx context.Context, api *client.Client, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		var got struct{ Job so.TrainingJob }
		if err := api.Do(ctx, "GET", "/v1/models/jobs/"+strconv.FormatInt(id, 10), nil, &got); err != nil {
			return err
		}
		switch got.Job.State {
		case "completed":
			return nil
		case "cancelled", "discarded":
			return fmt.Errorf("training job %d %s: %s", id, got.Job.State, got.Job.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("training job %d still %s: %w", id, got.Job.State, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// printSideBySide prints the in-process and the server's holdout figures.
func printSideBySide(w io.Writer, r *predict.Result, m *so.Model) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\nthe same population imported through POST /v1/import and trained by POST /v1/models/train:")
	fmt.Fprintln(tw, "path\tjourneys (train/calibrate/holdout)\tpredictions\tAUC\tlog loss\tBrier\tECE\t")
	fmt.Fprintf(tw, "in process\t%d/%d/%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t\n", r.Train, r.Calibrate, r.Holdout, r.Metrics.N,
		r.Metrics.AUC, r.Metrics.LogLoss, r.Metrics.Brier, r.Metrics.ECE)
	fmt.Fprintf(tw, "server v%d\t%d/%d/%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t\n", m.Version, m.Journeys.Train, m.Journeys.Calibrate,
		m.Journeys.Holdout, m.Metrics.N, m.Metrics.AUC, m.Metrics.LogLoss, m.Metrics.Brier, m.Metrics.ECE)
	tw.Flush()
}

// simulatedHistory is a simulated user's journey as the feature builder sees
// a stored one, or nil for a user the server would start no journey for.
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
	if !slices.ContainsFunc(h.Events, func(e so.Event) bool { return e.Flow == f.Key }) {
		return nil, nil // left before the first step: the server starts no journey
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
	fmt.Fprintf(w, "holdout: %d predictions (each journey at every horizon it was still open at: %s); %.1f%% completed\n\n",
		len(ss), horizonList(), 100*r.Metrics.BaseRate)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "horizon\tpredictions\tmodel AUC\toracle AUC\tratio\tECE\tlog loss\tBrier\t")
	evalRow(tw, "all", ss, oracle, groups, indices(len(ss)), seed, rounds)
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
	start, y, seen := []float64{}, []bool{}, map[string]bool{}
	for _, smp := range ss {
		if u := users[smp.JourneyID]; !seen[u.ID] {
			seen[u.ID] = true
			start, y = append(start, u.Probability), append(y, u.Completed)
		}
	}
	at := predict.AUC(start, y)
	fmt.Fprintf(w, "\nthe simulator's own oracle AUC (its probability at each holdout journey's start): %.3f; model AUC over the holdout ÷ it: %.3f\n",
		at, r.Metrics.AUC/at)
	fmt.Fprintln(w, "oracle: the simulator's true probability of completing, given the latent traits and the steps passed by the cut-off;")
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
	p, _, y := pick(indices(len(idx)))
	m := predict.Measure(p, y)
	fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%.4f\t%.4f\t\n", name, len(idx), ival(model, rounds), ival(orc, rounds),
		ival(ratio, rounds), ival(ece, rounds), m.LogLoss, m.Brier)
}

// indices is 0, 1, …, n-1.
func indices(n int) []int {
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
