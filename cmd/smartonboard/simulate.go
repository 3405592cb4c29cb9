package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/smartonboarding/smartonboard/client"
	"github.com/smartonboarding/smartonboard/simulate"
)

// simulateSend is how a simulated population reaches a running server.
type simulateSend struct {
	api      *client.Client
	secret   bool          // a secret key may set server-only traits
	workers  int           // users sent at once
	retries  int           // attempts after a 429 or 503
	backoff  time.Duration // first wait before a retry; it doubles
	progress io.Writer
}

// runSimulate runs `smartonboard simulate`: it makes a population of users
// going through the default flow, deterministic by --seed, and writes their
// events as JSONL (--out, default stdout) or sends them to a running server
// through the public API (--url, --key), with progress on stderr.
func runSimulate(ctx context.Context, args []string, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same users and events")
	users := fs.Int("users", 1000, "how many users to simulate")
	out := fs.String("out", "-", "JSONL file to write the events to (- for stdout); ignored with --url")
	url := fs.String("url", "", "send the events to this running server instead of writing them")
	key := fs.String("key", "", "the project's key for --url: pk_… (traits role and plan are then left out) or sk_…")
	start := fs.String("start", "", "first user's arrival, RFC 3339 (default 2026-01-05T09:00:00Z, or --ago before now with --url)")
	ago := fs.Duration("ago", 0, "start this long before now instead of at --start (for example 168h)")
	spread := fs.Duration("spread", 7*24*time.Hour, "users arrive spread over this span")
	prefix := fs.String("prefix", "sim-", "user ids start with this")
	workers := fs.Int("concurrency", 4, "with --url, how many users are sent at once (1 to 64)")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see smartonboard simulate -h)", fs.Arg(0))
	}
	if *workers < 1 || *workers > 64 {
		return fmt.Errorf("--concurrency %d: give 1 to 64", *workers)
	}
	if *users < 1 {
		return fmt.Errorf("--users %d: simulate at least one user", *users)
	}
	o := simulate.Options{Seed: *seed, Users: *users, Spread: *spread, UserPrefix: *prefix}
	var err error
	if o.Start, err = simulateStart(*start, *ago, *url != ""); err != nil {
		return err
	}
	population, err := simulate.Stream(o)
	if err != nil {
		return err
	}
	if *url == "" {
		return writeSimulated(population, *out, stdout, stderr)
	}
	if *key == "" {
		return errors.New("--url needs --key: the project's public (pk_…) or secret (sk_…) key")
	}
	send := &simulateSend{api: client.New(*url, *key), secret: strings.HasPrefix(*key, "sk_"), workers: *workers, retries: 6, backoff: time.Second, progress: stderr}
	if send.secret {
		if err := send.ensureFlow(ctx, simulate.DefaultFlow()); err != nil {
			return err
		}
	}
	return send.all(ctx, population, *users)
}

// ensureFlow creates and publishes the simulated flow in the key's project
// when it has no flow of that key, so that a fresh server's journeys move;
// a flow already there is left as it is.
func (s *simulateSend) ensureFlow(ctx context.Context, f simulate.Flow) error {
	err := s.api.Do(ctx, "GET", "/v1/flows/"+f.Key, nil, nil)
	if client.StatusOf(err) != 404 {
		return err
	}
	var item struct{ ID string }
	body := map[string]any{"kind": "task", "title": "Simulated step", "status": "published"}
	if err := s.api.Do(ctx, "POST", "/v1/content-items", body, &item); err != nil {
		return fmt.Errorf("create the simulated flow's content: %w", err)
	}
	var steps []map[string]any
	for _, st := range f.Steps {
		steps = append(steps, map[string]any{"key": st.Key, "title": st.Key, "kind": "task", "content_item_id": item.ID, "required": st.Required,
			"estimated_seconds": int(st.ExpectedSeconds)})
	}
	if err := s.api.Do(ctx, "POST", "/v1/flows", map[string]any{"key": f.Key, "name": "Simulated onboarding", "steps": steps}, nil); err != nil {
		return fmt.Errorf("create flow %s: %w", f.Key, err)
	}
	if err := s.api.Do(ctx, "POST", "/v1/flows/"+f.Key+"/publish", nil, nil); err != nil {
		return fmt.Errorf("publish flow %s: %w", f.Key, err)
	}
	fmt.Fprintf(s.progress, "created and published flow %s (%d steps)\n", f.Key, len(f.Steps))
	return nil
}

