package httpapi

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
	"github.com/smartonboarding/smartonboard/sqlite"
)

// pendingEvents is how many rejected events await a flush.
func pendingEvents(c *rejectionCounts) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, v := range c.pending {
		n += v
	}
	return n
}

// gathered is the value of one series of the registry (labels as name, value pairs).
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s %v", name, labels)
	return 0
}

func rejections(code string, n int) []api.RejectedEvent {
	out := make([]api.RejectedEvent, n)
	for i := range out {
		out[i] = api.RejectedEvent{Index: i, Code: code}
	}
	return out
}

// TestRejectionCountsBounded floods the counts from many goroutines with
// more distinct keys than the cap: the keys held never pass it, every
// rejected event is either held or counted as dropped, and the by-code
// metric counts them all.
func TestRejectionCountsBounded(t *testing.T) {
	t.Parallel()
	const limit, senders, projects = 50, 8, 40
	reg := prometheus.NewRegistry()
	c := newRejectionCounts(reg, limit)
	at := time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC)
	done := make(chan struct{})
	var most int
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			most = max(most, c.keys())
			select {
			case <-done:
				return
			default:
				runtime.Gosched()
			}
		}
	})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for p := range projects {
				c.count(fmt.Sprintf("p%d-%d", s, p), at, append(rejections(so.EINVALID, 3), rejections("no such code", 2)...))
			}
		})
	}
	wg.Wait()
	close(done)
	watch.Wait()
	const sent = senders * projects * 5
	held, dropped := pendingEvents(c), gathered(t, reg, "smartonboard_events_rejected_dropped_total")
	if n := c.keys(); n != limit || most > limit {
		t.Fatalf("keys held = %d (at most %d seen); want the cap, %d", n, most, limit)
	}
	if held+int64(dropped) != sent || dropped == 0 {
		t.Fatalf("held %d and dropped %v of %d rejected events", held, dropped, sent)
	}
	if got := gathered(t, reg, "smartonboard_events_rejected_pending_keys"); got != limit {
		t.Fatalf("pending keys gauge = %v, want %d", got, limit)
	}
	invalid := gathered(t, reg, "smartonboard_events_rejected_total", "code", so.EINVALID)
	internal := gathered(t, reg, "smartonboard_events_rejected_total", "code", so.EINTERNAL)
	if invalid != senders*projects*3 || internal != senders*projects*2 {
		t.Fatalf("rejected by code: invalid %v, internal (an unknown code) %v", invalid, internal)
	}
}

// TestFlushRejectionsRetries flushes into a real SQLite database: a flush
// that fails keeps its counts, which the next one writes together with what
// came since.
func TestFlushRejectionsRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rejections.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &so.Project{ID: "p1", Name: "p1", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	s := &Server{Projects: db, Rejections: db}
	s.Handler()
	at := time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC)
	s.rejections.count("p1", at, rejections(so.EINVALID, 4))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if n, err := s.FlushRejections(cancelled); err == nil || n != 0 {
		t.Fatalf("flush on a cancelled context = %d, %v; want an error", n, err)
	}
	if n := pendingEvents(s.rejections); n != 4 {
		t.Fatalf("after a failed flush %d rejected events are held, want 4", n)
	}
	s.rejections.count("p1", at.Add(10*time.Minute), append(rejections(so.EINVALID, 1), rejections(so.ECONFLICT, 2)...))
	if n, err := s.FlushRejections(ctx); err != nil || n != 2 {
		t.Fatalf("flush = %d, %v; want 2 rows", n, err)
	}
	if n := pendingEvents(s.rejections); n != 0 {
		t.Fatalf("after a flush %d rejected events are held", n)
	}
	hour := at.Truncate(time.Hour)
	got, err := db.RejectedEvents(ctx, so.RollupQuery{ProjectID: "p1", From: hour, To: hour.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := []so.RejectionCount{{ProjectID: "p1", Hour: hour, Code: so.ECONFLICT, Events: 2}, {ProjectID: "p1", Hour: hour, Code: so.EINVALID, Events: 5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	if n, err := s.FlushRejections(ctx); err != nil || n != 0 {
		t.Fatalf("a flush of nothing = %d, %v", n, err)
	}
}
