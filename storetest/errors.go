package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/journey"
)

// testErrors holds both engines to the same code, message and field for every
// failure a client can meet, so a client never learns which engine it talks to.
func testErrors(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"NotFound":   testNotFoundErrors,
		"Conflicts":  testConflictErrors,
		"References": testReferenceErrors,
		"Services":   testServiceErrors,
		"Callbacks":  testCallbackErrors,
		"NoSQL":      testErrorsShowNoSQL,
	})
}

// errorCase is one failing call and the exact error it must return.
type errorCase struct {
	name string
	call func() error
	want so.Error
}

// assertErrors runs each case and compares the whole error.
func assertErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, c := range cases {
		var got *so.Error
		if err := c.call(); !errors.As(err, &got) || *got != c.want {
			t.Errorf("%s: %#v (%v)\n want %#v", c.name, got, err, c.want)
		}
	}
}

// errorFixture is a project p1 holding content item, a flow "f" published at
// version 1 that uses it, and user u1's journey in it.
type errorFixture struct {
	item *so.ContentItem
	flow *so.Flow
	v1   *so.FlowVersion
}

func newErrorFixture(t *testing.T, db DB) errorFixture {
	t.Helper()
	f := newFlow(t, db, "p1", "f")
	if err := db.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	v1 := publish(t, db, f, 1)
	if _, _, err := db.StartJourney(context.Background(), so.NewJourney("p1", "u1", v1, so.Now())); err != nil {
		t.Fatal(err)
	}
	item, err := db.FindContentItem(context.Background(), "p1", f.Steps[0].ContentItemID)
	if err != nil {
		t.Fatal(err)
	}
	return errorFixture{item: item, flow: f, v1: v1}
}

func notFound(message string) so.Error { return so.Error{Code: so.ENOTFOUND, Message: message} }

func testNotFoundErrors(t *testing.T, db DB) {
	ctx, fx := context.Background(), newErrorFixture(t, db)
	ghostFlow := *fx.flow
	ghostFlow.ID, ghostFlow.Key = so.NewID(), "ghost"
	ghostItem := *fx.item
	ghostItem.ID, ghostItem.Version = "ghost", 2
	assertErrors(t, []errorCase{
		{"FindEndUser", func() error { _, err := db.FindEndUser(ctx, "p1", "ghost"); return err }, notFound(`user "ghost" not found`)},
		{"FindEndUser in another project", func() error { _, err := db.FindEndUser(ctx, "p2", "u1"); return err }, notFound(`user "u1" not found`)},
		{"FindFlow", func() error { _, err := db.FindFlow(ctx, "p1", "ghost"); return err }, notFound(`flow "ghost" not found`)},
		{"UpdateFlowDraft", func() error { return db.UpdateFlowDraft(ctx, &ghostFlow, 1) }, notFound(`flow "ghost" not found`)},
		{"PublishFlow", func() error {
			return db.PublishFlow(ctx, &so.FlowVersion{FlowID: ghostFlow.ID, ProjectID: "p1", FlowKey: "ghost", Version: 1, Steps: fx.flow.Steps, PublishedAt: so.Now()})
		}, notFound(`flow "ghost" not found`)},
		{"FindFlowVersion", func() error { _, err := db.FindFlowVersion(ctx, "p1", fx.flow.ID, 9); return err }, notFound(`flow version 9 not found`)},
		{"FindFlowVersion in another project", func() error { _, err := db.FindFlowVersion(ctx, "p2", fx.flow.ID, 1); return err }, notFound(`flow version 1 not found`)},
		{"FindContentItem", func() error { _, err := db.FindContentItem(ctx, "p1", "ghost"); return err }, notFound(`content item "ghost" not found`)},
		{"FindContentItem in another project", func() error { _, err := db.FindContentItem(ctx, "p2", fx.item.ID); return err }, notFound(fmt.Sprintf("content item %q not found", fx.item.ID))},
		{"UpdateContentItem", func() error { return db.UpdateContentItem(ctx, &ghostItem, 1) }, notFound(`content item "ghost" not found`)},
		{"DeleteContentItem", func() error { return db.DeleteContentItem(ctx, "p1", "ghost") }, notFound(`content item "ghost" not found`)},
		{"FindJourney", func() error { _, err := db.FindJourney(ctx, "p1", "u1", "ghost"); return err }, notFound(`user "u1" has no journey in flow "ghost"`)},
		{"FindJourney of another user", func() error { _, err := db.FindJourney(ctx, "p1", "u2", "f"); return err }, notFound(`user "u2" has no journey in flow "f"`)},
		{"SaveJourneys", func() error { return saveInIngest(t, db, &so.Journey{ID: "ghost", ProjectID: "p1"}) }, notFound(`journey "ghost" not found`)},
	})
}

