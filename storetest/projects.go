package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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

// testProjectStore runs the project and key tests that need projects p1 and p2.
func testProjectStore(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"RoundTrip":  testProjectRoundTrip,
		"Settings":   testProjectSettings,
		"KeyFields":  testKeyRoundTrip,
		"KeyPrefix":  testKeyPrefix,
		"KeyList":    testKeyList,
		"KeyRevoke":  testKeyRevoke,
		"KeyTouch":   testKeyTouch,
		"KeyMissing": testKeyMissingProject,
	})
}

// at is a fixed time at stored precision, minutes after a base.
func at(minutes int) time.Time {
	return so.Truncate(time.Date(2031, 4, 5, 6, 7, 8, 987_654_321, time.UTC).Add(time.Duration(minutes) * time.Minute))
}

func ptr[T any](v T) *T { return &v }

func findProject(t *testing.T, db DB, id string) *so.Project {
	t.Helper()
	p, err := db.FindProject(context.Background(), id)
	if err != nil {
		t.Fatalf("FindProject(%s): %v", id, err)
	}
	return p
}

func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, w := dump(got), dump(want)
		if g == w { // a difference JSON hides: nil or empty, or a field not in JSON
			g, w = goSyntax(got), goSyntax(want)
		}
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// dump shows a value with pointers followed, for failure messages.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// goSyntax shows a value, or the elements of a slice, in Go syntax with the
// outer pointers followed.
func goSyntax(v any) string {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Slice:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = goSyntax(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case rv.Kind() == reflect.Pointer && !rv.IsNil():
		return "&" + fmt.Sprintf("%#v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v)
}

func testProjectRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	p := &so.Project{ID: "full", Name: hostile, CreatedAt: at(0), IdentitySecret: "ids_new",
		PreviousIdentitySecret: "ids_old'😀", PreviousSecretUntil: at(90),
		Settings: so.ProjectSettings{ServerOnlyTraits: []string{"plan", hostile},
			Limits: so.Limits{EventsPerUser: ptr(0), PerIP: ptr(120), PublicKey: ptr(1000), Admin: ptr(30), Streams: ptr(5)}}}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "created project", findProject(t, db, "full"), p)

	// p1 was created without settings or a previous secret: they read back as zero.
	want := &so.Project{ID: "p1", Name: "p1", CreatedAt: findProject(t, db, "p1").CreatedAt, Revision: 1}
	assertEqual(t, "project without settings", findProject(t, db, "p1"), want)

	upd := *p
	upd.Name, upd.IdentitySecret, upd.PreviousIdentitySecret = "renamed", "ids_newer", "ids_new"
	upd.PreviousSecretUntil, upd.Settings = at(120), so.ProjectSettings{Limits: so.Limits{Streams: ptr(0)}}
	p.Name = "renamed first"
	if err := db.UpdateProject(ctx, p); err != nil || p.Revision != 2 {
		t.Fatalf("first update: %v, revision %d; want revision 2", err, p.Revision)
	}
	// upd was read before p's update: storing it would undo that update.
	err := db.UpdateProject(ctx, &upd)
	if want := so.Stale("project", "revision", 2, 1); !reflect.DeepEqual(err, want) {
		t.Fatalf("update from an outdated read: %v, want %v", err, want)
	}
	assertEqual(t, "project after a refused update", findProject(t, db, "full"), p)
	upd.Revision = p.Revision
	if err := db.UpdateProject(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if upd.Revision != 3 {
		t.Fatalf("revision after two updates = %d, want 3", upd.Revision)
	}
	assertEqual(t, "updated project", findProject(t, db, "full"), &upd)
	assertEqual(t, "other project after update", findProject(t, db, "p1"), want)

	upd.PreviousIdentitySecret, upd.PreviousSecretUntil, upd.Settings = "", time.Time{}, so.ProjectSettings{}
	if err := db.UpdateProject(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "project with the previous secret cleared", findProject(t, db, "full"), &upd)
	if err := db.UpdateProject(ctx, &so.Project{ID: "nope", Name: "x", CreatedAt: at(0)}); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("updating a missing project: %v, want not_found", err)
	}
}

