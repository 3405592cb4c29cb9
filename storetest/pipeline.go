package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testPipeline(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Order":        testPipelineOrder,
		"StartsAtEnd":  testPipelineStartsAtEnd,
		"RollBack":     testPipelineRollBack,
		"LateCommit":   testPipelineLateCommit,
		"TwoInstances": testPipelineTwoInstances,
		"Lag":          testPipelineLag,
		"NotStarted":   testPipelineNotStarted,
		"Recent":       testPipelineRecent,
		"Continued":    testPipelineContinued,
		"Follows":      testPipelineFollows,
		"Handoffs":     testPipelineHandoffs,
	})
}

// ingestIDs stores, in one transaction, one click event per id of p1 (user
// "u-"+id) and returns them.
func ingestIDs(t *testing.T, db DB, ids ...string) []*so.Event {
	t.Helper()
	events := make([]*so.Event, len(ids))
	for i, id := range ids {
		events[i] = newEvent(t, "p1", id, "u-"+id)
	}
	if _, err := db.IngestEvents(context.Background(), events, noApply); err != nil {
		t.Fatalf("ingest %v: %v", ids, err)
	}
	return events
}

// drain consumes until nothing waits and returns the ids seen, in order.
func drain(t *testing.T, db DB, consumer string, limit int) []string {
	t.Helper()
	var seen []string
	for range 1000 {
		var batch []string
		n, err := db.Consume(context.Background(), consumer, limit, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			for _, e := range evs {
				batch = append(batch, e.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("consume: %v", err)
		}
		if n != len(batch) || n > limit {
			t.Fatalf("consume reported %d events, fn saw %d (limit %d)", n, len(batch), limit)
		}
		if n == 0 {
			return seen
		}
		seen = append(seen, batch...)
	}
	t.Fatal("the consumer never caught up")
	return nil
}

func startConsumer(t *testing.T, db DB, name string) {
	t.Helper()
	if err := db.StartConsumer(context.Background(), name); err != nil {
		t.Fatalf("start consumer %s: %v", name, err)
	}
}

func testPipelineOrder(t *testing.T, db DB) {
	startConsumer(t, db, "c")
	ingestIDs(t, db, "a", "b", "c")
	ingestIDs(t, db, "d")
	ingestIDs(t, db, "e", "f")
	if got := drain(t, db, "c", 2); fmt.Sprint(got) != "[a b c d e f]" {
		t.Fatalf("consumed %v, want commit order [a b c d e f]", got)
	}
	startConsumer(t, db, "c") // starting again keeps the cursor
	ingestIDs(t, db, "g")
	if got := drain(t, db, "c", 10); fmt.Sprint(got) != "[g]" {
		t.Fatalf("after a restart consumed %v, want [g]", got)
	}
	startConsumer(t, db, "other")
	if got := drain(t, db, "other", 10); got != nil {
		t.Fatalf("a consumer started now saw %v", got)
	}
}

func testPipelineNotStarted(t *testing.T, db DB) {
	_, err := db.Consume(context.Background(), "ghost", 10, func(context.Context, so.ConsumerTx, []*so.Event) error { return nil })
	if so.ErrorCode(err) != so.EINTERNAL {
		t.Fatalf("consume without a cursor = %v, want internal", err)
	}
}

func testPipelineStartsAtEnd(t *testing.T, db DB) {
	ingestIDs(t, db, "old")
	startConsumer(t, db, "late")
	ingestIDs(t, db, "new")
	if got := drain(t, db, "late", 10); fmt.Sprint(got) != "[new]" {
		t.Fatalf("a consumer started after %q consumed %v, want [new]", "old", got)
	}
}

func testPipelineRollBack(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "c")
	ingestIDs(t, db, "a", "b")
	boom := errors.New("consumer failed")
	_, err := db.Consume(ctx, "c", 10, func(ctx context.Context, tx so.ConsumerTx, _ []*so.Event) error {
		if err := tx.SaveBehaviour(ctx, []so.UserBehaviour{{ProjectID: "p1", UserID: "u-a", State: json.RawMessage(`{"n":1}`)}}); err != nil {
			t.Errorf("save behaviour: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("consume = %v, want the callback's error", err)
	}
	var states map[string]json.RawMessage
	if got := drain(t, db, "c", 10); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("after a failed run consumed %v, want [a b] again", got)
	}
	_, err = db.Consume(ctx, "c", 10, func(context.Context, so.ConsumerTx, []*so.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ingestIDs(t, db, "z")
	if _, err := db.Consume(ctx, "c", 10, func(ctx context.Context, tx so.ConsumerTx, _ []*so.Event) (err error) {
		states, err = tx.LoadBehaviour(ctx, "p1", []string{"u-a"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(states) != 0 {
		t.Fatalf("the failed run's write survived: %s", states["u-a"])
	}
}

// testPipelineLateCommit holds one ingestion transaction open while a later
// one commits: the consumer must not move past the first one's events.
func testPipelineLateCommit(t *testing.T, db DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	startConsumer(t, db, "c")
	ingestIDs(t, db, "before")
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "slow", "u-slow")}, func(context.Context, so.IngestTx, []*so.Event) error {
			close(inside)
			<-release
			return nil
		})
		first <- err
	}()
	select {
	case <-inside:
	case <-ctx.Done():
		t.Fatal("the first transaction never started")
	}
	second := make(chan error, 1)
	go func() {
		_, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "fast", "u-fast")}, noApply)
		second <- err
	}()
	var seen []string
	select {
	case err := <-second: // engines with overlapping writers commit it now
		if err != nil {
			t.Fatal(err)
		}
		seen = append([]string{}, drain(t, db, "c", 10)...)
		if slices.Contains(seen, "fast") {
			t.Fatalf("consumed %v while an older transaction was still open", seen)
		}
	case <-time.After(time.Second): // a single writer waits for the first
	}
	close(release)
	waits := []chan error{first}
	if seen == nil {
		waits = append(waits, second)
	}
	for _, ch := range waits {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("an ingestion never finished")
		}
	}
	seen = append(seen, drain(t, db, "c", 10)...)
	slices.Sort(seen)
	if fmt.Sprint(seen) != "[before fast slow]" {
		t.Fatalf("consumed %v, want each event once", seen)
	}
}

// testPipelineTwoInstances runs one consumer from two goroutines while events
// arrive: every event is seen by exactly one committed run.
func testPipelineTwoInstances(t *testing.T, db DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	startConsumer(t, db, "c")
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				var batch []string
				n, err := db.Consume(ctx, "c", 7, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
					for _, e := range evs {
						batch = append(batch, e.ID)
					}
					return nil
				})
				if err != nil {
					t.Errorf("consume: %v", err)
					return
				}
				mu.Lock()
				for _, id := range batch {
					counts[id]++
				}
				mu.Unlock()
				select {
				case <-stop:
					if n == 0 {
						return
					}
				default:
				}
			}
		})
	}
	const batches, per = 20, 5
	for b := range batches {
		ids := make([]string, per)
		for i := range ids {
			ids[i] = fmt.Sprintf("e%d-%d", b, i)
		}
		ingestIDs(t, db, ids...)
	}
	close(stop)
	wg.Wait()
	if len(counts) != batches*per {
		t.Fatalf("consumed %d distinct events, want %d", len(counts), batches*per)
	}
	for id, n := range counts {
		if n != 1 {
			t.Fatalf("event %s consumed %d times", id, n)
		}
	}
}

