package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/ingest"
)

// fakeStore records transactions. It stands in for an engine only to observe how
// the committer groups requests; the engines' own ingestion is tested against
// SQLite and PostgreSQL in storetest.
type fakeStore struct {
	mu       sync.Mutex
	seen     map[string]bool
	batches  []int         // sizes of the committed transactions
	attempts [][]string    // the event ids of every transaction, failed ones too
	entered  chan int      // when set, hears of each transaction as it starts
	release  chan struct{} // when set, each transaction waits for a value
	fail     func(events []*so.Event) error
	owners   map[string]string // event id → user, of the events stored
}

func (f *fakeStore) IngestEvents(ctx context.Context, events []*so.Event, apply func(context.Context, so.IngestTx, []*so.Event) error) ([]bool, error) {
	if f.entered != nil {
		f.entered <- len(events)
	}
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	f.attempts = append(f.attempts, ids)
	if f.fail != nil {
		if err := f.fail(events); err != nil {
			return nil, err
		}
	}
	if f.owners == nil {
		f.owners = map[string]string{}
	}
	inserted := make([]bool, len(events))
	var fresh []*so.Event
	for i, e := range events {
		if !f.seen[e.ID] {
			f.seen[e.ID], inserted[i] = true, true
			f.owners[e.ID] = e.UserID
			fresh = append(fresh, e)
		}
	}
	f.batches = append(f.batches, len(events))
	return inserted, apply(ctx, fakeTx{owners: f.owners}, fresh)
}

// fakeTx answers EventOwners from the fake store; the journey methods of
// so.IngestTx are never called here.
type fakeTx struct {
	so.IngestTx
	owners map[string]string
}

func (t fakeTx) EventOwners(_ context.Context, events []*so.Event) ([]string, error) {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = t.owners[e.ID]
	}
	return out, nil
}

func events(prefix string, n int) []*so.Event {
	out := make([]*so.Event, n)
	for i := range out {
		out[i] = &so.Event{ProjectID: "p", ID: fmt.Sprintf("%s-%d", prefix, i), UserID: "u"}
	}
	return out
}

func noJourneys(context.Context, so.IngestTx, []*so.Event) (*so.Outcome, error) {
	return &so.Outcome{Notices: map[*so.Event]*so.Notice{}}, nil
}

// hangGuard bounds every wait of these tests: far longer than any wait takes, it
// only turns a hang into a failure that says what hung.
const hangGuard = time.Minute

// holdCommitter submits a one-event request and returns once its transaction
// has started and waits on store.release, so that later requests queue up.
func holdCommitter(t *testing.T, in *ingest.Ingester, store *fakeStore, wg *sync.WaitGroup) {
	t.Helper()
	wg.Go(func() {
		if _, err := in.Submit(context.Background(), events("holder", 1)); err != nil {
			t.Errorf("holder: %v", err)
		}
	})
	select {
	case <-store.entered:
	case <-time.After(hangGuard):
		t.Fatal("the holder's transaction never started")
	}
}

// waitPending waits until n events wait for their commit.
func waitPending(t *testing.T, in *ingest.Ingester, n int) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); in.Pending() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d events pending, want %d", in.Pending(), n)
		}
	}
}

// wait waits for the group, failing the test rather than hanging.
func wait(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatal("requests were never answered")
	}
}

