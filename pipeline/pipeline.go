// Package pipeline is what happens after events commit. Real-time stages
// (streams, live counters, the journey engine's caches) are fed in memory,
// in order, straight after each commit. Durable consumers (the behaviour
// engine, later analytics) read the committed event log by a cursor the store
// keeps in the same transaction as their output, so a crash can neither lose
// nor repeat their work: the event table is the log.
package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Commit is one ingestion transaction as the real-time stages receive it.
type Commit struct {
	Events  []*so.Event // the events it stored, duplicates left out
	Outcome *so.Outcome // what it did to journeys (nil when it moved none)
}

// Stage is a real-time consumer: it must be quick, since the committer waits
// for it, and it may lose its input in a crash (it holds nothing durable).
type Stage struct {
	Name string
	Run  func(Commit)
}

// Follower is a Consumer that reads only what another consumer has
// processed: its output for those events is committed when this one runs.
type Follower interface {
	Consumer
	// After names the consumer followed; it must be added before.
	After() string
}

// Derived is a consumer whose whole output can be recomputed from the log
// (rows only: no messages sent, nothing announced), so its transactions need
// not wait for the disk; see so.ConsumeOptions.Derived.
type Derived interface {
	Consumer
	Derived() bool
}

// Paced is a consumer whose readers can wait (reports): it asks for fewer,
// bigger transactions than the pipeline's, so that under load it leaves the
// writer and the cores to ingestion and to the consumers users wait on.
type Paced interface {
	Consumer
	// Pace returns the least time between the start of a transaction that
	// caught up with the log and the next one (a backlog drains without a
	// pause), and the most events one transaction may hold.
	Pace() (gap time.Duration, batch int)
}

// Consumer is a durable consumer of the event log.
type Consumer interface {
	// Name names the consumer's cursor; renaming it starts a new cursor.
	Name() string
	// Consume processes events in commit order inside the transaction that
	// advances the cursor, and may return work to do once it has committed
	// (pushes to streams); it must be deterministic in its stored output.
	Consume(ctx context.Context, tx so.ConsumerTx, events []*so.Event) (after func(), err error)
}

// Options tune the durable consumers.
type Options struct {
	Batch int           // events per consumer transaction at most (default 2000); under a backlog, big batches share one commit
	Poll  time.Duration // how often to look for events committed by other instances (default 1s)
	// Gap is the least time between a consumer's transaction that caught up
	// with the log and the start of its next one (default none): under load,
	// commits that arrive meanwhile share the next transaction instead of each
	// paying for one; a full batch is followed at once, so a backlog drains. It suits an engine
	// whose every commit syncs one shared log (SQLite); where the log's
	// horizon trails the commits (PostgreSQL), it only slows the consumer.
	Gap time.Duration
	// Idle creates the consumers' cursors but runs none of them: an instance
	// that only ingests. Its events wait in the log for an instance that runs
	// the consumers, and the cursor exists from the first event on.
	Idle bool
	// OnBatch, when set, observes each consumer transaction: its events, how long
	// it took, and its error.
	OnBatch func(consumer string, events []*so.Event, took time.Duration, err error)
}

// Pipeline runs the stages and consumers.
type Pipeline struct {
	store   so.PipelineStore
	logger  *slog.Logger
	opts    Options
	stages  []Stage
	runners []*runner
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New makes a pipeline over the store's event log.
func New(store so.PipelineStore, logger *slog.Logger, opts Options) *Pipeline {
	if opts.Batch <= 0 {
		opts.Batch = 2000
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	return &Pipeline{store: store, logger: logger, opts: opts}
}

// AddStage appends a real-time stage; stages run in the order added.
func (p *Pipeline) AddStage(name string, run func(Commit)) {
	p.stages = append(p.stages, Stage{Name: name, Run: run})
}

// AddConsumer adds a durable consumer; call before Start. A Follower is
// woken by the consumer it follows, the others by commits.
func (p *Pipeline) AddConsumer(c Consumer) {
	r := &runner{c: c, wake: make(chan struct{}, 1), recent: &recentEvents{}, gap: p.opts.Gap, batch: p.opts.Batch}
	if pc, ok := c.(Paced); ok {
		gap, batch := pc.Pace()
		r.gap, r.batch = max(r.gap, gap), max(r.batch, batch)
	}
	if d, ok := c.(Derived); ok {
		r.derived = d.Derived()
	}
	// A paced consumer trails by its gap's worth of commits: room for a few
	// of its batches keeps it reading from memory, not the log.
	r.recent.max = max(maxRecent, 4*r.batch)
	r.handed.max = r.recent.max
	if f, ok := c.(Follower); ok {
		r.after = f.After()
		for _, up := range p.runners {
			if up.c.Name() == r.after {
				up.followers = append(up.followers, r)
			}
		}
	}
	p.runners = append(p.runners, r)
}

// Consumers names the durable consumers, for metrics.
func (p *Pipeline) Consumers() []string {
	names := make([]string, len(p.runners))
	for i, r := range p.runners {
		names[i] = r.c.Name()
	}
	return names
}

// Start creates missing cursors (at the end of the log) and starts each
// consumer; it must run before events are accepted, or a new consumer would
// begin after them.
func (p *Pipeline) Start(ctx context.Context) error {
	for _, r := range p.runners {
		if err := p.store.StartConsumer(ctx, r.c.Name()); err != nil {
			return err
		}
	}
	if p.opts.Idle {
		return nil
	}
	ctx, p.cancel = context.WithCancel(context.Background())
	for _, r := range p.runners {
		p.wg.Go(func() { p.run(ctx, r) })
	}
	return nil
}

// Committed is the ingester's OnCommit: it feeds the stages in order, then
// wakes the consumers.
func (p *Pipeline) Committed(stored []*so.Event, o *so.Outcome) {
	c := Commit{Events: stored, Outcome: o}
	for _, s := range p.stages {
		s.Run(c)
	}
	if len(stored) == 0 {
		return
	}
	if p.opts.Idle {
		return // no consumer runs here: its events wait in the log
	}
	for _, r := range p.runners {
		r.recent.add(stored)
		if r.after == "" {
			r.poke()
		}
	}
}

// Close stops the consumers after their current transaction.
func (p *Pipeline) Close() {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
		p.cancel = nil
	}
}

// Lag reports, per consumer, how many committed events wait for it (counted
// up to max).
func (p *Pipeline) Lag(ctx context.Context, consumer string, max int) (int, error) {
	_, n, err := p.store.ConsumerLag(ctx, consumer, max)
	return n, err
}

type runner struct {
	c         Consumer
	after     string // the consumer followed, if any
	derived   bool   // the consumer is Derived
	gap       time.Duration
	batch     int       // Options' Gap and Batch, or the consumer's Pace
	followers []*runner // woken after each batch of this one
	wake      chan struct{}
	recent    *recentEvents
	handed    handoffs  // batches of the consumer followed, for a Follower
	last      time.Time // when the last transaction started
}

// maxRecent bounds the committed events a runner keeps in memory to hand its
// consumer (or four of its batches, if more); beyond it the consumer reads
// the log, as it does after a restart.
const maxRecent = 20_000

// recentEvents are the events this instance committed that a consumer has
// not seen, in commit order, for engines that can use them (they know each
// event's place in the log) instead of reading them back.
type recentEvents struct {
	mu     sync.Mutex
	events []*so.Event
	max    int // events kept at most
}

func (q *recentEvents) add(stored []*so.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(stored) == 0 || stored[0].Seq == 0 { // the engine does not number events at insert
		return
	}
	if len(q.events)+len(stored) > q.max {
		q.events = nil // a gap: the consumer reads the log until it is past it
	}
	q.events = append(q.events, stored...)
}

// snapshot returns the events kept now.
func (q *recentEvents) snapshot() []*so.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.events
}

