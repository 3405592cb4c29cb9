package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/behaviour"
	"github.com/smartonboarding/smartonboard/config"
)

// consumersOff is limitsOn with the pipeline's durable consumers off: the
// baseline the behaviour engine's cost is measured against.
func consumersOff(c *config.Config) {
	limitsOn(c)
	c.Consumers = "off"
}

// behaviourOnly runs the behaviour engine without the analytics rollups.
func behaviourOnly(c *config.Config) {
	limitsOn(c)
	c.Rollups = "off"
}

// BenchmarkPipeline compares click ingestion with the durable consumers off,
// with the behaviour engine alone (consumers-on) and with the analytics
// rollups too (rollups-on), in one run; with consumers on, the clock stops
// only once every consumer has processed every event, so their whole cost is
// in the rate.
func BenchmarkPipeline(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine+"/consumers-on", func(b *testing.B) { benchHTTPIngest(b, engine, batchBody, behaviourOnly) })
		b.Run(engine+"/consumers-off", func(b *testing.B) { benchHTTPIngest(b, engine, batchBody, consumersOff) })
		b.Run(engine+"/rollups-on", func(b *testing.B) { benchHTTPIngest(b, engine, batchBody, limitsOn) })
		// Journey traffic: every batch starts 25 journeys and moves them, so
		// the analytics consumer recomputes facts, not only activity.
		b.Run(engine+"/journeys-consumers-on", func(b *testing.B) { benchHTTPIngest(b, engine, stepBatchBody, behaviourOnly) })
		b.Run(engine+"/journeys-rollups-on", func(b *testing.B) { benchHTTPIngest(b, engine, stepBatchBody, limitsOn) })
	}
}

// waitCaughtUp waits until every durable consumer has processed every
// committed event and reports how long that took after the last answer.
func waitCaughtUp(b *testing.B, m *Main) {
	if m.Config.Consumers == "off" {
		return
	}
	start := time.Now()
	for deadline := start.Add(hangGuard); ; time.Sleep(5 * time.Millisecond) {
		behind := 0
		for _, c := range m.pipeline.Consumers() {
			n, err := m.pipeline.Lag(context.Background(), c, 1)
			if err != nil {
				b.Fatal(err)
			}
			behind += n
		}
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the behaviour consumer never caught up")
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "catchup-ms")
}

// sampleBacklog counts, every 50 ms until stop, the committed events the
// behaviour consumer has not processed, and reports their median and maximum.
// It counts from the process's own metrics (events committed by ingestion
// less events processed by the consumer), not by asking the database, so
// that the measurement does not load the engine it measures.
func sampleBacklog(b *testing.B, m *Main) (stop func()) {
	if m.Config.Consumers == "off" {
		return func() {}
	}
	done := make(chan struct{})
	var samples []int
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			n, err := backlogFromMetrics(m)
			if err != nil {
				b.Error(err)
				return
			}
			samples = append(samples, n)
		}
	})
	return func() {
		close(done)
		wg.Wait()
		if len(samples) == 0 {
			return
		}
		slices.Sort(samples)
		b.ReportMetric(float64(samples[len(samples)/2]), "backlog-p50")
		b.ReportMetric(float64(samples[len(samples)-1]), "backlog-max")
	}
}

// BenchmarkStruggleToIntervention measures, while 40 clients keep posting
// click batches, the time from the POST /v1/events of a struggle (start,
// hesitation, three errors) to the intervention on the user's stream. One b.N
// iteration is one struggling user; it reports p50 and p99.
func BenchmarkStruggleToIntervention(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine, func(b *testing.B) { benchStruggle(b, engine, limitsOn) })
		// Without the analytics consumer, which shares the writer and the cores.
		b.Run(engine+"-rollups-off", func(b *testing.B) { benchStruggle(b, engine, behaviourOnly) })
	}
}

func benchStruggle(b *testing.B, engine string, configure func(*config.Config)) {
	cfg := testConfig(b, engine)
	configure(&cfg)
	m := &Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	in := &instance{url: m.URL(), secret: m.Bootstrap.GeneratedSecretKey, public: m.Bootstrap.GeneratedPublicKey}
	benchHelpFlow(b, in)
	stop := backgroundLoad(b, m, 40)
	lat := make([]time.Duration, 0, b.N)
	acks := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for n := 0; len(lat) < b.N; n++ {
		user := fmt.Sprintf("probe-%d-%d", n, time.Now().UnixNano())
		if behaviour.InHoldout("default", user, so.BehaviourDefaults.HoldoutPercent) {
			continue // held out: nothing would be sent
		}
		ack, total := probeStruggle(b, in, user)
		acks, lat = append(acks, ack), append(lat, total)
	}
	b.StopTimer()
	sent := stop()
	slices.Sort(lat)
	slices.Sort(acks)
	b.ReportMetric(float64(acks[len(acks)/2].Microseconds())/1000, "ack-p50-ms")
	b.ReportMetric(float64(acks[len(acks)*99/100].Microseconds())/1000, "ack-p99-ms")
	for _, consumer := range m.pipeline.Consumers() {
		reportBatches(b, m, consumer)
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "load-events/s")
	b.ReportMetric(0, "ns/op")
}

