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