// testProjectSettings tells "no list" (use the defaults) from "an empty list"
// (no trait is server-only) after a round trip.
func testProjectSettings(t *testing.T, db DB) {
	ctx := context.Background()
	for _, traits := range [][]string{nil, {}, {"role"}} {
		p := findProject(t, db, "p1")
		p.Settings.ServerOnlyTraits = traits
		if err := db.UpdateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		got := findProject(t, db, "p1")
		assertEqual(t, fmt.Sprintf("settings with traits %#v", traits), got, p)
		if got.Settings.TraitServerOnly("role") != (traits == nil || len(traits) == 1) {
			t.Fatalf("TraitServerOnly(role) with %#v = %v", traits, got.Settings.TraitServerOnly("role"))
		}
	}
}

// fullKey is a secret key with every optional field set.
func fullKey(projectID string) (*so.APIKey, string) {
	secret := so.GenerateKey(so.KeySecret)
	k := so.NewAPIKey(projectID, so.KeySecret, hostile, secret)
	k.CreatedAt, k.Scopes, k.CreatedBy, k.Source = at(0), []so.Scope{so.ScopeRead, so.ScopeAdmin}, "account:"+so.NewID(), so.KeySourceAdminEnv
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = ptr(at(1)), ptr(at(60*24)), ptr(at(2))
	return k, secret
}

func createKey(t *testing.T, db DB, k *so.APIKey) *so.APIKey {
	t.Helper()
	if err := db.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", k.Name, err)
	}
	return k
}

func listKeys(t *testing.T, db DB, projectID string) []*so.APIKey {
	t.Helper()
	keys, err := db.ListAPIKeys(context.Background(), projectID)
	if err != nil {
		t.Fatalf("ListAPIKeys(%s): %v", projectID, err)
	}
	return keys
}

func testKeyRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	full, secret := fullKey("p1")
	createKey(t, db, full)
	public := so.NewAPIKey("p1", so.KeyPublic, "web", so.GenerateKey(so.KeyPublic))
	public.CreatedAt = at(1)
	createKey(t, db, public)
	if public.Scopes != nil || public.LastUsedAt != nil || public.ExpiresAt != nil || public.RevokedAt != nil {
		t.Fatalf("NewAPIKey(public) = %+v, want no scopes and no times", public)
	}
	assertEqual(t, "ListAPIKeys", listKeys(t, db, "p1"), []*so.APIKey{full, public})
	found, err := db.FindAPIKeysByPrefix(ctx, so.KeyLookupPrefix(secret))
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "FindAPIKeysByPrefix (a revoked key too)", found, []*so.APIKey{full})
	if _, err := so.Authenticate(ctx, db, secret); so.ErrorCode(err) != so.EUNAUTHORIZED {
		t.Fatalf("Authenticate with a revoked key: %v, want unauthorized", err)
	}
	dup := so.NewAPIKey("p2", so.KeySecret, "copy", secret)
	if err := db.CreateAPIKey(ctx, dup); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same key in another project: %v, want conflict", err)
	}
	again := *public
	again.Hash = so.HashKey(so.GenerateKey(so.KeyPublic))
	if err := db.CreateAPIKey(ctx, &again); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same key id twice: %v, want conflict", err)
	}
}

// testKeyPrefix finds every key sharing a lookup prefix, across projects, and
// none other.
func testKeyPrefix(t *testing.T, db DB) {
	ctx := context.Background()
	base := so.GenerateKey(so.KeySecret)
	prefix := so.KeyLookupPrefix(base)
	a := so.NewAPIKey("p1", so.KeySecret, "a", prefix+"A"+base[len(prefix)+1:])
	b := so.NewAPIKey("p2", so.KeySecret, "b", prefix+"B"+base[len(prefix)+1:])
	other := so.NewAPIKey("p1", so.KeySecret, "other", so.GenerateKey(so.KeySecret))
	a.CreatedAt, b.CreatedAt, other.CreatedAt = at(0), at(1), at(2)
	for _, k := range []*so.APIKey{b, other, a} {
		createKey(t, db, k)
	}
	found, err := db.FindAPIKeysByPrefix(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "keys with the prefix, oldest first", found, []*so.APIKey{a, b})
	none, err := db.FindAPIKeysByPrefix(ctx, "sk_nothing0")
	if err != nil || len(none) != 0 {
		t.Fatalf("FindAPIKeysByPrefix(unknown) = %v, %v; want none", none, err)
	}
}