func testPipelineLag(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "c")
	ingestIDs(t, db, "a", "b", "c")
	if _, n, err := db.ConsumerLag(ctx, "c", 0); err != nil || n != 3 {
		t.Fatalf("lag = %d, %v; want 3", n, err)
	}
	if _, n, err := db.ConsumerLag(ctx, "c", 2); err != nil || n != 2 {
		t.Fatalf("lag counted up to 2 = %d, %v", n, err)
	}
	drain(t, db, "c", 10)
	if _, n, err := db.ConsumerLag(ctx, "c", 0); err != nil || n != 0 {
		t.Fatalf("lag after draining = %d, %v", n, err)
	}
	if _, _, err := db.ConsumerLag(ctx, "ghost", 0); so.ErrorCode(err) != so.EINTERNAL {
		t.Fatalf("lag of a consumer never started = %v", err)
	}
}

// testPipelineRecent hands Consume the events just committed, then stale and
// out-of-order ones: whatever the engine makes of them, fn sees the log's
// next events, each once, in commit order.
func testPipelineRecent(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "c")
	consume := func(recent []*so.Event) []string {
		var seen []string
		if _, err := db.ConsumeWith(ctx, "c", so.ConsumeOptions{Limit: 2, Recent: recent}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			for _, e := range evs {
				seen = append(seen, e.ID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return seen
	}
	first := ingestIDs(t, db, "a", "b", "c")
	if got := consume(first); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("with the recent events: %v, want [a b] (limit 2)", got)
	}
	if got := consume(first); fmt.Sprint(got) != "[c]" { // the hint starts behind the cursor
		t.Fatalf("with stale recent events: %v, want [c]", got)
	}
	later := ingestIDs(t, db, "d", "e")
	ingestIDs(t, db, "f")
	if got := consume(later[1:]); fmt.Sprint(got) != "[d e]" { // the hint skips d
		t.Fatalf("with recent events that skip one: %v, want [d e]", got)
	}
	if got := consume(nil); fmt.Sprint(got) != "[f]" {
		t.Fatalf("without recent events: %v, want [f]", got)
	}
}

// testPipelineContinued: a consumer's first transaction in a process does not
// continue one of its own, the next does, and a failed one changes nothing.
func testPipelineContinued(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "c")
	continued := func(fail bool) bool {
		t.Helper()
		var got bool
		_, err := db.Consume(ctx, "c", 1, func(_ context.Context, tx so.ConsumerTx, _ []*so.Event) error {
			got = tx.Continued()
			if fail {
				return errors.New("fail")
			}
			return nil
		})
		if err != nil && !fail {
			t.Fatal(err)
		}
		return got
	}
	ingestIDs(t, db, "a", "b", "c")
	if continued(false) {
		t.Fatal("the first transaction reports it continues one of this process")
	}
	if !continued(true) {
		t.Fatal("the second transaction does not continue the first")
	}
	if !continued(false) {
		t.Fatal("after a failed transaction the next does not continue the last committed one")
	}
}

