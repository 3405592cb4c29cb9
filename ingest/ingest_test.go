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
	"github.com/smartonboarding/smartonboard/journey"
)

// fakeStore records transactions. It stands in for an engine only to observe how
// the committer groups requests; the engines' own ingestion is tested against
// SQLite and PostgreSQL in storetest.
type fakeStore struct {
	mu      sync.Mutex
	seen    map[string]bool
	batches []int
	release chan struct{} // when set, each transaction waits for a value
	fail    func(events []*so.Event) error
	owners  map[string]string // event id → user, of the events stored
}

func (f *fakeStore) IngestEvents(ctx context.Context, events []*so.Event, apply func(context.Context, so.IngestTx, []*so.Event) error) ([]bool, error) {
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
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

func noJourneys(context.Context, so.IngestTx, []*so.Event) (*journey.Outcome, error) {
	return &journey.Outcome{Notices: map[*so.Event]*so.Notice{}}, nil
}

// TestRequestsShareCommits holds the first transaction open while more requests
// arrive: they must all go into the next transaction together.
func TestRequestsShareCommits(t *testing.T) {
	store := &fakeStore{seen: map[string]bool{}, release: make(chan struct{})}
	in := ingest.New(store, noJourneys, ingest.Options{})
	defer in.Close()
	var wg sync.WaitGroup
	results := make([]*ingest.Result, 11)
	submit := func(i int) {
		wg.Go(func() {
			r, err := in.Submit(context.Background(), events(fmt.Sprint("r", i), 5))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	submit(0)
	time.Sleep(50 * time.Millisecond) // r0 is now inside the first, blocked transaction
	for i := 1; i <= 10; i++ {
		submit(i)
	}
	time.Sleep(50 * time.Millisecond) // r1..r10 are queued behind it
	store.release <- struct{}{}
	store.release <- struct{}{}
	wg.Wait()
	if len(store.batches) != 2 || store.batches[0] != 5 || store.batches[1] != 50 {
		t.Fatalf("transactions %v, want [5 50]: ten waiting requests share one commit", store.batches)
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
	store := &fakeStore{seen: map[string]bool{}, release: make(chan struct{}, 100)}
	store.fail = func(evs []*so.Event) error {
		for _, e := range evs {
			if e.ID == "bad-0" {
				return errors.New("boom")
			}
		}
		return nil
	}
	in := ingest.New(store, noJourneys, ingest.Options{})
	defer in.Close()
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	for _, name := range []string{"good", "bad", "fine"} {
		wg.Go(func() {
			_, err := in.Submit(context.Background(), events(name, 3))
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	time.Sleep(50 * time.Millisecond)
	for range 10 {
		store.release <- struct{}{}
	}
	wg.Wait()
	if errs["good"] != nil || errs["fine"] != nil || errs["bad"] == nil {
		t.Fatalf("errors %v: only the bad request may fail", errs)
	}
}

func TestDuplicatesAndClose(t *testing.T) {
	store := &fakeStore{seen: map[string]bool{}}
	var committed int
	in := ingest.New(store, noJourneys, ingest.Options{OnCommit: func(stored []*so.Event, _ *journey.Outcome) { committed += len(stored) }})
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
	store := &fakeStore{seen: map[string]bool{}, release: make(chan struct{})}
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
	wg.Go(func() { _, _ = in.Submit(context.Background(), events("holder", 1)) })
	time.Sleep(50 * time.Millisecond) // the holder is inside the first transaction
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { _, errs[i] = in.Submit(context.Background(), events(fmt.Sprint("o", i), 2)) })
	}
	time.Sleep(50 * time.Millisecond) // the five are queued behind it
	close(store.release)
	wg.Wait()
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
	for deadline := time.Now().Add(10 * time.Second); in.Pending() < 10; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d events pending, want 10", in.Pending())
		}
	}
	_, err := in.Submit(context.Background(), events("c", 1)) // refused at once, while a and b wait
	if !errors.Is(err, ingest.ErrBusy) || so.ErrorCode(err) != so.EUNAVAILABLE {
		t.Fatalf("beyond the limit: %v, want ErrBusy", err)
	}
	close(store.release)
	for range 2 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Submit(context.Background(), events("c", 10)); err != nil {
		t.Fatalf("after the queue drained: %v", err)
	}
}

// TestShedsLoadBeyondMaxPendingBytes refuses a request whose events would take
// the waiting bytes past MaxPendingBytes, however few they are.
func TestShedsLoadBeyondMaxPendingBytes(t *testing.T) {
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
