package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testAccounts(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"RoundTrip":    testAccountRoundTrip,
		"Count":        testAccountCount,
		"OwnedProject": testOwnedProject,
		"OwnedAtomic":  testOwnedProjectAtomic,
		"Members":      testMembers,
		"MemberErrors": testMemberErrors,
		"Memberships":  testMemberships,
		"Sessions":     testSessions,
		"SessionTimes": testSessionTimes,
	})
}

func newAccount(t *testing.T, db DB, email string, created time.Time) *so.Account {
	t.Helper()
	a := &so.Account{ID: so.NewID(), Email: email, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", CreatedAt: created}
	if err := db.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return a
}

func testAccountRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "o'brien+😀@example.com", at(0))
	got, err := db.FindAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "FindAccount", got, a)
	if got, err = db.FindAccountByEmail(ctx, a.Email); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "FindAccountByEmail", got, a)

	dup := &so.Account{ID: so.NewID(), Email: a.Email, PasswordHash: "x", CreatedAt: at(1)}
	if err := db.CreateAccount(ctx, dup); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("taken email: %v, want conflict", err)
	}
	sameID := &so.Account{ID: a.ID, Email: "other@example.com", PasswordHash: "x", CreatedAt: at(1)}
	if err := db.CreateAccount(ctx, sameID); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("taken id: %v, want conflict", err)
	}
	if _, err := db.FindAccount(ctx, dup.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing account: %v, want not_found", err)
	}
	if _, err := db.FindAccountByEmail(ctx, "other@example.com"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing email: %v, want not_found", err)
	}
}

func testAccountCount(t *testing.T, db DB) {
	for want := range 3 {
		n, err := db.CountAccounts(context.Background())
		if err != nil || n != want {
			t.Fatalf("CountAccounts = %d, %v; want %d", n, err, want)
		}
		newAccount(t, db, fmt.Sprintf("a%d@example.com", want), at(want))
	}
}

func findMember(t *testing.T, db DB, projectID, accountID string) *so.Member {
	t.Helper()
	m, err := db.FindMember(context.Background(), projectID, accountID)
	if err != nil {
		t.Fatalf("FindMember(%s, %s): %v", projectID, accountID, err)
	}
	return m
}

func listMembers(t *testing.T, db DB, projectID string) []*so.Member {
	t.Helper()
	members, err := db.ListMembers(context.Background(), projectID)
	if err != nil {
		t.Fatalf("ListMembers(%s): %v", projectID, err)
	}
	return members
}

func listMemberships(t *testing.T, db DB, accountID string) []*so.Membership {
	t.Helper()
	ms, err := db.ListMemberships(context.Background(), accountID)
	if err != nil {
		t.Fatalf("ListMemberships(%s): %v", accountID, err)
	}
	return ms
}

func putMember(t *testing.T, db DB, projectID string, a *so.Account, role so.Role, created time.Time) *so.Member {
	t.Helper()
	m := &so.Member{ProjectID: projectID, AccountID: a.ID, Role: role, CreatedAt: created}
	if err := db.PutMember(context.Background(), m); err != nil {
		t.Fatalf("PutMember(%s, %s): %v", projectID, a.Email, err)
	}
	m.Email = a.Email
	return m
}

func testOwnedProject(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "owner@example.com", at(0))
	p := &so.Project{ID: "owned", Name: "Owned", CreatedAt: at(1), IdentitySecret: "ids_x",
		PreviousIdentitySecret: "ids_y", PreviousSecretUntil: at(2),
		Settings: so.ProjectSettings{ServerOnlyTraits: []string{}, Limits: so.Limits{Admin: ptr(9)}}}
	owner := &so.Member{ProjectID: p.ID, AccountID: a.ID, Role: so.RoleOwner, CreatedAt: at(1)}
	if err := db.CreateOwnedProject(ctx, p, owner); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "owned project", findProject(t, db, "owned"), p)
	want := &so.Member{ProjectID: "owned", AccountID: a.ID, Email: a.Email, Role: so.RoleOwner, CreatedAt: at(1)}
	assertEqual(t, "owner", findMember(t, db, "owned", a.ID), want)
	assertEqual(t, "members", listMembers(t, db, "owned"), []*so.Member{want})
	assertEqual(t, "memberships", listMemberships(t, db, a.ID), []*so.Membership{{Project: p, Role: so.RoleOwner}})
}

