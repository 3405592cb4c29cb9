package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/pipeline"
	"github.com/smartonboarding/smartonboard/sqlite"
)

// hangGuard bounds every wait; it never judges speed.
const hangGuard = time.Minute

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrator().Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(context.Background(), &so.Project{ID: "p", Name: "p", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	return db
}

// ingest stores click events with the ids and returns them.
func ingest(t *testing.T, db *sqlite.DB, ids ...string) []*so.Event {
	t.Helper()
	var events []*so.Event
	for _, id := range ids {
		e, err := so.NewEvent("p", so.EventInput{ID: id, Type: so.EventClick, UserID: "u", Timestamp: so.FormatTime(so.Now())}, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, err := db.IngestEvents(context.Background(), events, func(context.Context, so.IngestTx, []*so.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return events
}

// recorder is a consumer that remembers what it saw, fails on demand, and
// reports through done what its after funcs ran for.
type recorder struct {
	name  string
	mu    sync.Mutex
	seen  []string
	fails int
	done  chan string
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Consume(_ context.Context, _ so.ConsumerTx, events []*so.Event) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails > 0 {
		r.fails--
		return nil, errors.New("consumer failed")
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	r.seen = append(r.seen, ids...)
	return func() {
		for _, id := range ids {
			r.done <- id
		}
	}, nil
}

func waitIDs(t *testing.T, ch <-chan string, want ...string) {
	t.Helper()
	var got []string
	timeout := time.After(hangGuard)
	for len(got) < len(want) {
		select {
		case id := <-ch:
			got = append(got, id)
		case <-timeout:
			t.Fatalf("after funcs ran for %v, want %v", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after funcs ran for %v, want %v in commit order", got, want)
	}
}

func TestStagesInOrderThenConsumers(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	p := pipeline.New(db, slog.New(slog.DiscardHandler), pipeline.Options{Poll: time.Hour})
	var order []string
	p.AddStage("first", func(c pipeline.Commit) { order = append(order, "first:"+fmt.Sprint(len(c.Events))) })
	p.AddStage("second", func(pipeline.Commit) { order = append(order, "second") })
	r := &recorder{name: "rec", done: make(chan string, 10)}
	p.AddConsumer(r)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Committed(ingest(t, db, "a", "b"), nil) // woken by the commit, not the (hour-long) poll
	waitIDs(t, r.done, "a", "b")
	if fmt.Sprint(order) != "[first:2 second]" {
		t.Fatalf("stages ran %v", order)
	}
}

func TestFailedBatchIsRetriedWhole(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	p := pipeline.New(db, slog.New(slog.DiscardHandler), pipeline.Options{Poll: time.Hour, Batch: 2})
	r := &recorder{name: "rec", fails: 2, done: make(chan string, 10)}
	p.AddConsumer(r)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Committed(ingest(t, db, "a", "b", "c"), nil)
	waitIDs(t, r.done, "a", "b", "c")
	r.mu.Lock()
	defer r.mu.Unlock()
	if fmt.Sprint(r.seen) != "[a b c]" {
		t.Fatalf("consumer saw %v: a failed batch must be retried whole, never skipped or repeated", r.seen)
	}
}

func TestIdleKeepsEventsForAnotherInstance(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	idle := pipeline.New(db, slog.New(slog.DiscardHandler), pipeline.Options{Idle: true, Poll: time.Hour})
	idle.AddConsumer(&recorder{name: "rec", done: make(chan string, 10)})
	if err := idle.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	idle.Committed(ingest(t, db, "a"), nil)
	idle.Close()
	if n, err := idle.Lag(context.Background(), "rec", 0); err != nil || n != 1 {
		t.Fatalf("lag on the idle instance = %d, %v; want the event waiting", n, err)
	}
	p := pipeline.New(db, slog.New(slog.DiscardHandler), pipeline.Options{Poll: 10 * time.Millisecond})
	r := &recorder{name: "rec", done: make(chan string, 10)}
	p.AddConsumer(r)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitIDs(t, r.done, "a") // found by polling: this instance committed nothing
}

// paced is a recorder that asks for its own pace and notes how many events
// each of its transactions held.
type paced struct {
	recorder
	gap   time.Duration
	batch int
	sizes []int
}

func (c *paced) Pace() (time.Duration, int) { return c.gap, c.batch }

func (c *paced) Consume(ctx context.Context, tx so.ConsumerTx, events []*so.Event) (func(), error) {
	c.mu.Lock()
	c.sizes = append(c.sizes, len(events))
	c.mu.Unlock()
	return c.recorder.Consume(ctx, tx, events)
}

// TestPacedConsumerTakesBiggerBatchesApart: a Paced consumer's transactions
// hold up to its own batch, beyond the pipeline's, while a plain consumer
// keeps the pipeline's; a full batch is followed at once (a backlog drains
// however long the gap), and with an hour's gap the transaction after one that
// caught up waits.
func TestPacedConsumerTakesBiggerBatchesApart(t *testing.T) {
	t.Parallel()
	for _, gap := range []time.Duration{0, time.Hour} {
		t.Run(gap.String(), func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			p := pipeline.New(db, slog.New(slog.DiscardHandler), pipeline.Options{Poll: time.Hour, Batch: 2})
			slow := &paced{recorder: recorder{name: "slow", done: make(chan string, 10)}, gap: gap, batch: 3}
			plain := &recorder{name: "plain", done: make(chan string, 10)}
			p.AddConsumer(slow)
			p.AddConsumer(plain)
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.Committed(ingest(t, db, "a", "b", "c", "d", "e"), nil)
			waitIDs(t, plain.done, "a", "b", "c", "d", "e")
			waitIDs(t, slow.done, "a", "b", "c", "d", "e")
			p.Committed(ingest(t, db, "f", "g"), nil)
			waitIDs(t, plain.done, "f", "g")
			if gap == 0 {
				waitIDs(t, slow.done, "f", "g")
			} else {
				select {
				case id := <-slow.done:
					t.Fatalf("%s consumed before the hour's gap had passed", id)
				case <-time.After(200 * time.Millisecond): // the plain consumer is done: nothing else delays it
				}
			}
			slow.mu.Lock()
			defer slow.mu.Unlock()
			if want := map[time.Duration]string{0: "[3 2 2]", time.Hour: "[3 2]"}[gap]; fmt.Sprint(slow.sizes) != want {
				t.Fatalf("paced batches %v, want %s (its batch of 3, not the pipeline's 2)", slow.sizes, want)
			}
		})
	}
}
