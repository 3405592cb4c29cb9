package smartonboard_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func TestNewContentItemDefaults(t *testing.T) {
	t.Parallel()
	now := so.Now()
	item, err := so.NewContentItem("p", so.ContentInput{Kind: so.ContentTask, Title: "t", Metadata: json.RawMessage(`{ "a" : [1, 2] }`)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if item.Status != so.StatusDraft || item.Complexity != so.ComplexityStandard || item.Locale != "en" ||
		item.Version != 1 || item.Tags == nil || string(item.Metadata) != `{"a":[1,2]}` || item.PublishedAt != nil {
		t.Fatalf("defaults not applied: %+v", item)
	}
	published, err := so.NewContentItem("p", so.ContentInput{Kind: so.ContentTask, Title: "t", Status: so.StatusPublished}, now)
	if err != nil || published.PublishedAt == nil || !published.PublishedAt.Equal(now) {
		t.Fatalf("published item without published_at: %+v", published)
	}
}

func TestContentValidation(t *testing.T) {
	t.Parallel()
	at := time.Now()
	cases := map[string]struct {
		in    so.ContentInput
		field string
	}{
		"no kind":            {so.ContentInput{Title: "t"}, "kind"},
		"bad kind":           {so.ContentInput{Kind: "memo", Title: "t"}, "kind"},
		"blank title":        {so.ContentInput{Kind: "task", Title: "  "}, "title"},
		"long title":         {so.ContentInput{Kind: "task", Title: strings.Repeat("x", 201)}, "title"},
		"long body":          {so.ContentInput{Kind: "task", Title: "t", Body: strings.Repeat("x", so.MaxBodyBytes+1)}, "body"},
		"NUL body":           {so.ContentInput{Kind: "task", Title: "t", Body: "a\x00"}, "body"},
		"bad status":         {so.ContentInput{Kind: "task", Title: "t", Status: "live"}, "status"},
		"too many tags":      {so.ContentInput{Kind: "task", Title: "t", Tags: make([]string, so.MaxTags+1)}, "tags"},
		"empty tag":          {so.ContentInput{Kind: "task", Title: "t", Tags: []string{"a", ""}}, "tags[1]"},
		"bad locale":         {so.ContentInput{Kind: "task", Title: "t", Locale: "xx_YY_ZZ!"}, "locale"},
		"bad complexity":     {so.ContentInput{Kind: "task", Title: "t", Complexity: "hard"}, "complexity"},
		"scheduled, no time": {so.ContentInput{Kind: "task", Title: "t", Status: so.StatusScheduled}, "scheduled_at"},
		"metadata array":     {so.ContentInput{Kind: "task", Title: "t", Metadata: json.RawMessage(`[1]`)}, "metadata"},
		"metadata too big":   {so.ContentInput{Kind: "task", Title: "t", Metadata: json.RawMessage(`{"a":"` + strings.Repeat("x", so.MaxMetadataSize) + `"}`)}, "metadata"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := so.NewContentItem("p", c.in, so.Now())
			if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field {
				t.Fatalf("got %v (field %q), want invalid %s", err, so.ErrorField(err), c.field)
			}
		})
	}
	ok := so.ContentInput{Kind: "task", Title: strings.Repeat("é", 200), Locale: "pt-BR", Status: so.StatusScheduled, ScheduledAt: &at}
	if _, err := so.NewContentItem("p", ok, so.Now()); err != nil {
		t.Fatalf("valid input rejected: %v", err)
	}
}

func TestContentPatchApply(t *testing.T) {
	t.Parallel()
	now := so.Now()
	item, err := so.NewContentItem("p", so.ContentInput{Kind: so.ContentTask, Title: "old", Body: "keep", Tags: []string{"a"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	title, status, v := "new", so.StatusPublished, 1
	next, err := so.ContentPatch{Version: &v, Title: &title, Status: &status}.Apply(item, later)
	if err != nil {
		t.Fatal(err)
	}
	if next.Title != "new" || next.Body != "keep" || next.Version != 2 || !next.UpdatedAt.Equal(later) ||
		next.PublishedAt == nil || !next.PublishedAt.Equal(later) || item.Title != "old" {
		t.Fatalf("patch applied wrongly: %+v (original %+v)", next, item)
	}
	if _, err := (so.ContentPatch{Title: &title}).Apply(item, later); so.ErrorField(err) != "version" {
		t.Fatalf("patch without version: %v", err)
	}
	bad := so.ContentKind("memo")
	if _, err := (so.ContentPatch{Version: &v, Kind: &bad}).Apply(item, later); so.ErrorField(err) != "kind" {
		t.Fatalf("patch with a bad kind: %v", err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	id := so.NewID()
	got, err := so.DecodeCursor(so.EncodeCursor(id))
	if err != nil || got != id {
		t.Fatalf("cursor round trip: %q %v", got, err)
	}
	if _, err := so.DecodeCursor("%%%"); so.ErrorField(err) != "cursor" {
		t.Fatalf("garbage cursor: %v", err)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	sk, pk := so.GenerateKey(so.KeySecret), so.GenerateKey(so.KeyPublic)
	if so.ValidateKey(so.KeySecret, sk) != nil || so.ValidateKey(so.KeyPublic, pk) != nil {
		t.Fatal("generated keys do not validate")
	}
	if so.ValidateKey(so.KeySecret, pk) == nil || so.ValidateKey(so.KeySecret, "sk_short") == nil {
		t.Fatal("bad keys validate")
	}
	k := so.NewAPIKey("p", so.KeySecret, "n", sk)
	if strings.Contains(k.Hash, sk) || k.Prefix != sk[:11] || !k.Matches(sk) || k.Matches(pk) {
		t.Fatalf("stored key = %+v", k)
	}
	if sk == so.GenerateKey(so.KeySecret) {
		t.Fatal("keys repeat")
	}
}

func TestJSONObjectEncoding(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		`{"a":"ok 😀 \u00fc"}`:  true,
		`{"a":"\ud83d\ude00"}`: true, // a proper pair
		`{"a":"\\ud800"}`:      true, // an escaped backslash, not an escape
		`{"a":"\ud800"}`:       false,
		`{"a":"\ude00"}`:       false,
		`{"a":"\ud800x"}`:      false,
		`{"a":"\ud800\u0041"}`: false,
		"{\"a\":\"\xff\"}":     false,
		`{"a":"\u0000"}`:       false,
		`[1]`:                  false,
	} {
		err := so.CheckJSONObject("f", json.RawMessage(raw), 1024)
		if (err == nil) != ok {
			t.Errorf("CheckJSONObject(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestSimplerVariant(t *testing.T) {
	t.Parallel()
	item := func(id string, c so.Complexity, status so.ContentStatus, variantOf string) *so.ContentItem {
		return &so.ContentItem{ID: id, Kind: so.ContentHelp, Complexity: c, Status: status, VariantOf: variantOf, Locale: "en"}
	}
	advanced := item("base-a", so.ComplexityAdvanced, so.StatusPublished, "")
	standard := item("base-s", so.ComplexityStandard, so.StatusPublished, "")
	basic := item("base-b", so.ComplexityBasic, so.StatusPublished, "")
	vs := []*so.ContentItem{
		item("1", so.ComplexityStandard, so.StatusPublished, "base-a"),
		item("2", so.ComplexityBasic, so.StatusPublished, "base-a"),    // two levels below advanced
		item("3", so.ComplexityStandard, so.StatusDraft, "base-a"),     // not published
		item("4", so.ComplexityBasic, so.StatusPublished, "base-s"),    // standard's
		item("5", so.ComplexityStandard, so.StatusPublished, "base-s"), // not simpler
		item("6", so.ComplexityBasic, so.StatusArchived, "base-s"),
		nil,
	}
	for _, c := range []struct {
		base *so.ContentItem
		want string
	}{{advanced, "1"}, {standard, "4"}, {basic, ""}, {nil, ""}} {
		got := so.SimplerVariant(c.base, vs)
		if (got == nil) != (c.want == "") || got != nil && got.ID != c.want {
			t.Errorf("SimplerVariant(%v) = %v, want %q", c.base, got, c.want)
		}
	}
	if got := so.SimplerVariant(advanced, nil); got != nil {
		t.Fatalf("no variants gave %v", got)
	}
	other := item("7", so.ComplexityStandard, so.StatusPublished, "base-a")
	other.Kind = so.ContentArticle
	if got := so.SimplerVariant(advanced, []*so.ContentItem{other}); got != nil {
		t.Fatalf("a variant of another kind was chosen: %v", got)
	}
	// Of several, base's locale wins, then the newest (highest id).
	de, newer, newest := item("8", so.ComplexityStandard, so.StatusPublished, "base-a"), item("9", so.ComplexityStandard, so.StatusPublished, "base-a"), item("a", so.ComplexityStandard, so.StatusPublished, "base-a")
	de.Locale, newest.Locale = "de", "de"
	if got := so.SimplerVariant(advanced, []*so.ContentItem{de, newer, newest}); got != newer {
		t.Fatalf("chose %v, want the one in base's locale", got)
	}
	if got := so.SimplerVariant(advanced, []*so.ContentItem{de, newest}); got != newest {
		t.Fatalf("chose %v, want the newest", got)
	}
}

func TestVariantOfValidation(t *testing.T) {
	t.Parallel()
	now := so.Now()
	item, err := so.NewContentItem("p", so.ContentInput{Kind: so.ContentHelp, Title: "t", VariantOf: "other"}, now)
	if err != nil || item.VariantOf != "other" {
		t.Fatalf("NewContentItem = %+v, %v", item, err)
	}
	v := 1
	if _, err := (so.ContentPatch{Version: &v, VariantOf: &item.ID}).Apply(item, now); so.ErrorField(err) != "variant_of" {
		t.Fatalf("a variant of itself: %v, want invalid variant_of", err)
	}
	for _, bad := range []string{"a\x00", "\xff"} {
		if _, err := so.NewContentItem("p", so.ContentInput{Kind: so.ContentHelp, Title: "t", VariantOf: bad}, now); so.ErrorField(err) != "variant_of" {
			t.Fatalf("variant_of %q: %v, want invalid variant_of", bad, err)
		}
	}
	empty := ""
	next, err := (so.ContentPatch{Version: &v, VariantOf: &empty}).Apply(item, now)
	if err != nil || next.VariantOf != "" {
		t.Fatalf("clearing variant_of: %+v, %v", next, err)
	}
	raw, _ := json.Marshal(next)
	if strings.Contains(string(raw), "variant_of") {
		t.Fatalf("an item that is no variant renders variant_of: %s", raw)
	}
	raw, _ = json.Marshal(item)
	if !strings.Contains(string(raw), `"variant_of":"other"`) {
		t.Fatalf("a variant renders without variant_of: %s", raw)
	}
}
