package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testAudit(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"RoundTrip": testAuditRoundTrip,
		"Order":     testAuditOrder,
		"Paginate":  testAuditPaginate,
		"Limit":     testAuditLimit,
		"Filters":   testAuditFilters,
		"Isolation": testAuditIsolation,
	})
}

// appendEntries stores n entries of a project, with ids that increase with i
// and At = at(i) unless mutate says otherwise.
func appendEntries(t *testing.T, db DB, projectID string, n int, mutate func(i int, e *so.AuditEntry)) []*so.AuditEntry {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = so.NewID()
	}
	slices.Sort(ids)
	out := make([]*so.AuditEntry, n)
	for i := range out {
		e := &so.AuditEntry{ID: ids[i], ProjectID: projectID, At: at(i), Actor: "key:k1", Action: "PATCH /v1/content/{id}",
			Target: fmt.Sprintf("/v1/content/c%d", i), Status: 200, Changes: []string{"title"}, RequestID: "req-" + ids[i]}
		if mutate != nil {
			mutate(i, e)
		}
		if err := db.AppendAudit(context.Background(), e); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
		out[i] = e
	}
	return out
}

func listAudit(t *testing.T, db DB, projectID string, f so.AuditFilter) []*so.AuditEntry {
	t.Helper()
	entries, err := db.ListAudit(context.Background(), projectID, f)
	if err != nil {
		t.Fatalf("ListAudit(%s, %+v): %v", projectID, f, err)
	}
	return entries
}

// pick lists entries by index, in the order given.
func pick(entries []*so.AuditEntry, idx ...int) []*so.AuditEntry {
	out := []*so.AuditEntry{}
	for _, i := range idx {
		out = append(out, entries[i])
	}
	return out
}

func auditIDs(entries []*so.AuditEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.ID)
	}
	return out
}

func testAuditRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	full := &so.AuditEntry{ID: so.NewID(), ProjectID: "p1", At: at(0), Actor: "account:" + hostile,
		Action: "PUT /v1/members/{account_id}", Target: "/v1/members/" + hostile, Status: 201,
		Changes: []string{"role", "password", hostile}, RequestID: hostile}
	bare := &so.AuditEntry{ID: so.NewID(), ProjectID: "p1", At: at(1), Actor: "key:k", Action: "DELETE /v1/users/{id}",
		Target: "/v1/users/u", Status: 204}
	for _, e := range []*so.AuditEntry{full, bare} {
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := listAudit(t, db, "p1", so.AuditFilter{})
	if len(got) != 2 || len(got[0].Changes) != 0 {
		t.Fatalf("entries = %s, want two, the newest without changes", dump(got))
	}
	got[0].Changes = nil
	assertEqual(t, "stored entries", got, []*so.AuditEntry{bare, full})
	if err := db.AppendAudit(ctx, full); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same entry twice: %v, want conflict", err)
	}
	ghost := *bare
	ghost.ID, ghost.ProjectID = so.NewID(), "ghost"
	if err := db.AppendAudit(ctx, &ghost); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("entry of a missing project: %v, want not_found", err)
	}
}

// testAuditOrder lists by id, newest first, even when At disagrees.
func testAuditOrder(t *testing.T, db DB) {
	entries := appendEntries(t, db, "p1", 4, func(i int, e *so.AuditEntry) { e.At = at(10 - i) })
	assertEqual(t, "newest id first", listAudit(t, db, "p1", so.AuditFilter{}), pick(entries, 3, 2, 1, 0))
}

func testAuditPaginate(t *testing.T, db DB) {
	entries := appendEntries(t, db, "p1", 7, nil)
	want := [][]int{{6, 5, 4}, {3, 2, 1}, {0}, {}}
	before := ""
	for page, idx := range want {
		got := listAudit(t, db, "p1", so.AuditFilter{Before: before, Limit: 3})
		assertEqual(t, fmt.Sprintf("page %d", page), auditIDs(got), auditIDs(pick(entries, idx...)))
		if len(got) > 0 {
			before = got[len(got)-1].ID
		}
	}
}

func testAuditLimit(t *testing.T, db DB) {
	entries := appendEntries(t, db, "p1", 55, nil)
	newest := func(n int) []string {
		ids := auditIDs(entries[len(entries)-n:])
		slices.Reverse(ids)
		return ids
	}
	for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {1, 1}, {50, 50}, {55, 55}, {1000, 55}} {
		got := listAudit(t, db, "p1", so.AuditFilter{Limit: c.limit})
		assertEqual(t, fmt.Sprintf("Limit %d", c.limit), auditIDs(got), newest(c.want))
	}
}

