package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/client"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
	"github.com/smartonboarding/smartonboard/simulate"

	so "github.com/smartonboarding/smartonboard"
)

// Load of the prediction benchmark: 200 users at once, each asking again
// after a pause, for a fixed span.
const (
	predictUsers = 200
	predictPause = 500 * time.Millisecond
	predictSpan  = 10 * time.Second
)

// BenchmarkPrediction serves GET /v1/users/{id}/prediction with an active
// model to 200 concurrent users (each asks, waits about 500 ms, asks again), and in
// the same run GET /v1/users/{id} (one row read) as the baseline, and the
// scoring alone in process (predict.Service.Predict, what the handler does
// inside the server). Run it with -benchtime 1x; BENCH_USERS sets the
// imported population (default 2000).
func BenchmarkPrediction(b *testing.B) {
	n := 2000
	if v := os.Getenv("BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 300 {
			b.Fatalf("BENCH_USERS=%q: want at least 300", v)
		}
	}
	for _, engine := range engines {
		b.Run(engine, func(b *testing.B) { benchPrediction(b, engine, n) })
	}
}

func benchPrediction(b *testing.B, engine string, n int) {
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.ShutdownTimeout, cfg.AdminKey = "127.0.0.1:0", b.TempDir(), 15*time.Second, processSecret
	limitsOn(&cfg)
	if engine == config.EnginePostgres {
		cfg.DatabaseURL = pgtest.URL(b)
	}
	m := &Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	users := benchHistory(b, m, n)
	if err := m.trainModel(context.Background(), so.DefaultProjectID); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		pred := loadLatency(b, func(u string) error { return benchGet(m.URL() + "/v1/users/" + u + "/prediction?flow=getting-started") }, users)
		base := loadLatency(b, func(u string) error { return benchGet(m.URL() + "/v1/users/" + u) }, users)
		inproc := loadLatency(b, func(u string) error {
			_, err := m.models.Predict(context.Background(), so.DefaultProjectID, u, "getting-started")
			return err
		}, users)
		for _, r := range []struct {
			name string
			lat  []time.Duration
		}{{"predict", pred}, {"baseline", base}, {"inprocess", inproc}} {
			b.ReportMetric(ms(r.lat[len(r.lat)/2]), r.name+"-p50-ms")
			b.ReportMetric(ms(r.lat[len(r.lat)*99/100]), r.name+"-p99-ms")
		}
		b.ReportMetric(ms(pred[len(pred)*99/100])/ms(base[len(base)*99/100]), "p99-ratio-to-baseline")
		b.ReportMetric(float64(len(pred)), "requests")
	}
	b.ReportMetric(0, "ns/op")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchHistory imports n simulated users through the API and returns the ids
// of those with a journey.
func benchHistory(b *testing.B, m *Main, n int) []string {
	ctx := context.Background()
	send := &simulateSend{api: client.New(m.URL(), processSecret), progress: io.Discard}
	if err := send.ensureFlow(ctx, simulate.DefaultFlow()); err != nil {
		b.Fatal(err)
	}
	us, err := simulate.Run(simulate.Options{Seed: 1, Users: n})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "history.jsonl")
	var buf bytes.Buffer
	if err := simulate.WriteJSONL(&buf, us); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(ctx, []string{"import", "--url", m.URL(), "--key", processSecret, "--chunk", "50000", path}, nil, &out, &out); code != 0 {
		b.Fatalf("import: %s", out.String())
	}
	var ids []string
	for _, u := range us {
		if slices.ContainsFunc(u.Events, func(e so.EventInput) bool { return e.Flow != "" }) {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// loadLatency runs predictUsers workers for predictSpan, each calling call
// for its own users in turn with a pause of 0.5 to 1.5 × predictPause
// between calls (starting at random within the first pause), and returns
// the latencies sorted.
func loadLatency(b *testing.B, call func(user string) error, users []string) []time.Duration {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	end := time.Now().Add(predictSpan)
	for w := range predictUsers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			time.Sleep(time.Duration(rng.Int64N(int64(predictPause)))) // users arrive spread out, not in step
			var mine []time.Duration
			for i := 0; time.Now().Before(end); i++ {
				u := users[(w+i*predictUsers)%len(users)]
				start := time.Now()
				if err := call(u); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
				time.Sleep(predictPause/2 + time.Duration(rng.Int64N(int64(predictPause))))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatal("no request finished")
	}
	slices.Sort(lat)
	return lat
}

// benchGet GETs url with the process's secret key and wants a 200.
func benchGet(url string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+processSecret)
	resp, err := benchClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return &benchStatus{resp.StatusCode, string(body)}
	}
	return nil
}

var benchClient = &http.Client{Timeout: hangGuard, Transport: &http.Transport{MaxIdleConnsPerHost: predictUsers}}

type benchStatus struct {
	code int
	body string
}

func (e *benchStatus) Error() string { return strconv.Itoa(e.code) + ": " + e.body }
