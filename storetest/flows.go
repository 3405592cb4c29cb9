package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testFlows(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"RoundTrip":   testFlowRoundTrip,
		"List":        testFlowList,
		"Draft":       testFlowDraft,
		"Publish":     testFlowPublish,
		"ContentRefs": testFlowContentRefs,
		"HelpRefs":    testFlowHelpRefs,
	})
}

// newFlow builds a valid two-step flow whose steps use a stored content item.
func newFlow(t *testing.T, db DB, projectID, key string) *so.Flow {
	t.Helper()
	item := newItem(t, projectID, "content for "+key)
	if err := db.CreateContentItem(context.Background(), item); err != nil {
		t.Fatal(err)
	}
	now := so.Now()
	f := &so.Flow{ID: so.NewID(), ProjectID: projectID, Key: key, Name: "Flow " + hostile, Description: hostile,
		Status: so.FlowDraft, Revision: 1, CreatedAt: now, UpdatedAt: now, Versions: []so.VersionInfo{},
		Steps: []so.Step{
			{Key: "connect", Title: "Connect " + hostile, Kind: so.StepTask, ContentItemID: item.ID, Required: true, Prerequisites: []string{}, EstimatedSeconds: 60, Target: "#connect"},
			{Key: "invite", Title: "Invite", Kind: so.StepChecklist, ContentItemID: item.ID, Basic: true, Prerequisites: []string{"connect"}},
		}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	return f
}

func assertJSONEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s differs:\n got %s\nwant %s", what, g, w)
	}
}

func testFlowRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	f := newFlow(t, db, "p1", "getting-started")
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindFlow(ctx, "p1", "getting-started")
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "flow", got, f)
	dup := newFlow(t, db, "p1", "getting-started")
	if err := db.CreateFlow(ctx, dup); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same key twice: %v, want conflict", err)
	}
	other := newFlow(t, db, "p2", "getting-started")
	if err := db.CreateFlow(ctx, other); err != nil {
		t.Fatalf("same key in another project: %v", err)
	}
	if _, err := db.FindFlow(ctx, "p1", "nope"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing flow: %v", err)
	}
}

func testFlowList(t *testing.T, db DB) {
	ctx := context.Background()
	for _, k := range []string{"c", "a", "b"} {
		if err := db.CreateFlow(ctx, newFlow(t, db, "p1", k)); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.ListFlows(ctx, "p1", "", 2)
	if err != nil || len(page) != 2 || page[0].Key != "a" || page[1].Key != "b" {
		t.Fatalf("page 1 = %v, %v", page, err)
	}
	page, err = db.ListFlows(ctx, "p1", "b", 2)
	if err != nil || len(page) != 1 || page[0].Key != "c" {
		t.Fatalf("page 2 = %v, %v", page, err)
	}
	if page, err := db.ListFlows(ctx, "p2", "", 10); err != nil || len(page) != 0 {
		t.Fatalf("p2 sees p1's flows: %v, %v", page, err)
	}
}

func testFlowDraft(t *testing.T, db DB) {
	ctx := context.Background()
	f := newFlow(t, db, "p1", "draft")
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	next := *f
	next.Name, next.Revision, next.UpdatedAt = "Renamed", 2, so.Now()
	next.Steps = f.Steps[:1]
	if err := db.UpdateFlowDraft(ctx, &next, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateFlowDraft(ctx, &next, 1); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("stale revision: %v, want conflict", err)
	}
	got, err := db.FindFlow(ctx, "p1", "draft")
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "draft", got, &next)
	ghost := next
	ghost.Key = "ghost"
	if err := db.UpdateFlowDraft(ctx, &ghost, 2); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing flow: %v", err)
	}
}

func publish(t *testing.T, db DB, f *so.Flow, version int) *so.FlowVersion {
	t.Helper()
	v := &so.FlowVersion{FlowID: f.ID, ProjectID: f.ProjectID, FlowKey: f.Key, Version: version, Name: f.Name,
		Steps: f.Steps, PublishedAt: so.Now()}
	if err := db.PublishFlow(context.Background(), v); err != nil {
		t.Fatalf("publish v%d: %v", version, err)
	}
	return v
}

