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
}

func testProjects(t *testing.T, db DB) {
	ctx := context.Background()
	p := &so.Project{ID: "acme", Name: "Acme", CreatedAt: so.Now()}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, p); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("duplicate project: %v, want conflict", err)
	}
	got, err := db.FindProject(ctx, "acme")
	if err != nil || got.Name != "Acme" || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("FindProject = %+v, %v", got, err)
	}
	if _, err := db.FindProject(ctx, "nope"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing project: %v, want not_found", err)
	}

	secret := so.GenerateKey(so.KeySecret)
	k := so.NewAPIKey("acme", so.KeySecret, "bootstrap", secret)
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAPIKey(ctx, so.NewAPIKey("acme", so.KeySecret, "again", secret)); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same key twice: %v, want conflict", err)
	}
	if err := db.CreateAPIKey(ctx, so.NewAPIKey("ghost", so.KeyPublic, "x", so.GenerateKey(so.KeyPublic))); err == nil {
		t.Fatal("key for a missing project was stored")
	}
	found, err := so.Authenticate(ctx, db, secret)
	if err != nil || found.ID != k.ID || found.Kind != so.KeySecret || found.ProjectID != "acme" {
		t.Fatalf("Authenticate = %+v, %v", found, err)
	}
	if _, err := so.Authenticate(ctx, db, secret[:len(secret)-1]+"X"); so.ErrorCode(err) != so.EUNAUTHORIZED {
		t.Fatalf("wrong key: %v, want unauthorized", err)
	}
	keys, err := db.ListAPIKeys(ctx, "acme")
	if err != nil || len(keys) != 1 || keys[0].Hash != so.HashKey(secret) {
		t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
	}
}
