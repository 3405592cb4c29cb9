package storetest

import (
	"context"
	"slices"
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

	// A key configured later is added and works; the generated one stays, as no
	// variable named it.
	configured := so.GenerateKey(so.KeySecret)
	res, err := so.Bootstrap(ctx, db, configured, "")
	if err != nil || len(res.Revoked) != 0 {
		t.Fatalf("configured key: %+v, %v; want nothing revoked", res, err)
	}
	if res, err := so.Bootstrap(ctx, db, configured, ""); err != nil || len(res.Revoked) != 0 {
		t.Fatalf("same configured key twice: %+v, %v", res, err)
	}
	for _, key := range []string{configured, first.GeneratedSecretKey} {
		if _, err := so.Authenticate(ctx, db, key); err != nil {
			t.Fatalf("key %s…: %v", key[:6], err)
		}
	}
	// Changing the variable revokes the key it named before, and says so.
	rotated := so.GenerateKey(so.KeySecret)
	res, err = so.Bootstrap(ctx, db, rotated, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{so.KeySourceAdminEnv + ": " + so.KeyLookupPrefix(configured)}; !slices.Equal(res.Revoked, want) {
		t.Fatalf("revoked = %q, want %q", res.Revoked, want)
	}
	if _, err := so.Authenticate(ctx, db, configured); so.ErrorCode(err) != so.EUNAUTHORIZED || so.ErrorMessage(err) != "this API key was revoked" {
		t.Fatalf("replaced key: %v, want revoked", err)
	}
	if _, err := so.Authenticate(ctx, db, rotated); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	keys, err := db.ListAPIKeys(ctx, so.DefaultProjectID)
	if err != nil || len(keys) != 4 {
		t.Fatalf("%d keys stored (%v), want 4", len(keys), err)
	}
	// Configuring a revoked key again starts, with a warning.
	res, err = so.Bootstrap(ctx, db, configured, "")
	if err != nil || len(res.Warnings) != 1 {
		t.Fatalf("revoked key configured: %+v, %v; want one warning", res, err)
	}
	// A public key configured where the secret one belongs is refused.
	if _, err := so.Bootstrap(ctx, db, "", first.GeneratedSecretKey); err == nil {
		t.Fatal("secret key accepted as the public key")
	}
}
