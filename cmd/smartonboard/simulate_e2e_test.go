package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateJSONL: the same seed writes the same events, byte for byte,
// and the summary names the oracle AUC.
func TestSimulateJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, seed string) []byte {
		var stderr bytes.Buffer
		path := filepath.Join(dir, name)
		if code := run(context.Background(), []string{"simulate", "--users", "40", "--seed", seed, "--out", path}, nil, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("simulate exited %d: %s", code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "simulated 40 users") || !strings.Contains(stderr.String(), "oracle AUC") {
			t.Errorf("summary = %q", stderr.String())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := write("a.jsonl", "7"), write("b.jsonl", "7"), write("c.jsonl", "8")
	if len(a) == 0 || !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("seed 7 twice gave %d and %d bytes (equal %v); seed 8 equal too: %v", len(a), len(b), bytes.Equal(a, b), bytes.Equal(a, c))
	}
	for _, bad := range [][]string{{"--users", "0"}, {"--start", "yesterday"}, {"--start", "2026-01-01T00:00:00Z", "--ago", "1h"}, {"--url", "http://127.0.0.1:1"}, {"extra"},
		{"--concurrency", "0"}, {"--url", "http://127.0.0.1:1", "--key", "pk_nothing-listens-there"}} {
		if code := run(context.Background(), append([]string{"simulate"}, bad...), nil, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
			t.Errorf("simulate %v exited 0; want a refusal", bad)
		}
	}
}

// TestSimulateFillsAServer sends a small population to a running server with
// the secret key: the flow is created, every event is stored, and the funnel
// counts the simulated journeys.
func TestSimulateFillsAServer(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		var stdout, stderr bytes.Buffer
		args := []string{"simulate", "--users", "30", "--seed", "3", "--ago", "48h", "--spread", "24h", "--url", in.url, "--key", in.secret}
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("simulate exited %d: %s", code, stderr.String())
		}
		var want bytes.Buffer
		if code := run(context.Background(), []string{"simulate", "--users", "30", "--seed", "3", "--ago", "48h", "--spread", "24h"}, nil, &want, &bytes.Buffer{}); code != 0 {
			t.Fatal("simulate to stdout failed")
		}
		events := int64(bytes.Count(want.Bytes(), []byte("\n"))) - 30 // a line of traits per user
		if !strings.Contains(stderr.String(), "created and published flow getting-started") {
			t.Errorf("progress = %q; want the flow created", stderr.String())
		}
		waitRolledUp(t, in)
		ov := decode[overviewReport](t, in.admin("GET", "/v1/analytics/overview", ""), 200)
		if ov.Events != events || ov.ActiveUsers != 30 || ov.JourneysStarted != 30 {
			t.Errorf("overview = %+v; want %d events of 30 users, 30 journeys", ov, events)
		}
		fn := decode[funnelReport](t, in.admin("GET", "/v1/analytics/funnel?flow=getting-started", ""), 200)
		if fn.JourneysStarted != 30 || fn.JourneysCompleted == 0 || fn.JourneysCompleted == 30 {
			t.Errorf("funnel = %+v; want 30 journeys, some but not all completed", fn)
		}
		if u := decode[struct{ Traits map[string]any }](t, in.admin("GET", "/v1/users/sim-0", ""), 200); u.Traits["plan"] == nil {
			t.Errorf("sim-0's traits = %v; want plan among them (a secret key sets it)", u.Traits)
		}
	})
}