// backgroundLoad keeps clients posting click batches until the returned stop,
// which reports how many events they got acknowledged.
func backgroundLoad(b *testing.B, m *Main, clients int) func() int64 {
	host := strings.TrimPrefix(m.URL(), "http://")
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		conn := dialBench(b, host)
		wg.Go(func() {
			defer conn.Close()
			for n := 0; ctx.Err() == nil; n++ {
				body := batchBody(1_000_000 + c*1_000_000 + n)
				if err := conn.post(eventsRequest(host, m.Bootstrap.GeneratedPublicKey, body)); err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				sent.Add(benchBatch)
			}
		})
	}
	return func() int64 {
		cancel()
		wg.Wait()
		return sent.Load()
	}
}

// probeStruggle opens a new user's stream, posts a struggle and returns the
// time until the intervention arrives.
func probeStruggle(b *testing.B, in *instance, user string) (ack, total time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", in.url+"/v1/stream?user_id="+user, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+in.public)
	resp, err := streamClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	waitEvent(b, events, "connected")
	body := `{"events":[` + strings.Join(struggle(user, time.Now().Add(-10*time.Second)), ",") + `]}`
	start := time.Now()
	post, err := http.NewRequest("POST", in.url+"/v1/events", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	post.Header.Set("Authorization", "Bearer "+in.public)
	post.Header.Set("Content-Type", "application/json")
	r, err := httpClient.Do(post)
	if err != nil || r.StatusCode != 200 {
		b.Fatalf("post struggle: %v %v", r, err)
	}
	r.Body.Close()
	ack = time.Since(start)
	waitEvent(b, events, "intervention")
	return ack, time.Since(start)
}

// reportBatches reports a consumer's mean transaction time over the run and
// the share of its transactions that took over 100 ms.
func reportBatches(b *testing.B, m *Main, consumer string) {
	h, err := m.pipelineBatches.GetMetricWithLabelValues(consumer)
	if err != nil {
		b.Fatal(err)
	}
	var got dto.Metric
	if err := h.(prometheus.Metric).Write(&got); err != nil {
		b.Fatal(err)
	}
	n := got.GetHistogram().GetSampleCount()
	if n == 0 {
		return
	}
	var under uint64
	for _, bucket := range got.GetHistogram().GetBucket() {
		if bucket.GetUpperBound() == 0.1 {
			under = bucket.GetCumulativeCount()
		}
	}
	b.ReportMetric(got.GetHistogram().GetSampleSum()*1000/float64(n), consumer+"-tx-ms")
	b.ReportMetric(float64(n-under)/float64(n), consumer+"-tx-slow")
}

// waitEvent reads the stream until an event of the name (the hang guard of
// the request's context bounds it).
func waitEvent(b *testing.B, sc *bufio.Scanner, name string) {
	for sc.Scan() {
		if sc.Text() == "event: "+name {
			return
		}
	}
	b.Fatalf("the stream ended before %s: %v", name, sc.Err())
}

// benchHelpFlow is setupHelpFlow for benchmarks.
func benchHelpFlow(b *testing.B, in *instance) {
	create := func(body string) string {
		var item struct{ ID string }
		if err := json.Unmarshal(benchCall(b, in.url, in.secret, "/v1/content-items", body), &item); err != nil || item.ID == "" {
			b.Fatalf("content item: %v %+v", err, item)
		}
		return item.ID
	}
	tour := create(`{"kind":"tour","title":"Connect tour","status":"published"}`)
	help := create(`{"kind":"help","title":"Connecting","body":"Press **Connect**.","status":"published"}`)
	benchCall(b, in.url, in.secret, "/v1/flows", fmt.Sprintf(`{"key":"setup","name":"Setup","steps":[
		{"key":"connect","title":"Connect","kind":"task","content_item_id":%q,"help_content_ids":[%q],"required":true,"estimated_seconds":30}]}`, tour, help))
	benchCall(b, in.url, in.secret, "/v1/flows/setup/publish", "")
}

// backlogFromMetrics is the sum of smartonboard_ingest_batch_events (events
// committed) less the count of smartonboard_pipeline_lag_seconds (events the
// behaviour consumer processed), read from the collectors themselves (a
// Gather would also run the backlog gauge's database count); every event of
// the benchmarks is new, so the two count the same events.
func backlogFromMetrics(m *Main) (int, error) {
	var committed, processed dto.Metric
	if err := m.ingestMetrics.events.Write(&committed); err != nil {
		return 0, err
	}
	lag, err := m.pipelineLag.GetMetricWithLabelValues("behaviour")
	if err != nil {
		return 0, err
	}
	if err := lag.(prometheus.Metric).Write(&processed); err != nil {
		return 0, err
	}
	return int(committed.GetHistogram().GetSampleSum()) - int(processed.GetHistogram().GetSampleCount()), nil
}
