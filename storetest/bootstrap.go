package storetest

import (
	"context"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

func testBootstrap(t *testing.T, db DB) {
	ctx := context.Background()
	first, err := so.Bootstrap(ctx, db, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !first.CreatedProject || first.GeneratedSecretKey == "" || first.GeneratedPublicKey == "" {
		t.Fatalf("first start = %+v, want a project and two generated keys", first)
	}
	for key, kind := range map[string]so.KeyKind{first.GeneratedSecretKey: so.KeySecret, first.GeneratedPublicKey: so.KeyPublic} {
		k, err := so.Authenticate(ctx, db, key)
		if err != nil || k.Kind != kind || k.ProjectID != so.DefaultProjectID {
			t.Fatalf("generated %s key: %+v, %v", kind, k, err)
		}
	}

	again, err := so.Bootstrap(ctx, db, "", "")
	if err != nil || again.CreatedProject || again.GeneratedSecretKey != "" {
		t.Fatalf("second start = %+v, %v; want nothing new", again, err)
	}

	// A key configured later (rotation) is added and works; the old one stays.
	rotated := so.GenerateKey(so.KeySecret)
	if _, err := so.Bootstrap(ctx, db, rotated, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := so.Bootstrap(ctx, db, rotated, ""); err != nil {
		t.Fatalf("same configured key twice: %v", err)
	}
	if _, err := so.Authenticate(ctx, db, rotated); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if keys, err := db.ListAPIKeys(ctx, so.DefaultProjectID); err != nil || len(keys) != 3 {
		t.Fatalf("%d keys stored, %v; want 3", len(keys), err)
	}
	// A public key configured where the secret one belongs is refused.
	if _, err := so.Bootstrap(ctx, db, "", first.GeneratedSecretKey); err == nil {
		t.Fatal("secret key accepted as the public key")
	}
}