func testFlowPublish(t *testing.T, db DB) {
	ctx := context.Background()
	f := newFlow(t, db, "p1", "pub")
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if used, err := db.ContentInUse(ctx, "p1", f.Steps[0].ContentItemID); err != nil || used {
		t.Fatalf("draft-only content counted as in use: %v %v", used, err)
	}
	v1 := publish(t, db, f, 1)
	f.Steps = append(f.Steps[:1:1], so.Step{Key: "tour", Title: "Tour", Kind: so.StepTour, ContentItemID: f.Steps[0].ContentItemID, Prerequisites: []string{}})
	v2 := publish(t, db, f, 2)
	stale := *v2
	if err := db.PublishFlow(ctx, &stale); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("publishing version 2 twice: %v, want conflict", err)
	}
	got, err := db.FindFlow(ctx, "p1", "pub")
	if err != nil || got.Status != so.FlowPublished || got.PublishedVersion != 2 || len(got.Versions) != 2 ||
		got.Versions[0].Version != 1 || !got.Versions[1].PublishedAt.Equal(v2.PublishedAt) {
		t.Fatalf("flow after two publishes = %+v, %v", got, err)
	}
	old, err := db.FindFlowVersion(ctx, "p1", f.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "version 1", old, v1)
	if !reflect.DeepEqual(old.Steps[1].Prerequisites, []string{"connect"}) {
		t.Fatalf("old version lost its steps: %+v", old.Steps)
	}
	if _, err := db.FindFlowVersion(ctx, "p2", f.ID, 1); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("other project reads the version: %v", err)
	}
	if used, err := db.ContentInUse(ctx, "p1", f.Steps[0].ContentItemID); err != nil || !used {
		t.Fatalf("published content not in use: %v %v", used, err)
	}
	ghost := &so.FlowVersion{FlowID: so.NewID(), ProjectID: "p1", FlowKey: "ghost", Version: 1, Steps: f.Steps, PublishedAt: so.Now()}
	if err := db.PublishFlow(ctx, ghost); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("publishing a missing flow: %v", err)
	}
}

func testUsers(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Upsert":     testUserUpsert,
		"List":       testUserList,
		"Concurrent": testUserConcurrent,
	})
}

func replaceTraits(traits string) func(json.RawMessage) (json.RawMessage, error) {
	return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(traits), nil }
}

