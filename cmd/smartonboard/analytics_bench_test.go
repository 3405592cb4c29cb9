package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
)

// BenchmarkReports measures the latency of the overview and funnel reports
// over real HTTP (p50 and p99, default 7-day window and a 1-day one) on a
// database seeded with SEED_EVENTS events (default 100000). SEED_DATABASE_URL
// (PostgreSQL) and SEED_DATA_DIR (SQLite) name databases seeded beforehand
// with that many events (scripts/bench-analytics), so that ten million are
// not seeded again for every run; without them each run seeds a fresh one.
// Before measuring it waits for the consumers to roll the events up, and
// reports that catch-up rate when it did the waiting.
func BenchmarkReports(b *testing.B) {
	n := 100_000
	if v := os.Getenv("SEED_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SEED_EVENTS=%q: want a number of events", v)
		}
	}
	for _, engine := range engines {
		b.Run(engine, func(b *testing.B) {
			b.Run(strconv.Itoa(n), func(b *testing.B) { benchReports(b, engine, n) })
		})
	}
}

// reportQuery is one measured request.
type reportQuery struct{ name, path string }

func benchReports(b *testing.B, engine string, n int) {
	cfg := seededConfig(b, engine, n)
	limitsOn(&cfg) // hundreds of admin requests a second are the load, not abuse
	cfg.AdminKey = processSecret
	m := &Main{Config: cfg}
	started := time.Now()
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	report := catchUp(b, m, started, n) // reported after the loop, whose start deletes metrics
	now := time.Now().UTC()
	day := "&from=" + urlQuery(now.Add(-24*time.Hour).Format(time.RFC3339)) + "&to=" + urlQuery(now.Format(time.RFC3339))
	queries := []reportQuery{{"overview", "/v1/analytics/overview"}, {"funnel", "/v1/analytics/funnel?flow=onboarding"},
		{"overview-1d", "/v1/analytics/overview?" + day[1:]}, {"funnel-1d", "/v1/analytics/funnel?flow=onboarding" + day}}
	var ov overviewReport
	if err := json.Unmarshal(getReport(b, m.URL()+queries[0].path), &ov); err != nil || ov.Events == 0 {
		b.Fatalf("overview of the seeded database: %v, %d events", err, ov.Events)
	}
	latencies := make([][]time.Duration, len(queries))
	for b.Loop() {
		for i, q := range queries {
			start := time.Now()
			getReport(b, m.URL()+q.path)
			latencies[i] = append(latencies[i], time.Since(start))
		}
	}
	for i, q := range queries {
		lat := latencies[i]
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, q.name+"-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, q.name+"-p99-ms")
	}
	report()
	b.ReportMetric(float64(ov.Events), "events-in-window")
	b.ReportMetric(0, "ns/op")
}

// seededConfig is the configuration of a database holding n seeded events:
// the one SEED_DATABASE_URL or SEED_DATA_DIR names, or a fresh one seeded now.
func seededConfig(b *testing.B, engine string, n int) config.Config {
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.ShutdownTimeout = "127.0.0.1:0", b.TempDir(), 15*time.Second
	if url := os.Getenv("SEED_DATABASE_URL"); engine == config.EnginePostgres && url != "" {
		cfg.DatabaseURL = url
		return cfg
	}
	if dir := os.Getenv("SEED_DATA_DIR"); engine == config.EngineSQLite && dir != "" {
		cfg.DataDir = dir
		return cfg
	}
	if engine == config.EnginePostgres {
		cfg.DatabaseURL = pgtest.URL(b)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"seed", "--events", strconv.Itoa(n)}, processEnv(cfg), &out, &out); code != 0 {
		b.Fatalf("seed exited %d:\n%s", code, out.String())
	}
	return cfg
}

// catchUp waits for every consumer to process the log and returns a report
// of how fast they rolled the events up, when they had any to process.
func catchUp(b *testing.B, m *Main, started time.Time, n int) (report func()) {
	waitConsumers(b, m, hangGuard+time.Duration(n/1000)*time.Second) // far above any rate seen: a guard, not a target
	elapsed := time.Since(started)
	var processed dto.Metric
	lag, err := m.pipelineLag.GetMetricWithLabelValues("analytics")
	if err != nil {
		b.Fatal(err)
	}
	if err := lag.(prometheus.Metric).Write(&processed); err != nil {
		b.Fatal(err)
	}
	return func() {
		if c := processed.GetHistogram().GetSampleCount(); c > 0 {
			b.ReportMetric(float64(c), "catchup-events")
			b.ReportMetric(float64(c)/elapsed.Seconds(), "catchup-events/s")
		}
	}
}

// getReport GETs a report with the secret key and returns its 200 body.
func getReport(b *testing.B, url string) []byte {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+processSecret)
	resp, err := httpClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, truncate(body))
	}
	return body
}
