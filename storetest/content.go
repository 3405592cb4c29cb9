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

// hostile is stored and read back byte for byte by every engine.
const hostile = `Robert'); DROP TABLE content_items;-- <script>alert("x")</script> % _ \ 😀 ümlaut 日本語 "quoted" $1 ?`

func newItem(t *testing.T, projectID, title string) *so.ContentItem {
	t.Helper()
	item, err := so.NewContentItem(projectID, so.ContentInput{Kind: so.ContentArticle, Title: title, Body: "body of " + title}, so.Now())
	if err != nil {
		t.Fatal(err)
	}
	return item
}

func setupProjects(t *testing.T, db DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := db.CreateProject(context.Background(), &so.Project{ID: id, Name: id, CreatedAt: so.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

func testContent(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, DB){
		"RoundTrip":   testContentRoundTrip,
		"List":        testContentList,
		"Paginate":    testContentPaginate,
		"Update":      testContentUpdate,
		"Race":        testContentUpdateRace,
		"Delete":      testContentDelete,
		"PublishDue":  testContentPublishDue,
		"Isolation":   testContentIsolation,
		"MissingProj": testContentMissingProject,
	}
	runAll(t, open, tests)
}

func testContentRoundTrip(t *testing.T, db DB) {
	ctx := context.Background()
	at := so.Truncate(time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.UTC))
	item, err := so.NewContentItem("p1", so.ContentInput{
		Kind: so.ContentVideo, Title: hostile, Body: hostile + "\n# heading", Status: so.StatusScheduled,
		Category: hostile[:20], Tags: []string{"a'b", "c\"d", "😀"}, Locale: "pt-BR",
		Complexity: so.ComplexityAdvanced, ScheduledAt: &at,
		Metadata: json.RawMessage(`{"b": 1, "a": {"x": [1, 2]}, "s": "` + "\u00fc" + `"}`),
	}, so.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateContentItem(ctx, item); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindContentItem(ctx, "p1", item.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertSameItem(t, got, item)
	if err := db.CreateContentItem(ctx, item); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("same id twice: %v, want conflict", err)
	}
	if _, err := db.FindContentItem(ctx, "p1", so.NewID()); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing item: %v, want not_found", err)
	}
}

func assertSameItem(t *testing.T, got, want *so.ContentItem) {
	t.Helper()
	assertJSONEqual(t, "stored item", got, want)
}

func createN(t *testing.T, db DB, projectID string, n int, mutate func(i int, in *so.ContentInput)) []*so.ContentItem {
	t.Helper()
	var out []*so.ContentItem
	for i := range n {
		in := so.ContentInput{Kind: so.ContentArticle, Title: fmt.Sprintf("item %d", i), Body: "text"}
		if mutate != nil {
			mutate(i, &in)
		}
		item, err := so.NewContentItem(projectID, in, so.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateContentItem(context.Background(), item); err != nil {
			t.Fatal(err)
		}
		out = append(out, item)
	}
	return out
}

func ids(items []*so.ContentItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func testContentList(t *testing.T, db DB) {
	items := createN(t, db, "p1", 6, func(i int, in *so.ContentInput) {
		if i%2 == 0 {
			in.Kind, in.Status, in.Category, in.Tags, in.Locale = so.ContentVideo, so.StatusPublished, "billing", []string{"setup", "pay"}, "de"
		}
		if i == 3 {
			in.Title, in.Body = "Connect 100% of your_data", "Mixed CASE needle"
		}
	})
	cases := []struct {
		name string
		f    so.ContentFilter
		want []*so.ContentItem
	}{
		{"all newest first", so.ContentFilter{}, []*so.ContentItem{items[5], items[4], items[3], items[2], items[1], items[0]}},
		{"status", so.ContentFilter{Status: so.StatusPublished}, []*so.ContentItem{items[4], items[2], items[0]}},
		{"kind", so.ContentFilter{Kind: so.ContentArticle}, []*so.ContentItem{items[5], items[3], items[1]}},
		{"category", so.ContentFilter{Category: "billing"}, []*so.ContentItem{items[4], items[2], items[0]}},
		{"tag", so.ContentFilter{Tag: "pay"}, []*so.ContentItem{items[4], items[2], items[0]}},
		{"tag is exact", so.ContentFilter{Tag: "pa"}, nil},
		{"locale", so.ContentFilter{Locale: "de"}, []*so.ContentItem{items[4], items[2], items[0]}},
		{"q in body, any case", so.ContentFilter{Q: "mixed case NEEDLE"}, []*so.ContentItem{items[3]}},
		{"q percent is literal", so.ContentFilter{Q: "100%"}, []*so.ContentItem{items[3]}},
		{"q underscore is literal", so.ContentFilter{Q: "r_d"}, []*so.ContentItem{items[3]}},
		{"q percent matches nothing else", so.ContentFilter{Q: "%"}, []*so.ContentItem{items[3]}},
		{"combined", so.ContentFilter{Kind: so.ContentVideo, Tag: "setup", Q: "item 4"}, []*so.ContentItem{items[4]}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.f.Limit = 100
			got, err := db.ListContentItems(context.Background(), "p1", c.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), ids(c.want)) {
				t.Fatalf("got %v, want %v", ids(got), ids(c.want))
			}
		})
	}
}

func testContentPaginate(t *testing.T, db DB) {
	ctx := context.Background()
	items := createN(t, db, "p1", 7, nil)
	svc := &so.ContentService{Store: db}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		got, next, err := svc.List(ctx, "p1", so.ContentFilter{Limit: 3}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ids(got)...)
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = next
	}
	var want []string
	for i := len(items) - 1; i >= 0; i-- {
		want = append(want, items[i].ID)
	}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("pages gave %v, want %v", seen, want)
	}
}

