package postgres

import (
	"context"
	"strings"
	"testing"
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
