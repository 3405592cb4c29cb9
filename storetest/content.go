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
		"Variants":    testContentVariants,
		"VariantRule": testContentVariantRules,
	}
	runAll(t, open, tests)
	t.Run("VariantsMigration", func(t *testing.T) {
		t.Parallel()
		testVariantsMigration(t, open)
	})
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

// variant creates an item through the service, so the variant rules apply.
func variant(t *testing.T, svc *so.ContentService, in so.ContentInput) *so.ContentItem {
	t.Helper()
	if in.Title == "" {
		in.Title = "variant " + hostile
	}
	item, err := svc.Create(context.Background(), "p1", in)
	if err != nil {
		t.Fatalf("create %+v: %v", in, err)
	}
	return item
}

// testContentVariants: variant_of round-trips, lists filter by it, and
// FindVariants returns the published variants of one item, newest first.
func testContentVariants(t *testing.T, db DB) {
	ctx := context.Background()
	svc := &so.ContentService{Store: db}
	base := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Status: so.StatusPublished})
	basic := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityBasic, Status: so.StatusPublished, VariantOf: base.ID})
	draft := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityBasic, VariantOf: base.ID})
	advanced := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityAdvanced, Status: so.StatusPublished, VariantOf: base.ID})
	other := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Status: so.StatusPublished})
	if _, err := svc.Create(ctx, "p2", so.ContentInput{Kind: so.ContentHelp, Title: "elsewhere", VariantOf: base.ID}); so.ErrorField(err) != "variant_of" {
		t.Fatalf("a variant of another project's item: %v, want invalid variant_of", err)
	}

	got, err := db.FindContentItem(ctx, "p1", basic.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertSameItem(t, got, basic)
	if got.VariantOf != base.ID {
		t.Fatalf("variant_of read back as %q, want %q", got.VariantOf, base.ID)
	}
	if got, err := db.FindContentItem(ctx, "p1", base.ID); err != nil || got.VariantOf != "" {
		t.Fatalf("base read back with variant_of %q, %v", got.VariantOf, err)
	}
	list, err := db.ListContentItems(ctx, "p1", so.ContentFilter{VariantOf: base.ID, Limit: 10})
	if err != nil || !reflect.DeepEqual(ids(list), ids([]*so.ContentItem{advanced, draft, basic})) {
		t.Fatalf("list of variants = %v, %v; want every status, newest first", ids(list), err)
	}
	variants, err := db.FindVariants(ctx, "p1", base.ID)
	if err != nil || !reflect.DeepEqual(ids(variants), ids([]*so.ContentItem{advanced, basic})) {
		t.Fatalf("FindVariants = %v, %v; want the published ones, newest first", ids(variants), err)
	}
	assertSameItem(t, variants[1], basic)
	for _, c := range []struct{ project, id string }{{"p1", other.ID}, {"p1", so.NewID()}, {"p2", base.ID}, {"p1", ""}} {
		if got, err := db.FindVariants(ctx, c.project, c.id); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("FindVariants(%s, %q) = %v, %v; want []", c.project, c.id, ids(got), err)
		}
	}
	if got := so.SimplerVariant(base, variants); got == nil || got.ID != basic.ID {
		t.Fatalf("SimplerVariant = %v, want the basic variant", got)
	}

	// Unlinking and relinking go through UpdateContentItem.
	empty, v := "", basic.Version
	unlinked, err := svc.Update(ctx, "p1", basic.ID, so.ContentPatch{Version: &v, VariantOf: &empty})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindContentItem(ctx, "p1", basic.ID); err != nil || got.VariantOf != "" {
		t.Fatalf("after unlinking, variant_of = %q, %v", got.VariantOf, err)
	}
	v = unlinked.Version
	relinked, err := svc.Update(ctx, "p1", basic.ID, so.ContentPatch{Version: &v, VariantOf: &base.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindContentItem(ctx, "p1", basic.ID); err != nil {
		t.Fatal(err)
	} else {
		assertSameItem(t, got, relinked)
	}
}

// testContentVariantRules: the service refuses every variant that is not one,
// naming the field, and a delete that would leave variants pointing at nothing.
func testContentVariantRules(t *testing.T, db DB) {
	ctx := context.Background()
	svc := &so.ContentService{Store: db}
	base := variant(t, svc, so.ContentInput{Kind: so.ContentHelp})
	video := variant(t, svc, so.ContentInput{Kind: so.ContentVideo})
	basic := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityBasic, VariantOf: base.ID})
	for _, c := range []struct {
		name  string
		in    so.ContentInput
		field string
	}{
		{"missing", so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityBasic, VariantOf: so.NewID()}, "variant_of"},
		{"other kind", so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityBasic, VariantOf: video.ID}, "variant_of"},
		{"same complexity", so.ContentInput{Kind: so.ContentHelp, VariantOf: base.ID}, "complexity"},
		{"a chain", so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityAdvanced, VariantOf: basic.ID}, "variant_of"},
		{"NUL", so.ContentInput{Kind: so.ContentHelp, VariantOf: "a\x00"}, "variant_of"},
	} {
		c.in.Title = c.name
		if _, err := svc.Create(ctx, "p1", c.in); so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field {
			t.Errorf("create %s: %v (field %q), want invalid %s", c.name, err, so.ErrorField(err), c.field)
		}
	}
	patch := func(item *so.ContentItem, p so.ContentPatch) error {
		t.Helper()
		current, err := db.FindContentItem(ctx, "p1", item.ID)
		if err != nil {
			t.Fatal(err)
		}
		p.Version = &current.Version
		_, err = svc.Update(ctx, "p1", item.ID, p)
		return err
	}
	standard, advanced, article := so.ComplexityStandard, so.ComplexityAdvanced, so.ContentArticle
	for _, c := range []struct {
		name  string
		item  *so.ContentItem
		p     so.ContentPatch
		field string
	}{
		{"itself", base, so.ContentPatch{VariantOf: &base.ID}, "variant_of"},
		{"a base becomes a variant", base, so.ContentPatch{VariantOf: &video.ID}, "variant_of"},
		{"a variant takes its base's complexity", basic, so.ContentPatch{Complexity: &standard}, "complexity"},
		{"a base takes its variant's complexity", base, so.ContentPatch{Complexity: &so.Complexities[0]}, "complexity"},
		{"a base changes kind", base, so.ContentPatch{Kind: &article}, "kind"},
		{"a variant changes kind", basic, so.ContentPatch{Kind: &article}, "variant_of"},
		{"a variant points at another kind", basic, so.ContentPatch{VariantOf: &video.ID}, "variant_of"},
	} {
		if err := patch(c.item, c.p); so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field {
			t.Errorf("patch %s: %v (field %q), want invalid %s", c.name, err, so.ErrorField(err), c.field)
		}
	}
	// Allowed: the base becomes harder, other fields change freely.
	title := "renamed"
	if err := patch(base, so.ContentPatch{Complexity: &advanced, Title: &title}); err != nil {
		t.Fatalf("a base changes to a complexity no variant has: %v", err)
	}
	if err := patch(basic, so.ContentPatch{Title: &title}); err != nil {
		t.Fatalf("editing a variant: %v", err)
	}

	if err := svc.Delete(ctx, "p1", base.ID); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("deleting an item with variants: %v, want conflict", err)
	}
	if err := svc.Delete(ctx, "p1", basic.ID); err != nil {
		t.Fatalf("deleting a variant: %v", err)
	}
	if err := svc.Delete(ctx, "p1", base.ID); err != nil {
		t.Fatalf("deleting an item whose variants are gone: %v", err)
	}
}

// testVariantsMigration rolls the variants migration back and forth over
// stored items: they stay, and read back as no variants after it comes back.
func testVariantsMigration(t *testing.T, open Opener) {
	ctx := context.Background()
	db := migrated(t, open)
	setupProjects(t, db, "p1")
	svc := &so.ContentService{Store: db}
	base := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Status: so.StatusPublished})
	v := variant(t, svc, so.ContentInput{Kind: so.ContentHelp, Complexity: so.ComplexityBasic, Status: so.StatusPublished, VariantOf: base.ID})
	RollBackTo(t, db.Migrator(), variantsVersion-1)
	if _, err := db.Migrator().Up(ctx); err != nil {
		t.Fatalf("Up after rolling the variants back: %v", err)
	}
	got, err := db.FindContentItem(ctx, "p1", v.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *v
	want.VariantOf = ""
	assertSameItem(t, got, &want)
	if variants, err := db.FindVariants(ctx, "p1", base.ID); err != nil || len(variants) != 0 {
		t.Fatalf("variants after down/up = %v, %v; want none", ids(variants), err)
	}
}

// variantsVersion is the migration that added content_items.variant_of.
const variantsVersion = 7
