package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/postgres"
)

// Load shape of the ingest benchmark, fixed by the issue that asked for it.
const (
	benchClients = 50
	benchBatch   = 50
)

// BenchmarkIngest measures sustained ingestion over real HTTP: 50 concurrent
// clients post 50-event batches to a real server (one b.N iteration = one batch)
// and each waits for its 200. It reports events/s and the p50/p99 time to
// acknowledgment. On PostgreSQL, the baselines run in the same process against
// an identical table: a raw CopyFrom of the same events, and one INSERT per event
// from 50 concurrent workers.
func BenchmarkIngest(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine+"/HTTP", func(b *testing.B) { benchHTTPIngest(b, engine, batchBody, limitsOn) })
		b.Run(engine+"/HTTP-nolimits", func(b *testing.B) { benchHTTPIngest(b, engine, batchBody, limitsOff) })
		b.Run(engine+"/HTTP-steps", func(b *testing.B) { benchHTTPIngest(b, engine, stepBatchBody, limitsOn) })
	}
	b.Run("postgres/RawCopy", benchRawCopy)
	b.Run("postgres/InsertPerEvent", benchInsertPerEvent)
}

// limitsOn keeps every rate limit checked on every request, set high enough
// that the benchmark's one address and 5000 users are never refused; limitsOff
// turns them off (0), the baseline the limits' cost is measured against.
func limitsOn(c *config.Config) {
	c.RatePerIP, c.RateEventsPerUser, c.RatePerPublicKey, c.RateAdmin = 100_000_000, 100_000_000, 100_000_000, 100_000_000
}

func limitsOff(c *config.Config) {
	c.RatePerIP, c.RateEventsPerUser, c.RatePerPublicKey, c.RateAdmin = 0, 0, 0, 0
}

func benchHTTPIngest(b *testing.B, engine string, batchBody func(int) string, limits func(*config.Config)) {
	cfg := testConfig(b, engine)
	limits(&cfg)
	m := &Main{Config: cfg}
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	key := m.Bootstrap.GeneratedPublicKey
	benchFlow(b, m.URL(), m.Bootstrap.GeneratedSecretKey)
	host := strings.TrimPrefix(m.URL(), "http://")
	requests := make([][]byte, b.N) // built beforehand: the load generator shares the 2 cores
	for n := range requests {
		requests[n] = eventsRequest(host, key, batchBody(n))
	}
	conns := make([]*benchConn, benchClients)
	for c := range conns {
		conns[c] = dialBench(b, host)
		defer conns[c].Close()
	}
	warmUp(b, conns, host, key)
	var next atomic.Int64
	latencies := make([][]time.Duration, benchClients)
	stopSampling := sampleBacklog(b, m)
	b.ResetTimer()
	var wg sync.WaitGroup
	for c, conn := range conns {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				start := time.Now()
				if err := conn.post(requests[n-1]); err != nil {
					b.Error(err)
					return
				}
				latencies[c] = append(latencies[c], time.Since(start))
			}
		})
	}
	wg.Wait()
	stopSampling()
	waitCaughtUp(b, m)
	b.StopTimer()
	reportRate(b)
	all := slices.Concat(latencies...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(all[len(all)*90/100].Microseconds())/1000, "p90-ms")
		b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
	}
}

