package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

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

// accountsVersion is the migration that added accounts, sessions, members, the
// audit log, project settings and the key lifecycle.
const accountsVersion = 5

// RollBackTo rolls migrations back until version is the newest applied, for
// the engines' own upgrade tests too.
func RollBackTo(t *testing.T, m *migrate.Migrator, version int64) {
	t.Helper()
	ctx := context.Background()
	for {
		cur, err := m.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur <= version {
			return
		}
		if _, err := m.Down(ctx); err != nil {
			t.Fatalf("roll back version %d: %v", cur, err)
		}
	}
}

// testAccountsMigration rolls the accounts migration back and forth over
// stored rows: projects and keys stay, keys named bootstrap get the variable
// they came from as their source, secret keys get every scope, and keys the
// older schema would bring back to life or widen (revoked, expiring, narrowed)
// are gone.
func testAccountsMigration(t *testing.T, open Opener) {
	ctx := context.Background()
	db := migrated(t, open)
	setupProjects(t, db, "p1")
	p := findProject(t, db, "p1")
	p.IdentitySecret, p.PreviousIdentitySecret, p.PreviousSecretUntil = "ids_now", "ids_before", at(5)
	p.Settings = so.ProjectSettings{ServerOnlyTraits: []string{}, Limits: so.Limits{Admin: ptr(3)}}
	if err := db.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	keys := migrationKeys(t, db)
	a := newAccount(t, db, "a@example.com", at(0))
	putMember(t, db, "p1", a, so.RoleOwner, at(0))
	newSession(t, db, a, nil)
	appendEntries(t, db, "p1", 2, nil)

	RollBackTo(t, db.Migrator(), accountsVersion-1)
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatalf("Up over stored rows: %v", err)
	}
	p.PreviousIdentitySecret, p.PreviousSecretUntil, p.Settings, p.Revision = "", time.Time{}, so.ProjectSettings{}, 1
	assertEqual(t, "project after down/up", findProject(t, db, "p1"), p)
	assertEqual(t, "keys after down/up", listKeys(t, db, "p1"), keys)
	if n, err := db.CountAccounts(ctx); err != nil || n != 0 {
		t.Fatalf("CountAccounts after down/up = %d, %v; want 0", n, err)
	}
	if got := listAudit(t, db, "p1", so.AuditFilter{}); len(got) != 0 {
		t.Fatalf("audit entries after down/up: %s", dump(got))
	}
	b := newAccount(t, db, "a@example.com", at(1))
	assertEqual(t, "a member after down/up", putMember(t, db, "p1", b, so.RoleViewer, at(1)), findMember(t, db, "p1", b.ID))
}

// migrationKeys stores keys as the newest schema can, and returns what the
// accounts migration makes of them on the way down and up again: the older
// schema would make every key it keeps a live key with every scope, so keys
// that are revoked, that expire or that are narrowed do not survive it.
func migrationKeys(t *testing.T, db DB) []*so.APIKey {
	t.Helper()
	var want []*so.APIKey
	for i, k := range []struct {
		kind         so.KeyKind
		name, source string
		gone         bool
	}{
		{so.KeySecret, "bootstrap", so.KeySourceAdminEnv, false},
		{so.KeyPublic, "bootstrap", so.KeySourcePublicEnv, false},
		{so.KeySecret, "ci", so.KeySourceAPI, false},
		{so.KeyPublic, "web", so.KeySourceAPI, false},
		{so.KeySecret, "revoked", "", true},
		{so.KeyPublic, "expired", "", true},
		{so.KeySecret, "expires later", "", true},
		{so.KeySecret, "read only", "", true},
	} {
		key := so.NewAPIKey("p1", k.kind, k.name, so.GenerateKey(k.kind))
		key.CreatedAt, key.Source, key.CreatedBy = at(i), so.KeySourceGenerated, "account:x"
		key.LastUsedAt = ptr(at(i + 1))
		switch k.name {
		case "revoked":
			key.RevokedAt = ptr(at(i))
		case "expired":
			key.ExpiresAt = ptr(so.Now().Add(-time.Minute))
		case "expires later":
			key.ExpiresAt = ptr(at(60 * 24 * 365 * 100))
		case "read only":
			key.Scopes = []so.Scope{so.ScopeRead}
		}
		createKey(t, db, key)
		if k.gone {
			continue
		}
		after := *key
		after.Source, after.CreatedBy, after.LastUsedAt, after.ExpiresAt, after.Scopes = k.source, "", nil, nil, nil
		if k.kind == so.KeySecret {
			after.Scopes = so.AllScopes
		}
		want = append(want, &after)
	}
	return want
}
