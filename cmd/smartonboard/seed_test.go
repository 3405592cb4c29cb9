package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
)

// seedResult is what the seeder's summary says it wrote.
type seedResult struct {
	events, stored, started, completed int
	digest                             string
}

var (
	seedSummary = regexp.MustCompile(`seeded (\d+) events \((\d+) already stored\).*: (\d+) journeys started, (\d+) completed; .*digest ([0-9a-f]{64})`)
	seedDigest  = regexp.MustCompile(`digest ([0-9a-f]{64})`)
)

// seed runs `smartonboard seed` as a shell would and returns its output.
func seed(t *testing.T, env []string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"seed"}, args...), env, &stdout, &stderr); code != 0 {
		t.Fatalf("seed %v exited %d:\n%s%s", args, code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// seedInto seeds the database of env and returns the summary's numbers.
func seedInto(t *testing.T, env []string, args ...string) seedResult {
	t.Helper()
	out := seed(t, env, args...)
	m := seedSummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in the seed output:\n%s", out)
	}
	n := func(i int) int {
		v, _ := strconv.Atoi(m[i])
		return v
	}
	return seedResult{events: n(1), stored: n(2), started: n(3), completed: n(4), digest: m[5]}
}

// dryRunDigest is the digest of what the seeder would write.
func dryRunDigest(t *testing.T, args ...string) string {
	t.Helper()
	out := seed(t, nil, append(args, "--dry-run")...)
	m := seedDigest.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(out, "would seed ") {
		t.Fatalf("no digest in the dry run's output:\n%s", out)
	}
	return m[1]
}

// waitConsumers waits until every durable consumer has processed every
// committed event and returns how long that took.
func waitConsumers(tb testing.TB, m *Main, guard time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	for deadline := start.Add(guard); ; time.Sleep(20 * time.Millisecond) {
		behind := 0
		for _, c := range m.pipeline.Consumers() {
			n, err := m.pipeline.Lag(context.Background(), c, 1)
			if err != nil {
				tb.Fatal(err)
			}
			behind += n
		}
		if behind == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the consumers %v had not caught up after %s", m.pipeline.Consumers(), guard)
		}
	}
}

// TestSeed seeds a small history, checks that the same seed writes the same
// events and another seed others, then serves it and checks that the
// consumers roll it up into reports that count exactly what was written,
// with a funnel that narrows, drop-off and completions.
func TestSeed(t *testing.T) {
	t.Parallel()
	until := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	args := []string{"--events", "3000", "--days", "2", "--users-per-flow", "30", "--batch", "700", "--until", until, "--seed", "7"}
	cfg := testConfig(t, config.EngineSQLite)
	env := processEnv(cfg)
	first := seedInto(t, env, args...)
	if first.events != 3000 || first.stored != 0 || first.started == 0 || first.completed == 0 {
		t.Fatalf("seeded %+v; want 3000 new events, journeys started and completed", first)
	}
	again := seedInto(t, env, args...) // the same events: every id is taken already
	if again.digest != first.digest || again.events != 0 || again.stored != first.events || again.started != 0 {
		t.Errorf("seeding again with the same seed wrote %+v; the first time %+v", again, first)
	}
	if d := dryRunDigest(t, args...); d != first.digest {
		t.Errorf("the dry run's digest %s differs from the written events' %s", d, first.digest)
	}
	if d := dryRunDigest(t, append(args, "--seed", "8")...); d == first.digest {
		t.Errorf("seeds 7 and 8 generate the same events (digest %s)", d)
	}

	cfg.AdminKey, cfg.PublicKey = processSecret, processPublic
	cfg.AbandonAfter = 6 * time.Hour // the history is 2 days long: who left hours ago has dropped off
	in := start(t, cfg)
	in.secret = processSecret
	if err := in.m.abandonIdle(context.Background()); err != nil { // the job's first run may not have ended
		t.Fatal(err)
	}
	waitConsumers(t, in.m, hangGuard)

	ov := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
	if ov.Events != int64(first.events) || ov.JourneysStarted != int64(first.started) || ov.JourneysCompleted != int64(first.completed) {
		t.Errorf("overview counts %d events, %d journeys started, %d completed; the seeder wrote %+v",
			ov.Events, ov.JourneysStarted, ov.JourneysCompleted, first)
	}
	if ov.JourneysAbandoned == 0 || ov.JourneysAbandoned+ov.JourneysCompleted > ov.JourneysStarted {
		t.Errorf("overview journeys: %d started, %d completed, %d abandoned; want some abandoned", ov.JourneysStarted,
			ov.JourneysCompleted, ov.JourneysAbandoned)
	}
	checkSeededFunnel(t, decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=onboarding", ""), 200))
}

// checkSeededFunnel wants every journey on the first step, fewer on each
// later one, and both drop-off and completions.
func checkSeededFunnel(t *testing.T, fn funnelReport) {
	t.Helper()
	if len(fn.Steps) != 6 || fn.Steps[0].Reached != fn.JourneysStarted || fn.JourneysCompleted == 0 {
		t.Fatalf("onboarding funnel = %+v; want 6 steps, every journey on the first, some completed", fn)
	}
	var dropped int64
	for i, s := range fn.Steps {
		dropped += s.DropOff
		if i > 0 && s.Reached > fn.Steps[i-1].Reached {
			t.Errorf("step %s reached by %d journeys, more than %s before it (%d)", s.Key, s.Reached, fn.Steps[i-1].Key, fn.Steps[i-1].Reached)
		}
	}
	if last := fn.Steps[len(fn.Steps)-1]; dropped == 0 || last.Reached >= fn.Steps[0].Reached {
		t.Errorf("onboarding funnel: %d dropped, %d of %d journeys reached the last step; want drop-off and a narrowing funnel",
			dropped, last.Reached, fn.Steps[0].Reached)
	}
}

// TestSeedRefusals checks that seed refuses production without --force and a
// missing size, before it touches the database.
func TestSeedRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SMARTONBOARD_DATA_DIR=" + dir, "SMARTONBOARD_ENV=production"}
	code, _, errOut := cli(t, env, "seed", "--events", "10")
	if code != 1 || !strings.Contains(errOut, "production") || !strings.Contains(errOut, "--force") {
		t.Errorf("seed in production: exit %d, %q; want 1 and a message naming production and --force", code, errOut)
	}
	code, _, errOut = cli(t, env[:1], "seed")
	if code != 1 || !strings.Contains(errOut, "--events N") {
		t.Errorf("seed without --events: exit %d, %q; want 1 and the usage", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "smartonboard.db")); !os.IsNotExist(err) {
		t.Errorf("a refused seed created the database (%v)", err)
	}
}
