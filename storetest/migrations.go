package storetest

import (
	"context"
	"errors"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/migrate"
)

func testMigrations(t *testing.T, open Opener) {
	ctx := context.Background()
	db := open(t)
	m := db.Migrator()

	if err := m.Check(ctx); !errors.Is(err, migrate.ErrPending) {
		t.Fatalf("Check on a new database = %v, want ErrPending", err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 || st[0].Applied {
		t.Fatalf("Status on a new database = %+v, want pending migrations", st)
	}

	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(applied)) == 0 || applied[len(applied)-1] != m.Latest() {
		t.Fatalf("Up applied %v, want up to %d", applied, m.Latest())
	}
	if err := m.Check(ctx); err != nil {
		t.Fatalf("Check after Up: %v", err)
	}
	if again, err := m.Up(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second Up = %v, %v; want nothing to do", again, err)
	}

	// Every migration rolls back cleanly, and the schema works again afterwards.
	for range st {
		if _, err := m.Down(ctx); err != nil {
			t.Fatalf("Down: %v", err)
		}
	}
	if cur, err := m.Current(ctx); err != nil || cur != 0 {
		t.Fatalf("Current after rolling everything back = %d, %v; want 0", cur, err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("Up after Down: %v", err)
	}
	if err := db.CreateProject(ctx, &so.Project{ID: "p1", Name: "after rollback", CreatedAt: so.Now()}); err != nil {
		t.Fatalf("schema unusable after up/down/up: %v", err)
	}
	item := newItem(t, "p1", "works after rollback")
	if err := db.CreateContentItem(ctx, item); err != nil {
		t.Fatalf("schema unusable after up/down/up: %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	testLastMigrationKeepsData(t, db)
}

// testLastMigrationKeepsData rolls the newest migration back and forth over
// stored rows: a migration that rebuilds a table must carry its rows along.
func testLastMigrationKeepsData(t *testing.T, db DB) {
	ctx := context.Background()
	f := newFlow(t, db, "p1", "kept")
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	publish(t, db, f, 1)
	m := db.Migrator()
	if _, err := m.Down(ctx); err != nil {
		t.Fatalf("Down over stored rows: %v", err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("Up over stored rows: %v", err)
	}
	if used, err := db.ContentInUse(ctx, "p1", f.Steps[0].ContentItemID); err != nil || !used {
		t.Fatalf("published content not in use after down/up: %v %v", used, err)
	}
	if err := db.DeleteContentItem(ctx, "p1", f.Steps[0].ContentItemID); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("deleting used content after down/up: %v, want conflict", err)
	}
}