// testOwnedProjectAtomic stores neither the project nor the owner when either
// is refused.
func testOwnedProjectAtomic(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "owner@example.com", at(0))
	taken := &so.Project{ID: "p1", Name: "taken", CreatedAt: at(1)}
	err := db.CreateOwnedProject(ctx, taken, &so.Member{ProjectID: "p1", AccountID: a.ID, Role: so.RoleOwner, CreatedAt: at(1)})
	if so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("taken project id: %v, want conflict", err)
	}
	if _, err := db.FindMember(ctx, "p1", a.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("owner of a refused project: %v, want not_found", err)
	}
	if p := findProject(t, db, "p1"); p.Name != "p1" {
		t.Fatalf("refused project overwrote p1: %+v", p)
	}
	orphan := &so.Project{ID: "orphan", Name: "orphan", CreatedAt: at(1)}
	err = db.CreateOwnedProject(ctx, orphan, &so.Member{ProjectID: "orphan", AccountID: so.NewID(), Role: so.RoleOwner, CreatedAt: at(1)})
	if so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("owner without an account: %v, want not_found", err)
	}
	if _, err := db.FindProject(ctx, "orphan"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("project whose owner was refused: %v, want not_found", err)
	}
}

func testMembers(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "a@example.com", at(0))
	b := newAccount(t, db, "b@example.com", at(0))
	c := newAccount(t, db, "c@example.com", at(0))
	mb := putMember(t, db, "p1", b, so.RoleViewer, at(2))
	ma := putMember(t, db, "p1", a, so.RoleOwner, at(1))
	mc := putMember(t, db, "p2", c, so.RoleEditor, at(0))
	assertEqual(t, "p1's members, oldest first", listMembers(t, db, "p1"), []*so.Member{ma, mb})
	assertEqual(t, "p2's members", listMembers(t, db, "p2"), []*so.Member{mc})
	assertEqual(t, "FindMember", findMember(t, db, "p1", b.ID), mb)

	// A new role keeps the membership's place and creation time.
	putMember(t, db, "p1", a, so.RoleEditor, at(9))
	ma.Role = so.RoleEditor
	assertEqual(t, "after a role change", listMembers(t, db, "p1"), []*so.Member{ma, mb})
	assertEqual(t, "p2 after p1's role change", listMembers(t, db, "p2"), []*so.Member{mc})

	if _, err := db.FindMember(ctx, "p2", a.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("member of another project: %v, want not_found", err)
	}
	if err := db.DeleteMember(ctx, "p2", a.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("deleting a member of another project: %v, want not_found", err)
	}
	if err := db.DeleteMember(ctx, "p1", b.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteMember(ctx, "p1", b.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("deleting a member twice: %v, want not_found", err)
	}
	if _, err := db.FindMember(ctx, "p1", b.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("deleted member: %v, want not_found", err)
	}
	assertEqual(t, "after deleting b", listMembers(t, db, "p1"), []*so.Member{ma})
	if ms := listMemberships(t, db, b.ID); len(ms) != 0 {
		t.Fatalf("b's memberships after deleting b: %+v", ms)
	}
	if members := listMembers(t, db, "nope"); len(members) != 0 {
		t.Fatalf("members of a missing project: %+v", members)
	}
}

func testMemberErrors(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "a@example.com", at(0))
	for name, m := range map[string]*so.Member{
		"missing account": {ProjectID: "p1", AccountID: so.NewID(), Role: so.RoleViewer, CreatedAt: at(0)},
		"missing project": {ProjectID: "nope", AccountID: a.ID, Role: so.RoleViewer, CreatedAt: at(0)},
	} {
		if err := db.PutMember(ctx, m); so.ErrorCode(err) != so.ENOTFOUND {
			t.Fatalf("%s: %v, want not_found", name, err)
		}
	}
	if err := db.PutMember(ctx, &so.Member{ProjectID: "p1", AccountID: a.ID, Role: "admin", CreatedAt: at(0)}); err == nil {
		t.Fatal("a member with an unknown role was stored")
	}
	if members := listMembers(t, db, "p1"); len(members) != 0 {
		t.Fatalf("refused members were stored: %+v", members)
	}
}

