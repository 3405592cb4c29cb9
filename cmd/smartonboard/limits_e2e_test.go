package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// eventsCall posts one event batch with headers set by the caller.
func (in *instance) eventsCall(key, body string, header ...string) response {
	in.t.Helper()
	return in.request("POST", "/v1/events", key, "application/json", strings.NewReader(body), header...)
}

func batchOf(id, user string) string {
	return `{"events":[` + eventJSON(id, "click", user, "", time.Now()) + `]}`
}

// checkLimited holds a refusal to the rate-limit contract: 429, rate_limited,
// Retry-After and the RateLimit headers naming the limit.
func checkLimited(t *testing.T, r response, limit int) {
	t.Helper()
	if r.status != 429 || r.apiErr(t).Code != "rate_limited" {
		t.Fatalf("want 429 rate_limited, got %d %s", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("RateLimit-Limit %q, want %d", got, limit)
	}
	if got := r.header.Get("RateLimit-Remaining"); got != "0" {
		t.Errorf("RateLimit-Remaining %q, want 0", got)
	}
	if s, err := strconv.Atoi(r.header.Get("RateLimit-Reset")); err != nil || s < 1 || s > 60 {
		t.Errorf("RateLimit-Reset %q", r.header.Get("RateLimit-Reset"))
	}
}

// TestEventLimitPerUser: one user's flood is refused with 429 and stores
// nothing, while other users go on; a project can lift the limit.
func TestEventLimitPerUser(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.RateEventsPerUser = 3
		in := start(t, cfg)
		for i := range 3 {
			r := in.eventsCall(in.public, batchOf("e"+strconv.Itoa(i), "hog"))
			if r.status != 200 || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
				t.Fatalf("request %d: %d %s %v", i, r.status, r.body, r.header)
			}
		}
		checkLimited(t, in.eventsCall(in.public, batchOf("refused", "hog")), 3)
		if r := in.eventsCall(in.public, batchOf("other", "someone-else")); r.status != 200 {
			t.Errorf("another user: %d %s", r.status, r.body)
		}
		// A batch naming the hog among others is refused whole.
		mixed := `{"events":[` + eventJSON("m1", "click", "bystander", "", time.Now()) + `,` + eventJSON("m2", "click", "hog", "", time.Now()) + `]}`
		checkLimited(t, in.eventsCall(in.public, mixed), 3)

		if r := in.admin("PATCH", "/v1/project", `{"settings":{"limits":{"events_per_user":0}}}`); r.status != 200 {
			t.Fatalf("lift the limit: %d %s", r.status, r.body)
		}
		r := in.eventsCall(in.public, batchOf("refused", "hog"))
		got := decode[struct{ Accepted, Duplicates int }](t, r, 200)
		if got.Accepted != 1 || got.Duplicates != 0 {
			t.Errorf("the refused event was stored after all: %s", r.body)
		}
		if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(cfg.RatePerIP) {
			t.Errorf("RateLimit-Limit %q with the user limit off, want the address limit", got)
		}
	})
}

// TestAddressLimitBehindProxy counts per client address: X-Forwarded-For is
// believed only from a trusted proxy, so a client cannot dodge the limit by
// writing the header itself.
func TestAddressLimitBehindProxy(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite")
	cfg.RatePerIP, cfg.RateEventsPerUser = 4, 0
	direct := start(t, cfg)
	for i := range 4 {
		if r := direct.eventsCall(direct.public, batchOf("d"+strconv.Itoa(i), "u"), "X-Forwarded-For", "198.51.100."+strconv.Itoa(i)); r.status != 200 {
			t.Fatalf("direct %d: %d %s", i, r.status, r.body)
		}
	}
	checkLimited(t, direct.eventsCall(direct.public, batchOf("d9", "u"), "X-Forwarded-For", "198.51.100.99"), 4)

	cfg = testConfig(t, "sqlite")
	cfg.RatePerIP, cfg.RateEventsPerUser, cfg.TrustedProxies = 4, 0, []string{"127.0.0.1/32"}
	proxied := start(t, cfg)
	for i := range 4 {
		if r := proxied.eventsCall(proxied.public, batchOf("p"+strconv.Itoa(i), "u"), "X-Forwarded-For", "198.51.100.1"); r.status != 200 {
			t.Fatalf("proxied %d: %d %s", i, r.status, r.body)
		}
	}
	checkLimited(t, proxied.eventsCall(proxied.public, batchOf("p9", "u"), "X-Forwarded-For", "198.51.100.1"), 4)
	if r := proxied.eventsCall(proxied.public, batchOf("q1", "u"), "X-Forwarded-For", "198.51.100.2"); r.status != 200 {
		t.Errorf("another client behind the proxy: %d %s", r.status, r.body)
	}
	// Hops the client wrote left of the proxy's entry change nothing.
	checkLimited(t, proxied.eventsCall(proxied.public, batchOf("p10", "u"), "X-Forwarded-For", "203.0.113.7, 198.51.100.1"), 4)
}

// TestKeyLimits: a project's public-key quota, and the admin rate per key.
func TestKeyLimits(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite")
	cfg.RateAdmin = 3
	in := start(t, cfg)
	if r := in.admin("PATCH", "/v1/project", `{"settings":{"limits":{"public_key":2}}}`); r.status != 200 {
		t.Fatalf("quota: %d %s", r.status, r.body)
	}
	for i := range 2 {
		if r := in.eventsCall(in.public, batchOf("k"+strconv.Itoa(i), "u"+strconv.Itoa(i))); r.status != 200 {
			t.Fatalf("public %d: %d %s", i, r.status, r.body)
		}
	}
	checkLimited(t, in.eventsCall(in.public, batchOf("k9", "u9")), 2)
	for i := range 2 { // the PATCH above was the first of three
		if r := in.admin("GET", "/v1/flows", ""); r.status != 200 {
			t.Fatalf("admin %d: %d %s", i, r.status, r.body)
		}
	}
	checkLimited(t, in.admin("GET", "/v1/flows", ""), 3)
}
