package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// hostileTitle mixes SQL and HTML metacharacters, quotes, escapes and emoji.
const hostileTitle = `'; DROP TABLE content_items; -- <img src=x onerror=alert(1)> "q" \n 😀 %_ $1 ?`

// TestBadInput sends every kind of bad request and checks the status, the error
// code and field, and that nothing was written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		seed := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"task","title":"seed"}`), 201)
		itemPath := "/v1/content-items/" + seed.ID

		cases := []struct {
			name, method, path, key, contentType, body string
			status                                     int
			code, field                                string
		}{
			{"malformed JSON", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task",`, 400, "invalid", ""},
			{"not an object", "POST", "/v1/content-items", "secret", "application/json", `["kind"]`, 400, "invalid", ""},
			{"empty body", "POST", "/v1/content-items", "secret", "application/json", ``, 400, "invalid", ""},
			{"two values", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a"}{}`, 400, "invalid", ""},
			{"wrong type", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":5}`, 400, "invalid", "title"},
			{"wrong type in array", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","tags":[1]}`, 400, "invalid", "tags"},
			{"unknown field", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","owner":"me"}`, 400, "invalid", "owner"},
			{"server field", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","version":7}`, 400, "invalid", "version"},
			{"invalid kind", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"podcast","title":"a"}`, 400, "invalid", "kind"},
			{"invalid status", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","status":"live"}`, 400, "invalid", "status"},
			{"missing title", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task"}`, 400, "invalid", "title"},
			{"title too long", "POST", "/v1/content-items", "secret", "application/json", fmt.Sprintf(`{"kind":"task","title":%q}`, strings.Repeat("é", 201)), 400, "invalid", "title"},
			{"body too long", "POST", "/v1/content-items", "secret", "application/json", fmt.Sprintf(`{"kind":"task","title":"a","body":%q}`, strings.Repeat("b", 100*1024+1)), 400, "invalid", "body"},
			{"bad locale", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","locale":"english please"}`, 400, "invalid", "locale"},
			{"scheduled without time", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","status":"scheduled"}`, 400, "invalid", "scheduled_at"},
			{"bad timestamp", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","status":"scheduled","scheduled_at":"tomorrow"}`, 400, "invalid", ""},
			{"metadata not object", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","metadata":[1]}`, 400, "invalid", "metadata"},
			{"NUL in title", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a\u0000b"}`, 400, "invalid", "title"},
			{"body over 1 MiB", "POST", "/v1/content-items", "secret", "application/json", `{"kind":"task","title":"a","body":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large", ""},
			{"wrong content type", "POST", "/v1/content-items", "secret", "text/plain", `{"kind":"task","title":"a"}`, 415, "unsupported_media_type", ""},
			{"no content type", "POST", "/v1/content-items", "secret", "", `{"kind":"task","title":"a"}`, 415, "unsupported_media_type", ""},
			{"no key", "POST", "/v1/content-items", "", "application/json", `{"kind":"task","title":"a"}`, 401, "unauthorized", ""},
			{"wrong key", "POST", "/v1/content-items", "sk_" + strings.Repeat("x", 40), "application/json", `{"kind":"task","title":"a"}`, 401, "unauthorized", ""},
			{"garbage key", "GET", "/v1/content-items", "hunter2", "", ``, 401, "unauthorized", ""},
			{"public key on admin route", "POST", "/v1/content-items", "public", "application/json", `{"kind":"task","title":"a"}`, 403, "forbidden", ""},
			{"public key reads content", "GET", itemPath, "public", "", ``, 403, "forbidden", ""},
			{"stale version", "PATCH", itemPath, "secret", "application/json", `{"version":0,"title":"b"}`, 409, "conflict", "version"},
			{"patch without version", "PATCH", itemPath, "secret", "application/json", `{"title":"b"}`, 400, "invalid", "version"},
			{"patch version as string", "PATCH", itemPath, "secret", "application/json", `{"version":"1","title":"b"}`, 400, "invalid", "version"},
			{"patch invalid enum", "PATCH", itemPath, "secret", "application/json", `{"version":1,"complexity":"hard"}`, 400, "invalid", "complexity"},
			{"patch unknown field", "PATCH", itemPath, "secret", "application/json", `{"version":1,"id":"x"}`, 400, "invalid", "id"},
			{"patch missing item", "PATCH", "/v1/content-items/nope", "secret", "application/json", `{"version":1}`, 404, "not_found", ""},
			{"unknown query parameter", "GET", "/v1/content-items?sort=title", "secret", "", ``, 400, "invalid", "sort"},
			{"limit too large", "GET", "/v1/content-items?limit=501", "secret", "", ``, 400, "invalid", "limit"},
			{"limit not a number", "GET", "/v1/content-items?limit=ten", "secret", "", ``, 400, "invalid", "limit"},
			{"bad cursor", "GET", "/v1/content-items?cursor=%%%", "secret", "", ``, 400, "invalid", ""},
			{"bad status filter", "GET", "/v1/content-items?status=live", "secret", "", ``, 400, "invalid", "status"},
			{"unknown route", "GET", "/v1/nothing-here", "secret", "", ``, 404, "not_found", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := map[string]string{"secret": in.secret, "public": in.public}[c.key]
				if key == "" {
					key = c.key
				}
				r := in.request(c.method, c.path, key, c.contentType, strings.NewReader(c.body))
				e := r.apiErr(t)
				if r.status != c.status || e.Code != c.code || (c.field != "" && e.Field != c.field) {
					t.Fatalf("got %d %s field %q, want %d %s field %q\n%s", r.status, e.Code, e.Field, c.status, c.code, c.field, truncate(r.body))
				}
			})
		}

		// Nothing above wrote anything: only the seed exists, unchanged.
		list := decode[itemList](t, in.admin("GET", "/v1/content-items", ""), 200)
		if len(list.Items) != 1 || list.Items[0].Version != 1 || list.Items[0].Title != "seed" {
			t.Fatalf("bad requests changed the data: %+v", list.Items)
		}
	})
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestHostileTextRoundTrips stores SQL and HTML metacharacters and emoji and gets
// them back byte for byte, through create, get, list, search and update.
func TestHostileTextRoundTrips(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		body, err := json.Marshal(map[string]any{"kind": "help", "title": hostileTitle, "body": hostileTitle + "\n\x01\t",
			"tags": []string{"<b>", "'", "😀"}, "category": `"; --`, "metadata": map[string]any{"k<'>": "v\"😀"}})
		if err != nil {
			t.Fatal(err)
		}
		r := in.admin("POST", "/v1/content-items", string(body))
		created := decode[item](t, r, 201)
		if created.Title != hostileTitle || created.Body != hostileTitle+"\n\x01\t" {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		got := decode[item](t, in.admin("GET", "/v1/content-items/"+created.ID, ""), 200)
		if got.Title != hostileTitle || strings.Join(got.Tags, "|") != "<b>|'|😀" || got.Metadata["k<'>"] != "v\"😀" {
			t.Fatalf("read back differs: %+v", got)
		}
		found := decode[itemList](t, in.admin("GET", "/v1/content-items?q="+urlQuery("DROP TABLE content_items; --"), ""), 200)
		if len(found.Items) != 1 || found.Items[0].Title != hostileTitle {
			t.Fatalf("search for hostile text: %+v", found.Items)
		}
		tagged := decode[itemList](t, in.admin("GET", "/v1/content-items?tag="+urlQuery("'"), ""), 200)
		if len(tagged.Items) != 1 || tagged.Items[0].ID != created.ID {
			t.Fatalf("tag filter with a quote: %+v", tagged.Items)
		}
	})
}