// clear drops every event kept.
func (q *recentEvents) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = nil
}

// seen drops the events up to and including seq.
func (q *recentEvents) seen(seq int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := 0
	for i < len(q.events) && q.events[i].Seq <= seq {
		i++
	}
	q.events = q.events[i:]
}

// handoffs are the batches a followed consumer committed that its follower
// has not consumed, in order, bounded like the recent events.
type handoffs struct {
	mu      sync.Mutex
	batches []so.Handoff
	events  int
	max     int // events kept at most
}

func (h *handoffs) add(b so.Handoff) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events+len(b.Events) > h.max {
		h.batches, h.events = nil, 0 // a gap: the follower reads the log until it is past it
	}
	h.batches = append(h.batches, b)
	h.events += len(b.Events)
}

func (h *handoffs) snapshot() []so.Handoff {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.batches
}

func (h *handoffs) clear() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches, h.events = nil, 0
}

// seen drops the batches that end at or before to.
func (h *handoffs) seen(to so.Cursor) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for i < len(h.batches) && h.batches[i].To.AtMost(to) {
		h.events -= len(h.batches[i].Events)
		i++
	}
	h.batches = h.batches[i:]
}

// run consumes whenever woken or polled, until caught up, backing off on
// errors; an error leaves the cursor where it was, so the batch is retried
// and nothing is skipped.
func (p *Pipeline) run(ctx context.Context, r *runner) {
	poll := time.NewTicker(p.opts.Poll)
	defer poll.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-poll.C:
		}
		if err := p.catchUp(ctx, r); err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			p.logger.Error("pipeline consumer failed; retrying its batch", "consumer", r.c.Name(), "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			r.poke()
			continue
		}
		backoff = 0
	}
}

func (r *runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// catchUp runs consumer transactions until one finds fewer events than a batch.
// The gap is waited once, before the first: a full batch means a backlog,
// and pausing between full batches would cap the consumer at batch/gap
// events a second however fast it could go.
func (p *Pipeline) catchUp(ctx context.Context, r *runner) error {
	if wait := r.gap - time.Since(r.last); wait > 0 {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	for ctx.Err() == nil {
		var after func()
		var seen []*so.Event
		start := time.Now()
		r.last = start
		var span so.Handoff
		opts := so.ConsumeOptions{Limit: r.batch, Recent: r.recent.snapshot(), After: r.after, Derived: r.derived,
			Handed: r.handed.snapshot(), Span: &span}
		n, err := p.store.ConsumeWith(ctx, r.c.Name(), opts, func(ctx context.Context, tx so.ConsumerTx, events []*so.Event) error {
			seen = events
			var err error
			after, err = r.c.Consume(ctx, tx, events)
			return err
		})
		if p.opts.OnBatch != nil && (n > 0 || err != nil) {
			p.opts.OnBatch(r.c.Name(), seen, time.Since(start), err)
		}
		if err != nil {
			r.recent.clear() // whatever failed, the retry reads the log
			r.handed.clear()
			return err
		}
		if n > 0 {
			r.recent.seen(seen[len(seen)-1].Seq)
			r.handed.seen(span.To)
			if seen[0].Seq == 0 { // an engine that numbers events at insert hands them over as recent ones
				for _, f := range r.followers {
					f.handed.add(so.Handoff{From: span.From, To: span.To, Events: seen, At: span.At})
				}
			}
		}
		if after != nil {
			after()
		}
		if n > 0 {
			for _, f := range r.followers {
				f.poke()
			}
		}
		if n < r.batch {
			return nil
		}
	}
	return nil
}