// saveInIngest saves journeys inside an ingestion transaction of one new event.
func saveInIngest(t *testing.T, db DB, js ...*so.Journey) error {
	_, err := db.IngestEvents(context.Background(), []*so.Event{newEvent(t, "p1", so.NewID(), "u1")},
		func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error { return tx.SaveJourneys(ctx, js) })
	return err
}

func testConflictErrors(t *testing.T, db DB) {
	ctx, fx := context.Background(), newErrorFixture(t, db)
	sameKey := newFlow(t, db, "p1", "f")
	staleDraft := *fx.flow
	staleDraft.Revision = 6
	staleItem := *fx.item
	staleItem.Version = 4
	republish := *fx.v1
	assertErrors(t, []errorCase{
		{"CreateFlow with a taken key", func() error { return db.CreateFlow(ctx, sameKey) },
			so.Error{Code: so.ECONFLICT, Field: "key", Message: `flow "f" already exists`}},
		{"CreateContentItem with a taken id", func() error { return db.CreateContentItem(ctx, fx.item) },
			so.Error{Code: so.ECONFLICT, Field: "id", Message: fmt.Sprintf("content item %q already exists", fx.item.ID)}},
		{"UpdateFlowDraft from a stale revision", func() error { return db.UpdateFlowDraft(ctx, &staleDraft, 5) },
			so.Error{Code: so.ECONFLICT, Field: "revision", Message: "the draft is at revision 1, not 5: read it again and retry"}},
		{"UpdateContentItem from a stale version", func() error { return db.UpdateContentItem(ctx, &staleItem, 3) },
			so.Error{Code: so.ECONFLICT, Field: "version", Message: "the content item is at version 1, not 3: read it again and retry"}},
		{"PublishFlow of a version that exists", func() error { return db.PublishFlow(ctx, &republish) },
			so.Error{Code: so.ECONFLICT, Field: "version", Message: "the flow is at version 1, so the next is 2, not 1: read it again and retry"}},
	})
}

// testReferenceErrors covers writes whose reference is dangling: to a project or
// flow that does not exist, and between content and published versions. Events
// are left out: PostgreSQL's events table has no key to projects, by design.
func testReferenceErrors(t *testing.T, db DB) {
	ctx, fx := context.Background(), newErrorFixture(t, db)
	orphanItem := newItem(t, "ghost", "orphan")
	orphanFlow := newFlow(t, db, "p1", "orphan")
	orphanFlow.ProjectID = "ghost"
	orphanUser := &so.EndUser{ProjectID: "ghost", UserID: "u1", Traits: json.RawMessage(`{}`), FirstSeenAt: so.Now(), LastSeenAt: so.Now()}
	goneVersion := *fx.v1
	goneVersion.FlowID, goneVersion.FlowKey = so.NewID(), "gone"
	gone := newItem(t, "p1", "deleted before publish")
	if err := db.CreateContentItem(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContentItem(ctx, "p1", gone.ID); err != nil {
		t.Fatal(err)
	}
	v2 := &so.FlowVersion{FlowID: fx.flow.ID, ProjectID: "p1", FlowKey: "f", Version: 2, Name: "v2", PublishedAt: so.Now(),
		Steps: []so.Step{{Key: "read", Title: "Read", Kind: so.StepArticle, ContentItemID: gone.ID, Prerequisites: []string{}}}}
	assertErrors(t, []errorCase{
		{"CreateContentItem in a missing project", func() error { return db.CreateContentItem(ctx, orphanItem) }, notFound("project not found")},
		{"CreateFlow in a missing project", func() error { return db.CreateFlow(ctx, orphanFlow) }, notFound("project not found")},
		{"UpsertEndUser in a missing project", func() error { _, err := db.UpsertEndUser(ctx, orphanUser, keepTraits); return err }, notFound("project not found")},
		{"StartJourney on a missing flow", func() error {
			_, _, err := db.StartJourney(ctx, so.NewJourney("p1", "u9", &goneVersion, so.Now()))
			return err
		}, notFound(`flow "gone" not found`)},
		{"InsertJourneys on a missing flow", func() error {
			_, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e2", "u9")}, func(ctx context.Context, tx so.IngestTx, _ []*so.Event) error {
				_, err := tx.InsertJourneys(ctx, []*so.Journey{so.NewJourney("p1", "u9", &goneVersion, so.Now())})
				return err
			})
			return err
		}, notFound(`flow "gone" not found`)},
		{"DeleteContentItem a published version uses", func() error { return db.DeleteContentItem(ctx, "p1", fx.item.ID) },
			so.Error{Code: so.ECONFLICT, Message: fmt.Sprintf("content item %q is used by a published flow version; archive it instead", fx.item.ID)}},
		{"PublishFlow of a version whose content is gone", func() error { return db.PublishFlow(ctx, v2) },
			so.Error{Code: so.EINVALID, Field: "steps", Message: "a content item the steps use was deleted while publishing; fix the steps and publish again"}},
	})
}

