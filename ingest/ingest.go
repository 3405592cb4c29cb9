// Package ingest commits behavioural events with group commit: requests that
// arrive while a transaction is in flight are gathered into the next one, so many
// clients share one commit, and each request is answered only when its own events
// are durable.
package ingest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Store is the part of an engine ingestion needs.
type Store interface {
	IngestEvents(ctx context.Context, events []*so.Event, apply func(ctx context.Context, tx so.IngestTx, inserted []*so.Event) error) ([]bool, error)
}

// Applier moves journeys inside the ingestion transaction.
type Applier func(ctx context.Context, tx so.IngestTx, inserted []*so.Event) (*so.Outcome, error)

// Options tune the committer.
type Options struct {
	// MaxBatch bounds the events of one transaction (default 5000).
	MaxBatch int
	// Committers is how many transactions may be in flight at once (default 1;
	// SQLite has one writer, so more only helps PostgreSQL).
	Committers int
	// CommitTimeout bounds one transaction (default 30s).
	CommitTimeout time.Duration
	// MaxPending and MaxPendingBytes bound the events accepted but not yet
	// committed (default 100000 events, 256 MiB as sizeOf counts them). Beyond
	// either, Submit refuses at once with ErrBusy, so a slow database sheds
	// load instead of queuing decoded batches without bound.
	MaxPending      int
	MaxPendingBytes int64
	// OnCommit, when set, receives the newly stored events of each transaction and
	// its journey outcome (for real-time streams). It runs on the committer after
	// the transaction's requests are answered; the next commit waits for it, so it
	// should hand slow work to another goroutine.
	OnCommit func(stored []*so.Event, outcome *so.Outcome)
	// OnBatch, when set, observes each transaction: requests, events, duration, error.
	OnBatch func(requests, events int, took time.Duration, err error)
}

// Result is what happened to one request's events, index by index.
type Result struct {
	Inserted []bool       // false: a duplicate of a stored event, or refused
	Refused  []error      // nil, or why the event was refused and not stored
	Notices  []*so.Notice // nil or how the event bore on its journey
}

// ErrIDTaken refuses an event whose id is stored for another user: ids are
// unique per project, so this is a client bug (ids that are not unique, such
// as counters) and not a retry, and dropping it silently would lose the event.
// The message does not name the other user.
var ErrIDTaken = so.FieldErrorf(so.ECONFLICT, "id", "another user's event already has this id; give every event a unique id (a UUID, as the SDK does)")

// ErrClosed is returned by Submit after Close.
var ErrClosed = so.Errorf(so.EUNAVAILABLE, "the server is shutting down; retry on another instance")

// ErrBusy is returned by Submit when MaxPending events already wait for commit.
var ErrBusy = so.Errorf(so.EUNAVAILABLE, "the server has too many events waiting to be stored; retry in a moment")

type request struct {
	events []*so.Event
	bytes  int64 // sizeOf the events, held against MaxPendingBytes
	done   chan response
}

// sizeOf approximates the memory an event holds while it waits: its strings,
// its properties and the struct around them.
func sizeOf(events []*so.Event) int64 {
	var n int64
	for _, e := range events {
		n += 256 + int64(len(e.ID)+len(e.UserID)+len(e.SessionID)+len(e.Flow)+len(e.Step)+len(e.Properties))
	}
	return n
}

type response struct {
	result *Result
	err    error
}

// Ingester is the group committer.
type Ingester struct {
	store Store
	apply Applier
	opts  Options
	queue chan *request

	mu           sync.RWMutex
	closed       bool
	wg           sync.WaitGroup
	pending      atomic.Int64 // events submitted and not yet answered
	pendingBytes atomic.Int64 // their sizeOf
}

// New starts an Ingester with opts.Committers committer goroutines.
func New(store Store, apply Applier, opts Options) *Ingester {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 5000
	}
	if opts.Committers <= 0 {
		opts.Committers = 1
	}
	if opts.CommitTimeout <= 0 {
		opts.CommitTimeout = 30 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100_000
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = 256 << 20
	}
	in := &Ingester{store: store, apply: apply, opts: opts, queue: make(chan *request, 4096)}
	for range opts.Committers {
		in.wg.Go(in.commitLoop)
	}
	return in
}