func testKeyList(t *testing.T, db DB) {
	var want []*so.APIKey
	for i, name := range []string{"third", "first", "second"} {
		k := so.NewAPIKey("p1", so.KeySecret, name, so.GenerateKey(so.KeySecret))
		k.CreatedAt = at([]int{3, 1, 2}[i])
		want = append(want, createKey(t, db, k))
	}
	createKey(t, db, so.NewAPIKey("p2", so.KeyPublic, "p2's", so.GenerateKey(so.KeyPublic)))
	assertEqual(t, "p1's keys, oldest first", listKeys(t, db, "p1"), []*so.APIKey{want[1], want[2], want[0]})
	if keys := listKeys(t, db, "nope"); len(keys) != 0 {
		t.Fatalf("keys of a missing project: %v", keys)
	}
}

func testKeyRevoke(t *testing.T, db DB) {
	ctx := context.Background()
	secret := so.GenerateKey(so.KeySecret)
	k := so.NewAPIKey("p1", so.KeySecret, "ci", secret)
	k.CreatedAt, k.ExpiresAt = at(0), ptr(at(600))
	createKey(t, db, k)
	theirs := createKey(t, db, so.NewAPIKey("p2", so.KeySecret, "theirs", so.GenerateKey(so.KeySecret)))

	got, err := db.RevokeAPIKey(ctx, "p1", k.ID, at(10))
	if err != nil {
		t.Fatal(err)
	}
	want := *k
	want.RevokedAt = ptr(at(10))
	assertEqual(t, "RevokeAPIKey", got, &want)
	if got, err = db.RevokeAPIKey(ctx, "p1", k.ID, at(20)); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "revoking again keeps the first time", got, &want)
	assertEqual(t, "stored after revoking", listKeys(t, db, "p1"), []*so.APIKey{&want})
	if _, err := so.Authenticate(ctx, db, secret); so.ErrorCode(err) != so.EUNAUTHORIZED {
		t.Fatalf("Authenticate with a revoked key: %v, want unauthorized", err)
	}

	if _, err := db.RevokeAPIKey(ctx, "p1", theirs.ID, at(10)); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("revoking another project's key: %v, want not_found", err)
	}
	assertEqual(t, "the other project's key", listKeys(t, db, "p2"), []*so.APIKey{theirs})
	if _, err := db.RevokeAPIKey(ctx, "p1", so.NewID(), at(10)); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("revoking a missing key: %v, want not_found", err)
	}
}

func testKeyTouch(t *testing.T, db DB) {
	ctx := context.Background()
	a := createKey(t, db, so.NewAPIKey("p1", so.KeySecret, "a", so.GenerateKey(so.KeySecret)))
	b := createKey(t, db, so.NewAPIKey("p2", so.KeyPublic, "b", so.GenerateKey(so.KeyPublic)))
	idle := createKey(t, db, so.NewAPIKey("p1", so.KeyPublic, "idle", so.GenerateKey(so.KeyPublic)))
	touch := func(used map[string]time.Time) {
		t.Helper()
		if err := db.TouchAPIKeys(ctx, used); err != nil {
			t.Fatalf("TouchAPIKeys(%v): %v", used, err)
		}
	}
	check := func(what string, wantA, wantB *time.Time) {
		t.Helper()
		a.LastUsedAt, b.LastUsedAt = wantA, wantB
		assertEqual(t, what+": p1's keys", listKeys(t, db, "p1"), []*so.APIKey{a, idle})
		assertEqual(t, what+": p2's keys", listKeys(t, db, "p2"), []*so.APIKey{b})
	}
	touch(nil)
	touch(map[string]time.Time{})
	check("untouched", nil, nil)
	touch(map[string]time.Time{a.ID: at(5), b.ID: at(7), so.NewID(): at(9)})
	check("first use", ptr(at(5)), ptr(at(7)))
	touch(map[string]time.Time{a.ID: at(4), b.ID: at(8)})
	check("an older time is ignored", ptr(at(5)), ptr(at(8)))
	touch(map[string]time.Time{a.ID: at(5)})
	check("the same time", ptr(at(5)), ptr(at(8)))
	touch(map[string]time.Time{a.ID: at(6)})
	check("a newer time", ptr(at(6)), ptr(at(8)))
}

func testKeyMissingProject(t *testing.T, db DB) {
	k := so.NewAPIKey("ghost", so.KeyPublic, "x", so.GenerateKey(so.KeyPublic))
	if err := db.CreateAPIKey(context.Background(), k); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("key for a missing project: %v, want not_found", err)
	}
}
