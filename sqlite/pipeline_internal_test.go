package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestRecentEventsThatAreGoneAreNotConsumed deletes committed events (as a
// project's deletion cascades) before the consumer runs: the events this
// instance remembers must not be handed over in place of the log.
func TestRecentEventsThatAreGoneAreNotConsumed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "recent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &so.Project{ID: "p1", Name: "p1", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.StartConsumer(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	var events []*so.Event
	for _, id := range []string{"a", "b", "c"} {
		e, err := so.NewEvent("p1", so.EventInput{ID: id, Type: so.EventClick, UserID: "u", Timestamp: so.FormatTime(so.Now())}, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if _, err := db.IngestEvents(ctx, events, func(context.Context, so.IngestTx, []*so.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM events WHERE id = 'b'`); err != nil {
		t.Fatal(err)
	}
	var seen []string
	if _, err := db.ConsumeWith(ctx, "c", so.ConsumeOptions{Limit: 10, Recent: events}, func(_ context.Context, _ so.ConsumerTx, evs []*so.Event) error {
		for _, e := range evs {
			seen = append(seen, e.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[a c]" {
		t.Fatalf("consumed %v, want the log's [a c]", seen)
	}
}