// TestRequestsShareCommits holds the first transaction open while more requests
// arrive: they must all go into the next transaction together.
func TestRequestsShareCommits(t *testing.T) {
	t.Parallel()
	store := &fakeStore{seen: map[string]bool{}, entered: make(chan int, 10), release: make(chan struct{})}
	in := ingest.New(store, noJourneys, ingest.Options{})
	defer in.Close()
	var wg sync.WaitGroup
	holdCommitter(t, in, store, &wg)
	results := make([]*ingest.Result, 10)
	for i := range results {
		wg.Go(func() {
			r, err := in.Submit(context.Background(), events(fmt.Sprint("r", i), 5))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	waitPending(t, in, 1+50) // the ten are queued behind the holder
	close(store.release)
	wait(t, &wg)
	if len(store.batches) != 2 || store.batches[0] != 1 || store.batches[1] != 50 {
		t.Fatalf("transactions %v, want [1 50]: ten waiting requests share one commit", store.batches)
	}
	for i, r := range results {
		if r == nil || len(r.Inserted) != 5 || !r.Inserted[4] {
			t.Fatalf("request %d got %+v", i, r)
		}
	}
}

// TestFailedBatchIsolatesRequests: when a shared transaction fails, each request
// is retried alone, so only the request that causes the failure gets an error.
func TestFailedBatchIsolatesRequests(t *testing.T) {
	t.Parallel()
	store := &fakeStore{seen: map[string]bool{}, entered: make(chan int, 10), release: make(chan struct{})}
	store.fail = func(evs []*so.Event) error {
		for _, e := range evs {
			if e.ID == "bad-0" {
				return so.Errorf(so.EINVALID, "bad-0 is refused")
			}
		}
		return nil
	}
	in := ingest.New(store, noJourneys, ingest.Options{})
	defer in.Close()
	var wg sync.WaitGroup
	holdCommitter(t, in, store, &wg)
	names := []string{"good", "bad", "fine"}
	results, errs := make([]*ingest.Result, len(names)), make([]error, len(names))
	for i, name := range names {
		wg.Go(func() { results[i], errs[i] = in.Submit(context.Background(), events(name, 3)) })
	}
	waitPending(t, in, 1+9) // the three are queued behind the holder: one group
	close(store.release)
	wait(t, &wg)
	assertIsolated(t, store, names, results, errs)
}

// assertIsolated checks that the three requests failed together in one shared
// transaction, that each was then tried alone, and that only "bad" failed: the
// others are answered as committed, and their events (not bad's) are stored.
func assertIsolated(t *testing.T, store *fakeStore, names []string, results []*ingest.Result, errs []error) {
	t.Helper()
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.attempts) != 5 || len(store.attempts[1]) != 9 {
		t.Fatalf("transactions %v, want the holder, the shared nine, then each request alone", store.attempts)
	}
	for _, alone := range store.attempts[2:] {
		if len(alone) != 3 {
			t.Fatalf("transactions %v: after the shared one fails, each request goes alone", store.attempts)
		}
	}
	for i, name := range names {
		stored := store.seen[name+"-0"] && store.seen[name+"-2"]
		if name == "bad" {
			if so.ErrorCode(errs[i]) != so.EINVALID || results[i] != nil || store.seen["bad-1"] {
				t.Fatalf("bad: %+v, %v, stored %v; want its own error and nothing stored", results[i], errs[i], store.seen["bad-1"])
			}
			continue
		}
		if errs[i] != nil || results[i] == nil || fmt.Sprint(results[i].Inserted) != "[true true true]" || !stored {
			t.Fatalf("%s shared a transaction with bad: %+v, %v, stored %v; want committed", name, results[i], errs[i], stored)
		}
	}
}

func TestDuplicatesAndClose(t *testing.T) {
	t.Parallel()
	store := &fakeStore{seen: map[string]bool{}}
	var committed int
	in := ingest.New(store, noJourneys, ingest.Options{OnCommit: func(stored []*so.Event, _ *so.Outcome) { committed += len(stored) }})
	first, err := in.Submit(context.Background(), events("a", 3))
	if err != nil {
		t.Fatal(err)
	}
	again, err := in.Submit(context.Background(), events("a", 4))
	if err != nil {
		t.Fatal(err)
	}
	in.Close() // waits for the committer, and so for OnCommit
	if fmt.Sprint(first.Inserted) != "[true true true]" || fmt.Sprint(again.Inserted) != "[false false false true]" || committed != 4 {
		t.Fatalf("inserted %v then %v, committed %d", first.Inserted, again.Inserted, committed)
	}
	if _, err := in.Submit(context.Background(), events("b", 1)); so.ErrorCode(err) != so.EUNAVAILABLE {
		t.Fatalf("submit after Close: %v, want unavailable", err)
	}
}

// TestStoreOutageFailsFast: when the store is down, a failed shared transaction
// is not retried request by request; after two single failures in a row, the
// rest of the batch gets "unavailable" at once.
func TestStoreOutageFailsFast(t *testing.T) {
	t.Parallel()
	store := &fakeStore{seen: map[string]bool{}, entered: make(chan int, 10), release: make(chan struct{})}
	var calls int
	store.fail = func([]*so.Event) error {
		calls++
		if calls == 1 {
			return nil // the request that holds the committer while the others queue
		}
		return errors.New("connection refused")
	}
	in := ingest.New(store, noJourneys, ingest.Options{})
	defer in.Close()
	var wg sync.WaitGroup
	holdCommitter(t, in, store, &wg)
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { _, errs[i] = in.Submit(context.Background(), events(fmt.Sprint("o", i), 2)) })
	}
	waitPending(t, in, 1+10) // the five are queued behind the holder
	close(store.release)
	wait(t, &wg)
	for i, err := range errs {
		if so.ErrorCode(err) != so.EUNAVAILABLE {
			t.Fatalf("request %d: %v, want unavailable", i, err)
		}
	}
	if calls != 4 { // holder, the shared attempt, two single retries
		t.Fatalf("%d transactions, want 4: the other three requests must not be retried", calls)
	}
}