func testContentUpdate(t *testing.T, db DB) {
	ctx := context.Background()
	svc := &so.ContentService{Store: db}
	item := createN(t, db, "p1", 1, nil)[0]
	v, title, tags := 1, "new "+hostile, []string{"x"}
	updated, err := svc.Update(ctx, "p1", item.ID, so.ContentPatch{Version: &v, Title: &title, Tags: &tags})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != 2 || updated.Body != item.Body {
		t.Fatalf("update = %+v", updated)
	}
	got, err := db.FindContentItem(ctx, "p1", item.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertSameItem(t, got, updated)

	stale := *updated
	stale.Version = 2
	if err := db.UpdateContentItem(ctx, &stale, 1); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("stale version: %v, want conflict", err)
	}
	ghost := *updated
	ghost.ID = so.NewID()
	if err := db.UpdateContentItem(ctx, &ghost, 2); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("missing item: %v, want not_found", err)
	}
	if got, err = db.FindContentItem(ctx, "p1", item.ID); err != nil {
		t.Fatal(err)
	}
	assertSameItem(t, got, updated)
}

// testContentUpdateRace lets many writers race on one version: exactly one wins.
func testContentUpdateRace(t *testing.T, db DB) {
	ctx := context.Background()
	item := createN(t, db, "p1", 1, nil)[0]
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			next := *item
			next.Title = fmt.Sprintf("writer %d", i)
			next.Version = 2
			errs[i] = db.UpdateContentItem(ctx, &next, 1)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch so.ErrorCode(err) {
		case "":
			wins++
		case so.ECONFLICT:
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won the same version, want exactly 1", wins)
	}
}

func testContentDelete(t *testing.T, db DB) {
	ctx := context.Background()
	items := createN(t, db, "p1", 2, nil)
	if err := db.DeleteContentItem(ctx, "p1", items[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindContentItem(ctx, "p1", items[0].ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("deleted item still found: %v", err)
	}
	if err := db.DeleteContentItem(ctx, "p1", items[0].ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("second delete: %v, want not_found", err)
	}
	if _, err := db.FindContentItem(ctx, "p1", items[1].ID); err != nil {
		t.Fatalf("sibling lost: %v", err)
	}
}

func testContentPublishDue(t *testing.T, db DB) {
	ctx := context.Background()
	now := so.Now()
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	items := createN(t, db, "p1", 3, func(i int, in *so.ContentInput) {
		in.Status = so.StatusScheduled
		in.ScheduledAt = &[]time.Time{past, future, past}[i]
	})
	other := createN(t, db, "p2", 1, func(_ int, in *so.ContentInput) { in.Status, in.ScheduledAt = so.StatusScheduled, &past })[0]

	n, err := db.PublishDueContentItems(ctx, now)
	if err != nil || n != 3 {
		t.Fatalf("PublishDue = %d, %v; want 3 across projects", n, err)
	}
	for i, want := range []so.ContentStatus{so.StatusPublished, so.StatusScheduled, so.StatusPublished} {
		got, err := db.FindContentItem(ctx, "p1", items[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != want {
			t.Fatalf("item %d status %s, want %s", i, got.Status, want)
		}
		if want == so.StatusPublished && (got.PublishedAt == nil || got.Version != 2 || !got.UpdatedAt.Equal(now)) {
			t.Fatalf("published item %d = %+v, want published_at set and version 2", i, got)
		}
	}
	if got, err := db.FindContentItem(ctx, "p2", other.ID); err != nil || got.Status != so.StatusPublished {
		t.Fatalf("other project's item not published: %+v, %v", got, err)
	}
	if n, err := db.PublishDueContentItems(ctx, now); err != nil || n != 0 {
		t.Fatalf("second PublishDue = %d, %v; want 0", n, err)
	}
}

func testContentIsolation(t *testing.T, db DB) {
	ctx := context.Background()
	item := createN(t, db, "p1", 1, nil)[0]
	if _, err := db.FindContentItem(ctx, "p2", item.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("p2 sees p1's item: %v", err)
	}
	if got, err := db.ListContentItems(ctx, "p2", so.ContentFilter{Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("p2 lists %d items, %v", len(got), err)
	}
	if err := db.DeleteContentItem(ctx, "p2", item.ID); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("p2 deletes p1's item: %v", err)
	}
	next := *item
	next.ProjectID, next.Version = "p2", 2
	if err := db.UpdateContentItem(ctx, &next, 1); so.ErrorCode(err) != so.ENOTFOUND {
		t.Fatalf("p2 updates p1's item: %v", err)
	}
}

func testContentMissingProject(t *testing.T, db DB) {
	item := newItem(t, "nobody", "orphan")
	if err := db.CreateContentItem(context.Background(), item); err == nil {
		t.Fatal("item for a missing project was stored")
	}
}