// simulateStart picks the first arrival: --start, --ago before now, or
// (when sending, so that the reports' default window shows the users) the
// spread before now.
func simulateStart(start string, ago time.Duration, sending bool) (time.Time, error) {
	switch {
	case start != "" && ago != 0:
		return time.Time{}, errors.New("give --start or --ago, not both")
	case start != "":
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return time.Time{}, fmt.Errorf("--start %q: want an RFC 3339 time such as 2026-11-01T00:00:00Z", start)
		}
		return t, nil
	case ago < 0:
		return time.Time{}, errors.New("--ago must be positive: how long before now the first user arrives")
	case ago > 0:
		return time.Now().Add(-ago).UTC(), nil
	}
	return time.Time{}, nil // the simulator's fixed default
}

// writeSimulated writes every user's events as JSONL and a summary to stderr.
func writeSimulated(population iter.Seq[simulate.User], path string, stdout, stderr io.Writer) error {
	w := stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	buf := bufio.NewWriterSize(w, 1<<16)
	var sum simulateSummary
	for u := range population {
		if err := simulate.WriteJSONL(buf, []simulate.User{u}); err != nil {
			return err
		}
		sum.add(u)
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, sum)
	return nil
}

// all sends each user's traits and events, a few users at once (each
// user's requests stay in order), printing progress every few seconds and
// the summary at the end. The first failure stops the run.
func (s *simulateSend) all(ctx context.Context, population iter.Seq[simulate.User], total int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	users, done := make(chan simulate.User), make(chan simulate.User)
	var workers sync.WaitGroup
	for range max(1, s.workers) {
		workers.Go(func() {
			for u := range users {
				if err := s.user(ctx, u); err != nil {
					cancel(fmt.Errorf("user %s: %w", u.ID, err))
					continue
				}
				done <- u
			}
		})
	}
	go func() {
		defer close(users)
		for u := range population {
			select {
			case users <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { workers.Wait(); close(done) }()
	var sum simulateSummary
	last := time.Now()
	for u := range done {
		sum.add(u)
		if time.Since(last) >= 2*time.Second {
			fmt.Fprintf(s.progress, "… %d of %d users, %d events sent\n", sum.users, total, sum.events)
			last = time.Now()
		}
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	fmt.Fprintln(s.progress, sum)
	return nil
}

// user identifies one simulated user with their traits, then posts their events.
func (s *simulateSend) user(ctx context.Context, u simulate.User) error {
	traits := map[string]string{}
	for k, v := range u.Traits {
		if s.secret || (k != "role" && k != "plan") { // a public key may not set the server-only traits
			traits[k] = v
		}
	}
	if err := s.call(ctx, "/v1/identify", map[string]any{"user_id": u.ID, "traits": traits}); err != nil {
		return err
	}
	for batch := range simulate.Batches([]simulate.User{u}) {
		if err := s.call(ctx, "/v1/events", map[string]any{"events": batch}); err != nil {
			return err
		}
	}
	return nil
}

// call POSTs body, waiting and trying again while the server sheds load.
func (s *simulateSend) call(ctx context.Context, path string, body any) error {
	wait := s.backoff
	for attempt := 0; ; attempt++ {
		err := s.api.Do(ctx, "POST", path, body, nil)
		status := client.StatusOf(err)
		if err == nil || attempt >= s.retries || (status != 429 && status != 503) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// simulateSummary counts what a run made.
type simulateSummary struct {
	users, completed, events int
	scores                   []float64
	labels                   []bool
}

func (s *simulateSummary) add(u simulate.User) {
	s.users++
	s.events += len(u.Events)
	if u.Completed {
		s.completed++
	}
	s.scores, s.labels = append(s.scores, u.Probability), append(s.labels, u.Completed)
}

// String is the closing line: counts, completion and the oracle AUC.
func (s simulateSummary) String() string {
	share := 0.0
	if s.users > 0 {
		share = float64(s.completed) / float64(s.users)
	}
	return fmt.Sprintf("simulated %d users (%d completed, %.1f%%), %d events; oracle AUC %.3f",
		s.users, s.completed, 100*share, s.events, simulate.AUC(s.scores, s.labels))
}