// warmUp sends 4 batches on every client's connection, so that the server has
// authenticated the key and what is measured is sustained load, not start-up.
func warmUp(b *testing.B, conns []*benchConn, host, key string) {
	var wg sync.WaitGroup
	for c, conn := range conns {
		wg.Go(func() {
			for i := range 4 {
				if err := conn.post(eventsRequest(host, key, batchBody(-1-c*4-i))); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// benchConn is one client's keep-alive HTTP/1.1 connection. It writes prebuilt
// requests and reads answers with net/http's parser, skipping the Transport's
// per-request goroutine hand-offs: the load generator runs on the same 2 cores
// as the server and the database, and should take as little of them as it can.
type benchConn struct {
	net.Conn
	r *bufio.Reader
}

func dialBench(b *testing.B, host string) *benchConn {
	c, err := net.Dial("tcp", host)
	if err != nil {
		b.Fatal(err)
	}
	return &benchConn{Conn: c, r: bufio.NewReader(c)}
}

// eventsRequest is the wire form of one POST /v1/events.
func eventsRequest(host, key, body string) []byte {
	return fmt.Appendf(nil, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, key, len(body), body)
}

// post sends one batch and checks that every event of it was accepted.
func (c *benchConn) post(request []byte) error {
	if _, err := c.Write(request); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !bytes.Contains(answer, fmt.Appendf(nil, `"accepted":%d`, benchBatch)) {
		return fmt.Errorf("batch: %d %s", resp.StatusCode, answer)
	}
	return nil
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}

// benchEventJSON is one event as the SDK sends it: a click with a few properties.
func benchEventJSON(batch, i int) string {
	return fmt.Sprintf(`{"id":"b%d-%d","type":"click","user_id":"user-%d","session_id":"s-%d","timestamp":%q,"properties":{"target":"#button-%d","x":120,"y":48}}`,
		batch, i, (batch*benchBatch+i)%5000, batch%500, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), i)
}

// benchCall sends one admin POST with the secret key and returns the body of
// its 2xx answer.
func benchCall(b *testing.B, url, secret, path, body string) []byte {
	req, err := http.NewRequest("POST", url+path, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode/100 != 2 {
		b.Fatalf("%s: %d %v %s", path, resp.StatusCode, err, out)
	}
	return out
}

// benchFlow creates and publishes the flow the step series moves users through.
func benchFlow(b *testing.B, url, secret string) {
	call := func(path, body string) []byte { return benchCall(b, url, secret, path, body) }
	var c struct{ ID string }
	if err := json.Unmarshal(call("/v1/content-items", `{"kind":"task","title":"Connect"}`), &c); err != nil || c.ID == "" {
		b.Fatalf("content item: %v %+v", err, c)
	}
	call("/v1/flows", fmt.Sprintf(`{"key":"getting-started","name":"Getting started","steps":[
		{"key":"connect","title":"Connect","kind":"task","content_item_id":%q,"required":true},
		{"key":"invite","title":"Invite","kind":"task","content_item_id":%q,"required":true,"prerequisites":["connect"]}]}`, c.ID, c.ID))
	call("/v1/flows/getting-started/publish", "")
}

// stepBatchBody is one 50-event batch of journey traffic: 25 new users each
// start and complete the first step of a published flow, so every batch starts
// 25 journeys and moves them.
func stepBatchBody(batch int) string {
	evs := make([]string, benchBatch)
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range evs {
		typ := "step_started"
		if i%2 == 1 {
			typ = "step_completed"
		}
		evs[i] = fmt.Sprintf(`{"id":"s%d-%d","type":%q,"user_id":"journey-%d-%d","session_id":"s","flow":"getting-started","step":"connect","timestamp":%q}`,
			batch, i, typ, batch, i/2, ts)
	}
	return `{"events":[` + strings.Join(evs, ",") + `]}`
}

// batchBody is the JSON of one 50-event batch.
func batchBody(batch int) string {
	evs := make([]string, benchBatch)
	for i := range evs {
		evs[i] = benchEventJSON(batch, i)
	}
	return `{"events":[` + strings.Join(evs, ",") + `]}`
}

// baselineDB is a migrated PostgreSQL database with an empty copy of the events
// table (same columns, keys and indexes) for the raw baselines.
func baselineDB(b *testing.B) *postgres.DB {
	cfg := testConfig(b, config.EnginePostgres)
	db, err := postgres.Open(context.Background(), postgres.Options{URL: cfg.DatabaseURL, MaxConns: benchClients + 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if _, err := db.Migrator().Up(context.Background()); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool().Exec(context.Background(), `CREATE TABLE events_baseline (LIKE events INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	return db
}

var eventColumns = []string{"project_id", "id", "type", "user_id", "session_id", "flow", "step", "ts", "received_at", "properties"}

func baselineRow(n int) []any {
	now := so.Now()
	return []any{"default", fmt.Sprintf("b%d", n), "click", fmt.Sprintf("user-%d", n%5000), fmt.Sprintf("s-%d", n%500),
		"", "", now, now, fmt.Sprintf(`{"target":"#button-%d","x":120,"y":48}`, n%50)}
}

// benchRawCopy is the ceiling: CopyFrom of the same number of events into the
// identical table, 5000 rows per COPY, nothing else.
func benchRawCopy(b *testing.B) {
	db := baselineDB(b)
	total := b.N * benchBatch
	rows := make([][]any, total) // built beforehand, like the HTTP series' bodies
	for i := range rows {
		rows[i] = baselineRow(i)
	}
	b.ResetTimer()
	for done := 0; done < total; done += 5000 {
		chunk := rows[done:min(done+5000, total)]
		if _, err := db.Pool().CopyFrom(context.Background(), pgx.Identifier{"events_baseline"}, eventColumns, pgx.CopyFromRows(chunk)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b)
}

// benchInsertPerEvent is the naive design: each event its own INSERT and commit,
// from 50 concurrent workers.
func benchInsertPerEvent(b *testing.B) {
	db := baselineDB(b)
	total := int64(b.N * benchBatch)
	rows := make([][]any, total+1)
	for i := range rows {
		rows[i] = baselineRow(i)
	}
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for n := next.Add(1); n <= total; n = next.Add(1) {
				_, err := db.Pool().Exec(context.Background(), `INSERT INTO events_baseline (`+strings.Join(eventColumns, ", ")+`)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`, rows[n]...)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	reportRate(b)
}