// TestShedsLoadBeyondMaxPending refuses at once, with EUNAVAILABLE, the request
// that would take the events waiting for commit past MaxPending; the waiting
// ones still commit, and their places free up once answered.
func TestShedsLoadBeyondMaxPending(t *testing.T) {
	t.Parallel()
	store := &fakeStore{seen: map[string]bool{}, release: make(chan struct{})}
	in := ingest.New(store, noJourneys, ingest.Options{MaxPending: 10})
	defer in.Close()
	results := make(chan error, 2)
	for _, prefix := range []string{"a", "b"} { // 5 + 5: exactly at the limit
		go func() {
			_, err := in.Submit(context.Background(), events(prefix, 5))
			results <- err
		}()
	}
	waitPending(t, in, 10)
	_, err := in.Submit(context.Background(), events("c", 1)) // refused at once, while a and b wait
	if !errors.Is(err, ingest.ErrBusy) || so.ErrorCode(err) != so.EUNAVAILABLE {
		t.Fatalf("beyond the limit: %v, want ErrBusy", err)
	}
	close(store.release)
	for range 2 {
		select {
		case err := <-results:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(hangGuard):
			t.Fatal("the waiting requests were never answered")
		}
	}
	if _, err := in.Submit(context.Background(), events("c", 10)); err != nil {
		t.Fatalf("after the queue drained: %v", err)
	}
}

// TestShedsLoadBeyondMaxPendingBytes refuses a request whose events would take
// the waiting bytes past MaxPendingBytes, however few they are.
func TestShedsLoadBeyondMaxPendingBytes(t *testing.T) {
	t.Parallel()
	store := &fakeStore{seen: map[string]bool{}}
	in := ingest.New(store, noJourneys, ingest.Options{MaxPendingBytes: 4 << 10})
	defer in.Close()
	big := events("big", 1)
	big[0].Properties = json.RawMessage(`{"blob":"` + strings.Repeat("x", 8<<10) + `"}`)
	if _, err := in.Submit(context.Background(), big); !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("an 8 KiB event against a 4 KiB budget: %v, want ErrBusy", err)
	}
	if _, err := in.Submit(context.Background(), events("small", 2)); err != nil || in.Pending() != 0 {
		t.Fatalf("small events after a refusal: %v, %d pending", err, in.Pending())
	}
}

// TestIDTakenByAnotherUser refuses an event whose id another user's event holds,
// in an earlier batch or earlier in the same one, while a retry of the same
// user's event stays a duplicate.
func TestIDTakenByAnotherUser(t *testing.T) {
	t.Parallel()
	in := ingest.New(&fakeStore{seen: map[string]bool{}}, noJourneys, ingest.Options{})
	defer in.Close()
	ev := func(id, user string) *so.Event { return &so.Event{ProjectID: "p", ID: id, UserID: user} }
	if _, err := in.Submit(context.Background(), []*so.Event{ev("x", "alice")}); err != nil {
		t.Fatal(err)
	}
	r, err := in.Submit(context.Background(), []*so.Event{ev("x", "bob"), ev("x", "alice"), ev("y", "carol"), ev("y", "dave")})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Inserted) != "[false false true false]" || r.Refused[0] != ingest.ErrIDTaken || r.Refused[1] != nil ||
		r.Refused[2] != nil || r.Refused[3] != ingest.ErrIDTaken {
		t.Fatalf("inserted %v, refused %v", r.Inserted, r.Refused)
	}
	if so.ErrorCode(r.Refused[0]) != so.ECONFLICT || so.ErrorField(r.Refused[0]) != "id" || strings.Contains(so.ErrorMessage(r.Refused[0]), "alice") {
		t.Fatalf("refusal = %v", r.Refused[0])
	}
}
