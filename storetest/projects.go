package storetest

import (
	"context"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

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
	got.Name, got.IdentitySecret = "Acme Inc", "s3cret'😀"
	if err := db.UpdateProject(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, err := db.FindProject(ctx, "acme"); err != nil || again.Name != "Acme Inc" || again.IdentitySecret != "s3cret'😀" {
		t.Fatalf("after UpdateProject = %+v, %v", again, err)
	}
	if err := db.UpdateProject(ctx, &so.Project{ID: "nope"}); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("updating a missing project: %v", err)
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
	wrong := secret[:len(secret)-1] + map[bool]string{true: "a", false: "b"}[secret[len(secret)-1] != 'a']
	if _, err := so.Authenticate(ctx, db, wrong); so.ErrorCode(err) != so.EUNAUTHORIZED {
		t.Fatalf("wrong key: %v, want unauthorized", err)
	}
	keys, err := db.ListAPIKeys(ctx, "acme")
	if err != nil || len(keys) != 1 || keys[0].Hash != so.HashKey(secret) {
		t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
	}
}