func testUserUpsert(t *testing.T, db DB) {
	ctx := context.Background()
	t0 := so.Now()
	u, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: "u'1😀", Traits: json.RawMessage(`{"plan":"pro"}`), FirstSeenAt: t0, LastSeenAt: t0},
		func(json.RawMessage) (json.RawMessage, error) {
			t.Fatal("merge called for a new user")
			return nil, nil
		})
	if err != nil || string(u.Traits) != `{"plan":"pro"}` {
		t.Fatalf("create = %+v, %v", u, err)
	}
	var seenOld string
	t1 := t0.Add(time.Minute)
	u, err = db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: "u'1😀", FirstSeenAt: t1, LastSeenAt: t1},
		func(old json.RawMessage) (json.RawMessage, error) {
			seenOld = string(old)
			return json.RawMessage(`{"plan":"team"}`), nil
		})
	if err != nil || seenOld != `{"plan":"pro"}` || string(u.Traits) != `{"plan":"team"}` || !u.FirstSeenAt.Equal(t0) || !u.LastSeenAt.Equal(t1) {
		t.Fatalf("update = %+v (merge saw %s), %v", u, seenOld, err)
	}
	// An older sighting never moves last_seen_at back.
	if _, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: "u'1😀", FirstSeenAt: t0, LastSeenAt: t0}, replaceTraits(`{"plan":"team"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindEndUser(ctx, "p1", "u'1😀")
	if err != nil || !got.LastSeenAt.Equal(t1) || string(got.Traits) != `{"plan":"team"}` {
		t.Fatalf("find = %+v, %v", got, err)
	}
	if _, err := db.FindEndUser(ctx, "p2", "u'1😀"); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("other project sees the user: %v", err)
	}
	failing := func(json.RawMessage) (json.RawMessage, error) { return nil, so.Errorf(so.EINVALID, "no") }
	if _, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: "u'1😀", FirstSeenAt: t1, LastSeenAt: t1}, failing); so.ErrorCode(err) != so.EINVALID {
		t.Fatalf("merge error not returned: %v", err)
	}
}

func testUserList(t *testing.T, db DB) {
	ctx := context.Background()
	for _, id := range []string{"c", "a", "b"} {
		if _, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: id, Traits: json.RawMessage(`{}`), FirstSeenAt: so.Now(), LastSeenAt: so.Now()}, replaceTraits(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.ListEndUsers(ctx, "p1", so.UserFilter{After: "a", Limit: 10})
	if err != nil || len(page) != 2 || page[0].UserID != "b" || page[1].UserID != "c" {
		t.Fatalf("list after a = %+v, %v", page, err)
	}
	t0 := so.Now()
	for id, traits := range map[string]string{"d": `{"plan":"pro","role":"admin'; --"}`, "e": `{"plan":"pro","experience":"expert"}`, "f": `{"plan":"free"}`} {
		if _, err := db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: id, Traits: json.RawMessage(traits), FirstSeenAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour)}, replaceTraits(traits)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		f    so.UserFilter
		want string
	}{
		{so.UserFilter{Plan: "pro"}, "[d e]"},
		{so.UserFilter{Plan: "pro", Experience: "expert"}, "[e]"},
		{so.UserFilter{Role: "admin'; --"}, "[d]"},
		{so.UserFilter{SeenSince: t0.Add(time.Hour)}, "[d e f]"},
		{so.UserFilter{Plan: "enterprise"}, "[]"},
	} {
		c.f.Limit = 10
		page, err := db.ListEndUsers(ctx, "p1", c.f)
		var got []string
		for _, u := range page {
			got = append(got, u.UserID)
		}
		if err != nil || fmt.Sprint(got) != c.want && !(c.want == "[]" && len(got) == 0) {
			t.Fatalf("ListEndUsers(%+v) = %v, %v; want %s", c.f, got, err, c.want)
		}
	}
}

// testUserConcurrent: identify calls racing on one new user all succeed, and every
// merge sees the traits of the write before it.
func testUserConcurrent(t *testing.T, db DB) {
	ctx := context.Background()
	var wg sync.WaitGroup
	const n = 10
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			key := string(rune('a' + i))
			_, errs[i] = db.UpsertEndUser(ctx, &so.EndUser{ProjectID: "p1", UserID: "racer", Traits: json.RawMessage(`{"` + key + `":1}`), FirstSeenAt: so.Now(), LastSeenAt: so.Now()},
				func(old json.RawMessage) (json.RawMessage, error) {
					return so.MergeTraits(old, json.RawMessage(`{"`+key+`":1}`))
				})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	u := findUser(t, db, "p1", "racer")
	var traits map[string]int
	if err := json.Unmarshal(u.Traits, &traits); err != nil || len(traits) != n {
		t.Fatalf("lost updates: traits %s, want %d keys", u.Traits, n)
	}
}

// testFlowContentRefs covers both ends of a delete racing a publish, which the
// service's in-use check cannot see: the store itself refuses to delete content a
// published version uses, and refuses to publish a version whose content is gone.
func testFlowContentRefs(t *testing.T, db DB) {
	ctx := context.Background()
	f := newFlow(t, db, "p1", "refs")
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	publish(t, db, f, 1)
	used := f.Steps[0].ContentItemID
	if err := db.DeleteContentItem(ctx, "p1", used); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("deleting content a published version uses: %v, want conflict", err)
	}
	if _, err := db.FindContentItem(ctx, "p1", used); err != nil {
		t.Fatalf("the used item is gone after a refused delete: %v", err)
	}

	gone := newItem(t, "p1", "deleted before publish")
	if err := db.CreateContentItem(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContentItem(ctx, "p1", gone.ID); err != nil {
		t.Fatal(err)
	}
	v2 := &so.FlowVersion{FlowID: f.ID, ProjectID: "p1", FlowKey: f.Key, Version: 2, Name: f.Name, PublishedAt: so.Now(),
		Steps: []so.Step{{Key: "read", Title: "Read", Kind: so.StepArticle, ContentItemID: gone.ID, Prerequisites: []string{}}}}
	if err := db.PublishFlow(ctx, v2); so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != "steps" {
		t.Fatalf("publishing a version whose content was deleted: %v, want invalid steps", err)
	}
	got, err := db.FindFlow(ctx, "p1", "refs")
	if err != nil || got.PublishedVersion != 1 || len(got.Versions) != 1 {
		t.Fatalf("a refused publish left the flow at %+v, %v", got, err)
	}
	if _, err := db.FindFlowVersion(ctx, "p1", f.ID, 2); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("a refused version is readable: %v", err)
	}
}

// testFlowHelpRefs: help_content_ids round-trip in drafts and versions, and a
// published version holds on to its help items as to its content items.
func testFlowHelpRefs(t *testing.T, db DB) {
	ctx := context.Background()
	help := make([]*so.ContentItem, 3)
	for i := range help {
		item, err := so.NewContentItem("p1", so.ContentInput{Kind: so.ContentHelp, Title: fmt.Sprintf("help %d %s", i, hostile)}, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateContentItem(ctx, item); err != nil {
			t.Fatal(err)
		}
		help[i] = item
	}
	f := newFlow(t, db, "p1", "help")
	f.Steps[0].HelpContentIDs = []string{help[1].ID, help[0].ID}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindFlow(ctx, "p1", "help")
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "flow with help", got, f)
	if !reflect.DeepEqual(got.Steps[0].HelpContentIDs, []string{help[1].ID, help[0].ID}) || got.Steps[1].HelpContentIDs == nil {
		t.Fatalf("help read back as %#v and %#v", got.Steps[0].HelpContentIDs, got.Steps[1].HelpContentIDs)
	}
	if used, err := db.ContentInUse(ctx, "p1", help[0].ID); err != nil || used {
		t.Fatalf("help of a draft counted as in use: %v %v", used, err)
	}
	v1 := publish(t, db, f, 1)
	old, err := db.FindFlowVersion(ctx, "p1", f.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, "version with help", old, v1)
	for i, want := range []bool{true, true, false} {
		if used, err := db.ContentInUse(ctx, "p1", help[i].ID); err != nil || used != want {
			t.Fatalf("help %d in use = %v, %v; want %v", i, used, err, want)
		}
	}
	if err := db.DeleteContentItem(ctx, "p1", help[0].ID); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("deleting help a published version uses: %v, want conflict", err)
	}
	if err := db.DeleteContentItem(ctx, "p1", help[2].ID); err != nil {
		t.Fatalf("deleting unused help: %v", err)
	}
	// The same item as a step's content and its help, or as help of two steps, is one reference.
	f.Steps[1].HelpContentIDs = []string{help[1].ID, f.Steps[1].ContentItemID}
	publish(t, db, f, 2)
	// A help item deleted before the publish stops it, as a deleted content item does.
	f.Steps[1].HelpContentIDs = []string{help[2].ID}
	v3 := &so.FlowVersion{FlowID: f.ID, ProjectID: "p1", FlowKey: f.Key, Version: 3, Name: f.Name, Steps: f.Steps, PublishedAt: so.Now()}
	if err := db.PublishFlow(ctx, v3); so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != "steps" {
		t.Fatalf("publishing a version whose help was deleted: %v, want invalid steps", err)
	}
}