// auditFixture is six entries of p1 and look-alikes of p2.
func auditFixture(t *testing.T, db DB) []*so.AuditEntry {
	rows := []struct{ actor, action, target string }{
		{"key:a", "POST /v1/api-keys", "/v1/api-keys"},
		{"account:b", "DELETE /v1/api-keys/{id}", "/v1/api-keys/k1"},
		{"key:a", "DELETE /v1/api-keys/{id}", "/v1/api-keys/k2"},
		{"account:b", "PUT /v1/members/{account_id}", "/v1/members/m"},
		{"key:a", "POST /v1/api-keys", "/v1/api-keys"},
		{"key:ab", "POST /v1/api-keys/", "/v1/api-keys/"},
	}
	set := func(i int, e *so.AuditEntry) {
		e.Actor, e.Action, e.Target = rows[i].actor, rows[i].action, rows[i].target
	}
	entries := appendEntries(t, db, "p1", len(rows), set)
	appendEntries(t, db, "p2", len(rows), set)
	return entries
}

func testAuditFilters(t *testing.T, db DB) {
	entries := auditFixture(t, db)
	cases := []struct {
		name string
		f    so.AuditFilter
		want []int
	}{
		{"none", so.AuditFilter{}, []int{5, 4, 3, 2, 1, 0}},
		{"actor", so.AuditFilter{Actor: "key:a"}, []int{4, 2, 0}},
		{"actor is exact", so.AuditFilter{Actor: "KEY:A"}, nil},
		{"action", so.AuditFilter{Action: "DELETE /v1/api-keys/{id}"}, []int{2, 1}},
		{"action is exact", so.AuditFilter{Action: "DELETE"}, nil},
		{"target", so.AuditFilter{Target: "/v1/api-keys"}, []int{4, 0}},
		{"target is exact", so.AuditFilter{Target: "/v1/api-keys/k"}, nil},
		{"since is inclusive", so.AuditFilter{Since: at(2)}, []int{5, 4, 3, 2}},
		{"until is exclusive", so.AuditFilter{Until: at(2)}, []int{1, 0}},
		{"since and until", so.AuditFilter{Since: at(1), Until: at(4)}, []int{3, 2, 1}},
		{"since after until", so.AuditFilter{Since: at(4), Until: at(1)}, nil},
		{"since a moment before", so.AuditFilter{Since: at(2).Add(-time.Millisecond), Until: at(2).Add(time.Millisecond)}, []int{2}},
		{"before", so.AuditFilter{Before: entries[3].ID}, []int{2, 1, 0}},
		{"before the oldest", so.AuditFilter{Before: entries[0].ID}, nil},
		{"combined", so.AuditFilter{Actor: "key:a", Action: "POST /v1/api-keys", Since: at(0), Until: at(5)}, []int{4, 0}},
		{"combined with a cursor", so.AuditFilter{Actor: "key:a", Before: entries[4].ID, Since: at(1)}, []int{2}},
		{"with a limit", so.AuditFilter{Actor: "key:a", Limit: 2}, []int{4, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertEqual(t, c.name, auditIDs(listAudit(t, db, "p1", c.f)), auditIDs(pick(entries, c.want...)))
		})
	}
}

// testAuditIsolation never lists another project's entries, whatever the filter.
func testAuditIsolation(t *testing.T, db DB) {
	mine := appendEntries(t, db, "p1", 2, nil)
	theirs := appendEntries(t, db, "p2", 3, nil)
	for _, f := range []so.AuditFilter{{}, {Before: "ffffffff"}, {Actor: "key:k1"}, {Target: theirs[2].Target},
		{Since: at(2)}, {Limit: 100}} {
		got := listAudit(t, db, "p1", f)
		for _, e := range got {
			if e.ProjectID != "p1" {
				t.Fatalf("ListAudit(p1, %+v) returned %s", f, dump(e))
			}
		}
		if f == (so.AuditFilter{}) {
			assertEqual(t, "p1's entries", got, pick(mine, 1, 0))
		}
	}
	if got := listAudit(t, db, "nope", so.AuditFilter{}); len(got) != 0 {
		t.Fatalf("entries of a missing project: %s", dump(got))
	}
}
