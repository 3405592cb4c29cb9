package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/stream"
)

// secondProject creates another tenant directly in the store and returns its
// public key.
func secondProject(t *testing.T, in *instance, id string) string {
	t.Helper()
	ctx := context.Background()
	if err := in.m.db.CreateProject(ctx, &so.Project{ID: id, Name: "Second project", CreatedAt: so.Now()}); err != nil {
		t.Fatalf("create project: %v", err)
	}
	key := so.GenerateKey(so.KeyPublic)
	if err := in.m.db.CreateAPIKey(ctx, so.NewAPIKey(id, so.KeyPublic, "web", key)); err != nil {
		t.Fatalf("create key: %v", err)
	}
	return key
}

// connected opens a stream and waits for its connected event.
func connected(t *testing.T, in *instance, path, key string, h http.Header) <-chan sseEvent {
	t.Helper()
	r, events := dialStream(t, in, path, key, h)
	if r.status != 200 {
		t.Fatalf("stream %s: %d %v %s", path, r.status, r.header, r.body)
	}
	waitFor(t, events, "connected", func(string) bool { return true })
	return events
}

// wantRefused checks that a stream is refused with status and code, and a
// Retry-After.
func wantRefused(t *testing.T, in *instance, path, key string, h http.Header, status int, code string) {
	t.Helper()
	r, _ := dialStream(t, in, path, key, h)
	if r.status != status || r.apiErr(t).Code != code || r.header.Get("Retry-After") == "" {
		t.Fatalf("stream %s: %d (Retry-After %q) %s, want %d %s with Retry-After", path, r.status, r.header.Get("Retry-After"), r.body, status, code)
	}
}

// TestStreamCapPerProject: one project's public key filling its cap of user
// streams gets 429, while that project's admin stream and another project's
// user streams still open.
func TestStreamCapPerProject(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.MaxStreamsPerProject = 20
		cfg.MaxStreams = 25
		in := start(t, cfg)
		for i := range cfg.MaxStreamsPerProject {
			connected(t, in, fmt.Sprintf("/v1/stream?user_id=hog-%d", i), in.public, nil)
		}
		wantRefused(t, in, "/v1/stream?user_id=hog-20", in.public, nil, http.StatusTooManyRequests, so.ERATELIMITED)
		connected(t, in, "/v1/analytics/stream", in.secret, nil)
		connected(t, in, "/v1/stream?user_id=someone", secondProject(t, in, "second"), nil)
	})
}

// TestStreamReserveForAdmins: with the instance's cap filled by public-key
// streams (the review's 20 hogs), the admin's analytics stream still opens.
func TestStreamReserveForAdmins(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.MaxStreams = 20
		in := start(t, cfg)
		public := cfg.MaxStreams - stream.DefaultReserved(cfg.MaxStreams)
		for i := range public {
			connected(t, in, fmt.Sprintf("/v1/stream?user_id=hog-%d", i), in.public, nil)
		}
		r, _ := dialStream(t, in, "/v1/stream?user_id=hog-last", in.public, nil)
		if r.status != http.StatusServiceUnavailable || r.apiErr(t).Code != so.EUNAVAILABLE {
			t.Fatalf("a public stream into the reserve: %d %s", r.status, r.body)
		}
		for range stream.DefaultReserved(cfg.MaxStreams) {
			connected(t, in, "/v1/analytics/stream", in.secret, nil)
		}
	})
}

// TestStreamCapPerIP counts public-key streams per client address, the one a
// trusted proxy names: a visitor at its cap gets 429, other visitors behind
// the same proxy and secret-key streams from the same address still open.
func TestStreamCapPerIP(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.MaxStreamsPerIP = 3
		cfg.TrustedProxies = []string{"127.0.0.1/32"}
		in := start(t, cfg)
		from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
		for i := range cfg.MaxStreamsPerIP {
			connected(t, in, fmt.Sprintf("/v1/stream?user_id=tab-%d", i), in.public, from("203.0.113.7"))
		}
		wantRefused(t, in, "/v1/stream?user_id=tab-3", in.public, from("203.0.113.7"), http.StatusTooManyRequests, so.ERATELIMITED)
		connected(t, in, "/v1/stream?user_id=neighbour", in.public, from("198.51.100.9"))
		connected(t, in, "/v1/analytics/stream", in.secret, from("203.0.113.7"))
		for i := range cfg.MaxStreamsPerIP { // one IPv6 subscriber is one /64
			connected(t, in, fmt.Sprintf("/v1/stream?user_id=v6-%d", i), in.public, from(fmt.Sprintf("2001:db8:1:2::%x", i+1)))
		}
		wantRefused(t, in, "/v1/stream?user_id=v6-3", in.public, from("2001:db8:1:2:ffff::1"), http.StatusTooManyRequests, so.ERATELIMITED)
	})
}

// TestStreamIDsPerProject: one project's traffic does not move another
// project's stream IDs, so a tenant cannot watch another's activity through
// them, and the quiet project still resumes without a gap.
func TestStreamIDsPerProject(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		second := secondProject(t, in, "second")
		head := func() string {
			t.Helper()
			r, events := dialStream(t, in, "/v1/stream?user_id=watcher", second, nil)
			if r.status != 200 {
				t.Fatalf("stream: %d %s", r.status, r.body)
			}
			return waitFor(t, events, "connected", anything).id
		}
		before := head()
		busy := connected(t, in, "/v1/stream?user_id=u1", in.public, nil)
		for _, flowUser := range []string{"u1", "u2", "u3"} {
			if r := in.publicCall("POST", "/v1/users/"+flowUser+"/journeys/getting-started", ""); r.status != 201 {
				t.Fatalf("start a journey: %d %s", r.status, r.body)
			}
		}
		waitFor(t, busy, "next_step", anything) // the busy project has published
		if after := head(); after != before {
			t.Fatalf("the quiet project's stream ID moved from %s to %s with another project's traffic", before, after)
		}
		r, events := dialStream(t, in, "/v1/stream?user_id=watcher", second, http.Header{"Last-Event-ID": {before}})
		if r.status != 200 {
			t.Fatalf("resume: %d %s", r.status, r.body)
		}
		if c := waitFor(t, events, "connected", anything); c.data != `{"gap":false,"resumed":true}` {
			t.Fatalf("resuming the quiet project: %s", c.data)
		}
	})
}

func anything(string) bool { return true }
