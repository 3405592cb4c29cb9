package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

type item struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Body        string         `json:"body"`
	Status      string         `json:"status"`
	Tags        []string       `json:"tags"`
	Version     int            `json:"version"`
	Metadata    map[string]any `json:"metadata"`
	PublishedAt *string        `json:"published_at"`
	CreatedAt   string         `json:"created_at"`
}

type itemList struct {
	Items      []item  `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestContentLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))

		r := in.admin("POST", "/v1/content-items", `{"kind":"article","title":"Connect your account","body":"# Step 1","tags":["setup"],"category":"basics","metadata":{"a":1}}`)
		created := decode[item](t, r, 201)
		if created.ID == "" || created.Version != 1 || created.Status != "draft" || r.header.Get("Location") != "/v1/content-items/"+created.ID {
			t.Fatalf("created = %+v, Location %q", created, r.header.Get("Location"))
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", created.CreatedAt); err != nil {
			t.Fatalf("created_at %q is not RFC 3339 with milliseconds in UTC", created.CreatedAt)
		}

		r = in.admin("GET", "/v1/content-items/"+created.ID, "")
		if got := decode[item](t, r, 200); got.Title != "Connect your account" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}

		for range 3 {
			decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"video","title":"Tour","status":"published","locale":"de-CH"}`), 201)
		}
		r = in.admin("GET", "/v1/content-items?kind=video&limit=2", "")
		page := decode[itemList](t, r, 200)
		if len(page.Items) != 2 || page.NextCursor == nil {
			t.Fatalf("list page 1: %d %s", r.status, r.body)
		}
		r = in.admin("GET", "/v1/content-items?kind=video&limit=2&cursor="+url.QueryEscape(*page.NextCursor), "")
		if page2 := decode[itemList](t, r, 200); len(page2.Items) != 1 || page2.NextCursor != nil {
			t.Fatalf("list page 2: %s", r.body)
		}
		r = in.admin("GET", "/v1/content-items?tag=setup&q=STEP", "")
		if filtered := decode[itemList](t, r, 200); len(filtered.Items) != 1 || filtered.Items[0].ID != created.ID {
			t.Fatalf("filtered list: %s", r.body)
		}

		r = in.admin("PATCH", "/v1/content-items/"+created.ID, `{"version":1,"title":"Connect it"}`)
		updated := decode[item](t, r, 200)
		if updated.Version != 2 || updated.Title != "Connect it" || updated.Body != "# Step 1" {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		if r = in.admin("PATCH", "/v1/content-items/"+created.ID, `{"version":1,"title":"lost update"}`); r.status != 409 {
			t.Fatalf("stale patch: %d %s", r.status, r.body)
		}

		// Scheduled in the past: the background ticker publishes it.
		due := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
		r = in.admin("PATCH", "/v1/content-items/"+created.ID, fmt.Sprintf(`{"version":2,"status":"scheduled","scheduled_at":%q}`, due))
		if r.status != 200 {
			t.Fatalf("schedule: %d %s", r.status, r.body)
		}
		got := decode[item](t, in.admin("GET", "/v1/content-items/"+created.ID, ""), 200)
		for deadline := time.Now().Add(hangGuard); got.Status != "published"; {
			if time.Now().After(deadline) {
				t.Fatalf("scheduled item was not published by the ticker: %+v", got)
			}
			time.Sleep(20 * time.Millisecond)
			got = decode[item](t, in.admin("GET", "/v1/content-items/"+created.ID, ""), 200)
		}
		if got.PublishedAt == nil || got.Version != 4 {
			t.Fatalf("published item = %+v, want published_at and version 4", got)
		}

		if r = in.admin("DELETE", "/v1/content-items/"+created.ID, ""); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r = in.admin("GET", "/v1/content-items/"+created.ID, ""); r.status != 404 {
			t.Fatalf("get after delete: %d %s", r.status, r.body)
		}
		if r = in.admin("DELETE", "/v1/content-items/"+created.ID, ""); r.status != 404 {
			t.Fatalf("second delete: %d", r.status)
		}
	})
}

func TestHealthAndStatus(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		if r := in.request("GET", "/healthz", "", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
			t.Fatalf("healthz: %d %s", r.status, r.body)
		}
		type readiness struct {
			Status string
			Checks map[string]struct{ Status string }
		}
		r := in.request("GET", "/readyz", "", "", nil)
		if ready := decode[readiness](t, r, 200); ready.Status != "ok" || ready.Checks["database"].Status != "ok" || ready.Checks["migrations"].Status != "ok" {
			t.Fatalf("readyz: %d %s", r.status, r.body)
		}
		type serverStatus struct {
			Version, Commit, Database string
			UptimeS                   *int64 `json:"uptime_s"`
		}
		if status := decode[serverStatus](t, in.request("GET", "/v1/status", "", "", nil), 200); status.Database != engine || status.Version == "" || status.UptimeS == nil {
			t.Fatalf("status = %+v", status)
		}
		if r := in.request("GET", "/v1/openapi.json", "", "", nil); r.status != 200 || !strings.Contains(string(r.body), `"openapi"`) {
			t.Fatalf("openapi: %d", r.status)
		}
		decode[itemList](t, in.admin("GET", "/v1/content-items", ""), 200)
		metrics := in.request("GET", "/metrics", "", "", nil)
		if metrics.status != 200 {
			t.Fatalf("metrics: %d %s", metrics.status, truncate(metrics.body))
		}
		m := string(metrics.body)
		for _, want := range []string{
			`smartonboard_http_requests_total{method="GET",route="GET /v1/content-items",status="200"} 1`,
			`smartonboard_http_request_duration_seconds_bucket{method="GET",route="GET /v1/content-items",status="200"`,
			`smartonboard_db_connections{`,
			`smartonboard_ingest_commit_seconds_bucket`,
			"smartonboard_ingest_pending_events 0",
			"smartonboard_streams_open 0",
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if !strings.Contains(in.stdout.String(), in.secret) || !strings.Contains(in.stdout.String(), in.url) {
			t.Errorf("welcome text lacks the URL or the generated key:\n%s", in.stdout)
		}
	})
}

func TestReadyzFailsWhenDatabaseGone(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	if r := in.publicCall("GET", "/v1/users/u/next-step?flow=none", ""); r.status != 404 { // the public key is now cached
		t.Fatalf("next step of a missing flow: %d %s", r.status, r.body)
	}
	in.m.closeDB()
	in.m.closeDB = nil
	r := in.request("GET", "/readyz", "", "", nil)
	if r.status != 503 || !strings.Contains(string(r.body), `"database":{"status":"error"`) {
		t.Fatalf("readyz with a closed database: %d %s", r.status, r.body)
	}
	// Events cannot be stored: the client is told to retry, never handed a 200.
	r = in.request("POST", "/v1/events", in.public, "application/json",
		strings.NewReader(`{"events":[`+eventJSON("x", "click", "u", "", time.Now())+`]}`))
	if e := r.apiErr(t); r.status != 503 || e.Code != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("events with a closed database: %d %v %s", r.status, r.header, r.body)
	}
	// A key this instance has not seen cannot be checked either: 503, not 500.
	r = in.request("GET", "/v1/content-items", "sk_"+strings.Repeat("n", 40), "", nil)
	if e := r.apiErr(t); r.status != 503 || e.Code != "unavailable" {
		t.Fatalf("auth with a closed database: %d %s", r.status, r.body)
	}
}
