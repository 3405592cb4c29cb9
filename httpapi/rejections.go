package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// DefaultMaxRejectionKeys bounds the (project, hour, code) counts an instance
// holds between flushes: a few hundred bytes each, so about 2 MiB whatever
// callers send or however long the database is away.
const DefaultMaxRejectionKeys = 10000

// rejectionKey is one row of the rejected_events table.
type rejectionKey struct {
	project string
	hour    int64 // unix seconds of the UTC hour
	code    string
}

// rejectionCounts gathers the events POST /v1/events rejects, by project,
// hour and code, until a background flush writes them: counting one
// request's rejections is a lock and a map update per code, never a write to
// the database, so rejected events cannot slow accepted ones.
type rejectionCounts struct {
	mu      sync.Mutex
	max     int
	pending map[rejectionKey]int64
	byCode  map[string]prometheus.Counter // by every code RejectionCode yields, resolved once
	dropped prometheus.Counter
}

func newRejectionCounts(reg prometheus.Registerer, max int) *rejectionCounts {
	if max <= 0 {
		max = DefaultMaxRejectionKeys
	}
	c := &rejectionCounts{max: max, pending: map[rejectionKey]int64{}, byCode: map[string]prometheus.Counter{}}
	total := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smartonboard_events_rejected_total",
		Help: "Events POST /v1/events rejected one by one (answered in its 200), by error code."}, []string{"code"})
	for _, code := range so.ErrorCodes {
		c.byCode[code] = total.WithLabelValues(code)
	}
	c.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "smartonboard_events_rejected_dropped_total",
		Help: "Rejected events left out of the stored counts because this instance already held its cap of (project, hour, code) counts awaiting a flush."})
	reg.MustRegister(total, c.dropped, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smartonboard_events_rejected_pending_keys",
		Help: "(project, hour, code) counts of rejected events awaiting the next flush; never more than the cap."},
		func() float64 { return float64(c.keys()) }))
	return c
}

// count notes the rejections of one answered request.
func (c *rejectionCounts) count(projectID string, at time.Time, rejected []api.RejectedEvent) {
	if c == nil || len(rejected) == 0 {
		return
	}
	hour := at.UTC().Truncate(time.Hour).Unix()
	add := make(map[rejectionKey]int64, 2)
	for _, r := range rejected {
		add[rejectionKey{projectID, hour, so.RejectionCode(r.Code)}]++
	}
	for k, n := range add {
		c.byCode[k.code].Add(float64(n))
	}
	c.merge(add)
}

// merge adds counts to the pending ones; a key past the cap is dropped and
// its events counted as dropped.
func (c *rejectionCounts) merge(counts map[rejectionKey]int64) {
	var dropped int64
	c.mu.Lock()
	for k, n := range counts {
		if _, ok := c.pending[k]; ok || len(c.pending) < c.max {
			c.pending[k] += n
		} else {
			dropped += n
		}
	}
	c.mu.Unlock()
	if dropped > 0 {
		c.dropped.Add(float64(dropped))
	}
}

// take hands over the counts gathered since the last flush.
func (c *rejectionCounts) take() map[rejectionKey]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending = make(map[rejectionKey]int64, len(p))
	return p
}

// keys is how many counts await a flush.
func (c *rejectionCounts) keys() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// FlushRejections adds the rejections counted since the last flush to the
// store; a background job calls it, so requests never wait on that write,
// and counts it could not write wait for the next flush.
func (s *Server) FlushRejections(ctx context.Context) (int, error) {
	if s.rejections == nil {
		return 0, nil
	}
	pending := s.rejections.take()
	if len(pending) == 0 {
		return 0, nil
	}
	rows := make([]so.RejectionCount, 0, len(pending))
	for k, n := range pending {
		rows = append(rows, so.RejectionCount{ProjectID: k.project, Hour: time.Unix(k.hour, 0).UTC(), Code: k.code, Events: n})
	}
	if err := s.Rejections.AddRejections(ctx, rows); err != nil {
		s.rejections.merge(pending)
		return 0, err
	}
	return len(rows), nil
}