// testPipelineHandoffs hands a follower its upstream's committed batches,
// then stale ones, ones beyond the upstream's cursor and ones whose rows are
// gone: whatever the engine makes of them, the follower sees the log's next
// events up to its upstream's cursor, each once.
func testPipelineHandoffs(t *testing.T, db DB) {
	ctx := context.Background()
	startConsumer(t, db, "up")
	startConsumer(t, db, "down")
	upstream := func(limit int) so.Handoff {
		t.Helper()
		var span so.Handoff
		if _, err := db.ConsumeWith(ctx, "up", so.ConsumeOptions{Limit: limit, Span: &span}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			span.Events = evs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(span.Events) == 0 || span.From == span.To {
			t.Fatalf("span %v…%v of a batch of %d", span.From, span.To, len(span.Events))
		}
		return span
	}
	follow := func(handed ...so.Handoff) []string {
		t.Helper()
		var seen []string
		if _, err := db.ConsumeWith(ctx, "down", so.ConsumeOptions{Limit: 10, After: "up", Handed: handed}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			for _, e := range evs {
				seen = append(seen, e.ID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return seen
	}
	ingestIDs(t, db, "a", "b", "c")
	ab, c := upstream(2), upstream(2)
	if got := follow(ab, c); fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("with the upstream's batches: %v, want [a b c]", got)
	}
	if got := follow(ab, c); len(got) != 0 { // stale: the follower is past them
		t.Fatalf("with stale batches: %v, want nothing", got)
	}
	ingestIDs(t, db, "d", "e")
	de := upstream(10)
	beyond := so.Handoff{From: de.To, To: so.Cursor{Tx: de.To.Tx + 1000, Seq: de.To.Seq + 1000}, Events: de.Events}
	if got := follow(de, beyond); fmt.Sprint(got) != "[d e]" {
		t.Fatalf("with a batch beyond the upstream's cursor: %v, want [d e]", got)
	}
	if got := follow(beyond); len(got) != 0 {
		t.Fatalf("with only a batch beyond the upstream's cursor: %v, want nothing", got)
	}
}

// consumeAfter runs one transaction of consumer following after and returns
// the ids it saw.
func consumeAfter(t *testing.T, db DB, consumer, after string, limit int) []string {
	t.Helper()
	var seen []string
	n, err := db.ConsumeWith(context.Background(), consumer, so.ConsumeOptions{Limit: limit, After: after},
		func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			for _, e := range evs {
				seen = append(seen, e.ID)
			}
			return nil
		})
	if err != nil {
		t.Fatalf("consume %s after %s: %v", consumer, after, err)
	}
	if n != len(seen) {
		t.Fatalf("consume reported %d events, fn saw %d", n, len(seen))
	}
	return seen
}

// A follower sees only what its upstream has processed, in order, and
// nothing twice.
func testPipelineFollows(t *testing.T, db DB) {
	startConsumer(t, db, "up")
	startConsumer(t, db, "down")
	ingestIDs(t, db, "a", "b")
	ingestIDs(t, db, "c")
	if got := consumeAfter(t, db, "down", "up", 10); len(got) != 0 {
		t.Fatalf("the follower saw %v before its upstream ran", got)
	}
	if got := consumeAfter(t, db, "up", "", 2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("upstream saw %v, want [a b]", got)
	}
	if got := consumeAfter(t, db, "down", "up", 10); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("the follower saw %v, want [a b] (what upstream processed)", got)
	}
	if got := consumeAfter(t, db, "down", "up", 10); len(got) != 0 {
		t.Fatalf("the follower saw %v again", got)
	}
	if got := drain(t, db, "up", 10); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("upstream saw %v, want [c]", got)
	}
	if got := consumeAfter(t, db, "down", "up", 10); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("the follower saw %v, want [c]", got)
	}
	_, err := db.ConsumeWith(context.Background(), "down", so.ConsumeOptions{Limit: 10, After: "missing"},
		func(context.Context, so.ConsumerTx, []*so.Event) error { return nil })
	if so.ErrorCode(err) != so.EINTERNAL || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("following a consumer that does not exist: %v, want an internal error naming it", err)
	}
}