func keepTraits(old json.RawMessage) (json.RawMessage, error) { return old, nil }

// testServiceErrors checks that the services' own checks, made before a store
// is asked, word a failure as the stores do.
func testServiceErrors(t *testing.T, db DB) {
	ctx, fx := context.Background(), newErrorFixture(t, db)
	flows := &so.FlowService{Store: db, Content: db}
	content := &so.ContentService{Store: db, Usage: db}
	engine := &journey.Engine{Flows: db, Journeys: db}
	draft := newFlow(t, db, "p1", "draft")
	if err := db.CreateFlow(ctx, draft); err != nil {
		t.Fatal(err)
	}
	stale, title := 3, "x"
	assertErrors(t, []errorCase{
		{"Engine.Get of a journey never started", func() error { _, err := engine.Get(ctx, "p1", "u2", "f"); return err },
			notFound(`user "u2" has no journey in flow "f"`)},
		{"Engine.Start on a missing flow", func() error { _, _, err := engine.Start(ctx, "p1", "u2", "ghost"); return err },
			notFound(`flow "ghost" not found`)},
		{"Engine.Start on a flow never published", func() error { _, _, err := engine.Start(ctx, "p1", "u2", "draft"); return err },
			so.Error{Code: so.ECONFLICT, Field: "flow", Message: `flow "draft" has no published version yet; publish it first`}},
		{"FlowService.Create with a taken key", func() error {
			_, err := flows.Create(ctx, "p1", so.FlowInput{Key: "f", Name: "again", Steps: fx.flow.Steps})
			return err
		}, so.Error{Code: so.ECONFLICT, Field: "key", Message: `flow "f" already exists`}},
		{"FlowService.UpdateDraft from a stale revision", func() error {
			_, err := flows.UpdateDraft(ctx, "p1", "f", so.FlowPatch{Revision: &stale, Name: &title})
			return err
		}, so.Error{Code: so.ECONFLICT, Field: "revision", Message: "the draft is at revision 1, not 3: read it again and retry"}},
		{"FlowService.Version of a missing version", func() error { _, err := flows.Version(ctx, "p1", "f", 9); return err },
			notFound("flow version 9 not found")},
		{"ContentService.Update from a stale version", func() error {
			_, err := content.Update(ctx, "p1", fx.item.ID, so.ContentPatch{Version: &stale, Title: &title})
			return err
		}, so.Error{Code: so.ECONFLICT, Field: "version", Message: "the content item is at version 1, not 3: read it again and retry"}},
		{"ContentService.Delete of used content", func() error { return content.Delete(ctx, "p1", fx.item.ID) },
			so.Error{Code: so.ECONFLICT, Message: fmt.Sprintf("content item %q is used by a published flow version; archive it instead", fx.item.ID)}},
	})
}

// testCallbackErrors returns apply's and merge's own errors, not mapped.
func testCallbackErrors(t *testing.T, db DB) {
	ctx := context.Background()
	boom := errors.New("boom")
	_, err := db.IngestEvents(ctx, []*so.Event{newEvent(t, "p1", "e1", "u1")}, func(context.Context, so.IngestTx, []*so.Event) error { return boom })
	if err != boom {
		t.Fatalf("apply error came back as %v", err)
	}
	u := &so.EndUser{ProjectID: "p1", UserID: "u1", FirstSeenAt: so.Now(), LastSeenAt: so.Now()}
	for range 2 { // the first creates the user, the second merges
		if _, err := db.UpsertEndUser(ctx, u, keepTraits); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.UpsertEndUser(ctx, u, func(json.RawMessage) (json.RawMessage, error) { return nil, boom })
	if err != boom {
		t.Fatalf("merge error came back as %v", err)
	}
}

// testErrorsShowNoSQL checks that a conflict no call site words itself (a
// duplicate project) is still a conflict whose message shows no SQL.
func testErrorsShowNoSQL(t *testing.T, db DB) {
	err := db.CreateProject(context.Background(), &so.Project{ID: "p1", Name: "again", CreatedAt: so.Now()})
	if so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("duplicate project: %v, want conflict", err)
	}
	for _, leak := range []string{"SQLSTATE", "duplicate key", "constraint", "projects_pkey", "UNIQUE"} {
		if strings.Contains(so.ErrorMessage(err), leak) {
			t.Fatalf("conflict message %q shows SQL details (%s)", so.ErrorMessage(err), leak)
		}
	}
}