// Submit queues validated events and waits until they are committed. If ctx ends
// first Submit returns its error, but the events may still be committed: clients
// retry, and ids make the retry harmless.
func (in *Ingester) Submit(ctx context.Context, events []*so.Event) (*Result, error) {
	if len(events) == 0 {
		return &Result{Inserted: []bool{}, Refused: []error{}, Notices: []*so.Notice{}}, nil
	}
	req := &request{events: events, bytes: sizeOf(events), done: make(chan response, 1)}
	if !in.hold(req) {
		return nil, ErrBusy
	}
	in.mu.RLock()
	if in.closed {
		in.mu.RUnlock()
		in.release(req)
		return nil, ErrClosed
	}
	select {
	case in.queue <- req:
	case <-ctx.Done():
		in.mu.RUnlock()
		in.release(req)
		return nil, ctx.Err()
	}
	in.mu.RUnlock()
	select {
	case resp := <-req.done:
		return resp.result, resp.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops accepting events, commits everything queued, and waits.
func (in *Ingester) Close() {
	in.mu.Lock()
	if !in.closed {
		in.closed = true
		close(in.queue)
	}
	in.mu.Unlock()
	in.wg.Wait()
}

// commitLoop takes the first waiting request, gathers whatever else is queued up
// to MaxBatch events, and commits them together.
func (in *Ingester) commitLoop() {
	for first := range in.queue {
		batch, n := []*request{first}, len(first.events)
	gather:
		for n < in.opts.MaxBatch {
			select {
			case r, ok := <-in.queue:
				if !ok {
					break gather
				}
				batch, n = append(batch, r), n+len(r.events)
			default:
				break gather
			}
		}
		in.commit(batch, n)
	}
}

// commit writes a batch in one transaction; if that fails and the batch holds
// several requests, each is retried alone so one cannot fail the others.
func (in *Ingester) commit(batch []*request, n int) {
	err := in.commitTogether(batch, n)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		in.reply(batch[0], response{err: err})
		return
	}
	failedInARow := 0
	for i, r := range batch {
		err := in.commitTogether([]*request{r}, len(r.events))
		if err == nil {
			failedInARow = 0
			continue
		}
		in.reply(r, response{err: err})
		if failedInARow++; failedInARow == 2 {
			// Two requests in a row failed alone: the store itself is failing,
			// not one request's data. Answer the rest at once instead of waiting
			// out a timeout for each.
			for _, rest := range batch[i+1:] {
				in.reply(rest, response{err: err})
			}
			return
		}
	}
}

// commitTogether runs one transaction and, on success, answers every request.
func (in *Ingester) commitTogether(batch []*request, n int) error {
	all := make([]*so.Event, 0, n)
	for _, r := range batch {
		all = append(all, r.events...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), in.opts.CommitTimeout)
	defer cancel()
	start := time.Now()
	var outcome *so.Outcome
	var refused []error
	inserted, err := in.store.IngestEvents(ctx, all, func(ctx context.Context, tx so.IngestTx, ins []*so.Event) error {
		var err error
		if outcome, err = in.apply(ctx, tx, ins); err != nil {
			return err
		}
		refused, err = refuseTakenIDs(ctx, tx, all, ins)
		return err
	})
	if in.opts.OnBatch != nil {
		in.opts.OnBatch(len(batch), n, time.Since(start), err)
	}
	if err != nil {
		if so.ErrorCode(err) == so.EINTERNAL || errors.Is(err, context.DeadlineExceeded) {
			// The store failed (down, overloaded, too slow): nothing of the batch
			// is committed, and the client's retry is safe. OnBatch sees the cause.
			return so.Errorf(so.EUNAVAILABLE, "the events could not be stored right now; retry")
		}
		return err
	}
	in.answer(batch, inserted, refused, outcome)
	if in.opts.OnCommit != nil {
		stored := make([]*so.Event, 0, len(all))
		for i, ok := range inserted {
			if ok {
				stored = append(stored, all[i])
			}
		}
		in.opts.OnCommit(stored, outcome)
	}
	return nil
}

// Pending is how many submitted events wait for their commit, for metrics.
func (in *Ingester) Pending() int { return int(in.pending.Load()) }

// hold counts a request among the pending ones, unless that would pass a limit.
func (in *Ingester) hold(r *request) bool {
	n := int64(len(r.events))
	events, bytes := in.pending.Add(n), in.pendingBytes.Add(r.bytes)
	if events > int64(in.opts.MaxPending) || bytes > in.opts.MaxPendingBytes {
		in.release(r)
		return false
	}
	return true
}

func (in *Ingester) release(r *request) {
	in.pending.Add(-int64(len(r.events)))
	in.pendingBytes.Add(-r.bytes)
}

// reply answers a request and releases its place among the pending events; it
// is the only place a queued request leaves the committer.
func (in *Ingester) reply(r *request, resp response) {
	in.release(r)
	r.done <- resp
}

// refuseTakenIDs tells, among the events the store did not insert, a retry (the
// stored event has the same user: a duplicate) from an id another user's event
// holds (refused with ErrIDTaken). Only events not inserted are looked up, so
// a batch of new events costs nothing more. It runs inside the transaction, so
// it sees the events this batch inserted, and each refusal is per index; the
// result is nil when nothing is refused.
func refuseTakenIDs(ctx context.Context, tx so.IngestTx, all, inserted []*so.Event) ([]error, error) {
	if len(inserted) == len(all) {
		return nil, nil
	}
	var idx []int
	var missed []*so.Event
	j := 0
	for i, e := range all { // inserted is a subsequence of all, in order
		if j < len(inserted) && inserted[j] == e {
			j++
			continue
		}
		idx, missed = append(idx, i), append(missed, e)
	}
	owners, err := tx.EventOwners(ctx, missed)
	if err != nil {
		return nil, err
	}
	var refused []error
	for k, e := range missed {
		if owners[k] != "" && owners[k] != e.UserID {
			if refused == nil {
				refused = make([]error, len(all))
			}
			refused[idx[k]] = ErrIDTaken
		}
	}
	return refused, nil
}

func (in *Ingester) answer(batch []*request, inserted []bool, refused []error, outcome *so.Outcome) {
	i := 0
	for _, r := range batch {
		res := &Result{Inserted: inserted[i : i+len(r.events)], Refused: make([]error, len(r.events)), Notices: make([]*so.Notice, len(r.events))}
		if refused != nil {
			copy(res.Refused, refused[i:i+len(r.events)])
		}
		if outcome != nil {
			for k, ev := range r.events {
				res.Notices[k] = outcome.Notices[ev]
			}
		}
		i += len(r.events)
		in.reply(r, response{result: res})
	}
}
