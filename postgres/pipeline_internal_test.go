package postgres

import (
	"context"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestLagQueryUsesTheLogIndex guards the backlog metric, which runs on every
// scrape: counting the events after a cursor must walk the log's index from
// the cursor, never scan the table, also under the generic plan a prepared
// statement settles on.
func TestLagQueryUsesTheLogIndex(t *testing.T) {
	t.Parallel()
	db, ctx := testDB(t), context.Background()
	_, err := db.pool.Exec(ctx, `INSERT INTO events (project_id, id, type, user_id, ts, received_at)
		SELECT 'p1', 'e' || g, 'click', 'u' || (g % 100), now(), now() FROM generate_series(1, 20000) AS g`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, stmt := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE lag(bigint, bigint, int) AS ` + lagQuery} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE lag(0, 0, 100000)`)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "events_log_idx") || strings.Contains(text, "Seq Scan") {
		t.Fatalf("the lag query does not walk events_log_idx:\n%s", text)
	}
}

// TestDerivedConsumerCommitsAsynchronously: a derived consumer's transaction
// runs with synchronous_commit off, another's with the server's default, and
// the setting does not outlive the transaction on its pooled connection.
func TestDerivedConsumerCommitsAsynchronously(t *testing.T) {
	t.Parallel()
	db, ctx := testDB(t), context.Background()
	for _, c := range []string{"derived", "durable"} {
		if err := db.StartConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e, err := so.NewEvent("p1", so.EventInput{ID: "e1", Type: so.EventClick, UserID: "u", Timestamp: so.FormatTime(so.Now())}, so.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.IngestEvents(ctx, []*so.Event{e}, func(context.Context, so.IngestTx, []*so.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	setting := func(tx so.ConsumerTx) string {
		var v string
		if err := tx.(*consumerTx).tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		consumer string
		derived  bool
		want     string
	}{{"derived", true, "off"}, {"durable", false, "on"}} {
		var got string
		n, err := db.ConsumeWith(ctx, tc.consumer, so.ConsumeOptions{Limit: 10, Derived: tc.derived},
			func(_ context.Context, tx so.ConsumerTx, _ []*so.Event) error { got = setting(tx); return nil })
		if err != nil || n != 1 {
			t.Fatalf("%s: consumed %d, %v; want the 1 event", tc.consumer, n, err)
		}
		if got != tc.want {
			t.Fatalf("%s consumer: synchronous_commit %s in its transaction, want %s", tc.consumer, got, tc.want)
		}
	}
	for range 4 { // every pooled connection the pool hands out
		var v string
		if err := db.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil || v != "on" {
			t.Fatalf("after the transactions a connection has synchronous_commit %q (%v), want on", v, err)
		}
	}
}

// TestHandoffsSpareTheRead: a follower handed its upstream's batch takes those
// very events instead of reading them back, unless some of their rows are
// gone (a deletion cascaded since), when the log decides.
func TestHandoffsSpareTheRead(t *testing.T) {
	t.Parallel()
	db, ctx := testDB(t), context.Background()
	for _, c := range []string{"up", "down"} {
		if err := db.StartConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var events []*so.Event
	for _, id := range []string{"a", "b", "c", "d"} {
		e, err := so.NewEvent("p1", so.EventInput{ID: id, Type: so.EventClick, UserID: "u", Timestamp: so.FormatTime(so.Now())}, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, err := db.IngestEvents(ctx, events, func(context.Context, so.IngestTx, []*so.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	batch := func(limit int) so.Handoff {
		var span so.Handoff
		if _, err := db.ConsumeWith(ctx, "up", so.ConsumeOptions{Limit: limit, Span: &span}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			span.Events = evs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return span
	}
	follow := func(h so.Handoff) []*so.Event {
		var got []*so.Event
		if _, err := db.ConsumeWith(ctx, "down", so.ConsumeOptions{Limit: 10, After: "up", Handed: []so.Handoff{h}}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
			got = evs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Two new cursors start apart (each at the log's end when it was made):
	// the follower's first batch, read from the log, brings them together.
	batch(1)
	if got := follow(so.Handoff{}); len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("the follower's first batch: %v, want [a]", got)
	}
	second := batch(1)
	if got := follow(second); len(got) != 1 || got[0] != second.Events[0] {
		t.Fatalf("the follower got %v, not the handed event %p", got, second.Events[0])
	}
	rest := batch(10)
	if _, err := db.pool.Exec(ctx, `DELETE FROM events WHERE id = 'c'`); err != nil {
		t.Fatal(err)
	}
	got := follow(rest)
	if len(got) != 1 || got[0].ID != "d" || got[0] == rest.Events[1] {
		t.Fatalf("after c was deleted the follower got %v, want the log's [d]", got)
	}
}