func testMemberships(t *testing.T, db DB) {
	ctx := context.Background()
	p1 := findProject(t, db, "p1")
	p1.Settings = so.ProjectSettings{ServerOnlyTraits: []string{"tier"}, Limits: so.Limits{PerIP: ptr(7)}}
	p1.IdentitySecret, p1.PreviousIdentitySecret, p1.PreviousSecretUntil = "ids_a", "ids_b", at(3)
	if err := db.UpdateProject(ctx, p1); err != nil {
		t.Fatal(err)
	}
	late := &so.Project{ID: "a-late", Name: "late", CreatedAt: p1.CreatedAt.Add(time.Hour)}
	if err := db.CreateProject(ctx, late); err != nil {
		t.Fatal(err)
	}
	a := newAccount(t, db, "a@example.com", at(0))
	other := newAccount(t, db, "other@example.com", at(0))
	putMember(t, db, late.ID, a, so.RoleViewer, at(0))
	putMember(t, db, "p1", a, so.RoleEditor, at(5))
	putMember(t, db, "p2", other, so.RoleOwner, at(0))
	want := []*so.Membership{{Project: p1, Role: so.RoleEditor}, {Project: late, Role: so.RoleViewer}}
	assertEqual(t, "memberships, oldest project first", listMemberships(t, db, a.ID), want)
	assertEqual(t, "the other account's", listMemberships(t, db, other.ID),
		[]*so.Membership{{Project: findProject(t, db, "p2"), Role: so.RoleOwner}})
	if ms := listMemberships(t, db, so.NewID()); len(ms) != 0 {
		t.Fatalf("memberships of a missing account: %+v", ms)
	}
}

func findSession(t *testing.T, db DB, id string) *so.Session {
	t.Helper()
	s, err := db.FindSession(context.Background(), id)
	if err != nil {
		t.Fatalf("FindSession: %v", err)
	}
	return s
}

func newSession(t *testing.T, db DB, a *so.Account, revoked *time.Time) *so.Session {
	t.Helper()
	s := &so.Session{ID: so.SessionID(so.NewID()), AccountID: a.ID, CSRFToken: "csrf-" + so.NewID(), CreatedAt: at(0),
		LastSeenAt: at(1), ExpiresAt: at(60 * 24 * 30), RevokedAt: revoked}
	if err := db.CreateSession(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func testSessions(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "a@example.com", at(0))
	live := newSession(t, db, a, nil)
	ended := newSession(t, db, a, ptr(at(2)))
	assertEqual(t, "live session", findSession(t, db, live.ID), live)
	assertEqual(t, "revoked session", findSession(t, db, ended.ID), ended)
	if err := db.CreateSession(ctx, live); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same session twice: %v, want conflict", err)
	}
	if _, err := db.FindSession(ctx, so.SessionID("nope")); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing session: %v, want not_found", err)
	}
	orphan := &so.Session{ID: so.SessionID("orphan"), AccountID: so.NewID(), CSRFToken: "x", CreatedAt: at(0),
		LastSeenAt: at(0), ExpiresAt: at(1)}
	if err := db.CreateSession(ctx, orphan); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("session of a missing account: %v, want not_found", err)
	}
}

func testSessionTimes(t *testing.T, db DB) {
	ctx := context.Background()
	a := newAccount(t, db, "a@example.com", at(0))
	s := newSession(t, db, a, nil)
	other := newSession(t, db, a, nil)
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		assertEqual(t, what, findSession(t, db, s.ID), s)
		assertEqual(t, what+": the other session", findSession(t, db, other.ID), other)
	}
	s.LastSeenAt = at(10)
	step("touch", db.TouchSession(ctx, s.ID, at(10)))
	step("an older touch is ignored", db.TouchSession(ctx, s.ID, at(5)))
	s.RevokedAt = ptr(at(11))
	step("revoke", db.RevokeSession(ctx, s.ID, at(11)))
	step("revoking again keeps the first time", db.RevokeSession(ctx, s.ID, at(12)))
	missing := so.SessionID("nope")
	if err := db.TouchSession(ctx, missing, at(1)); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("touching a missing session: %v, want not_found", err)
	}
	if err := db.RevokeSession(ctx, missing, at(1)); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("revoking a missing session: %v, want not_found", err)
	}
}
