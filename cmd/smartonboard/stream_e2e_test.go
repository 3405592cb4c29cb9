package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/stream"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, event, data string
}

// streamClient bounds the wait for a stream's headers only: a stream is read
// until it ends, and waitFor bounds each wait for an event.
var streamClient = &http.Client{Transport: func() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = hangGuard
	return tr
}()}

// openStream connects to an SSE endpoint and returns a channel of its events.
func openStream(t *testing.T, in *instance, path, key, lastID string) <-chan sseEvent {
	t.Helper()
	h := http.Header{}
	if lastID != "" {
		h.Set("Last-Event-ID", lastID)
	}
	r, events := dialStream(t, in, path, key, h)
	if r.status != 200 {
		t.Fatalf("stream %s: %d %v %s", path, r.status, r.header, r.body)
	}
	return events
}

// dialStream connects to an SSE endpoint with extra headers. A 200 event
// stream returns its events, read until the test ends; any other answer
// returns its body and no events.
func dialStream(t *testing.T, in *instance, path, key string, h http.Header) (response, <-chan sseEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", in.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Accel-Buffering") != "no" {
		defer resp.Body.Close()
		if r.body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		if r.status == 200 {
			r.status = 0 // a 200 that is not an event stream is no stream
		}
		return r, nil
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:]
			}
		}
	}()
	return r, out
}

// waitFor returns the first event named name whose data satisfies ok.
func waitFor(t *testing.T, events <-chan sseEvent, name string, ok func(data string) bool) sseEvent {
	t.Helper()
	return waitForWithin(t, events, name, ok, hangGuard)
}

// waitForWithin is waitFor with a hang guard of d, not a speed assertion.
func waitForWithin(t *testing.T, events <-chan sseEvent, name string, ok func(data string) bool, d time.Duration) sseEvent {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("stream closed before a %s event", name)
			}
			if ev.event == name && ok(ev.data) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event arrived", name)
		}
	}
}

func TestUserStreamFollowsJourney(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		events := openStream(t, in, "/v1/stream?user_id=u_42", in.public, "")
		waitFor(t, events, "connected", func(string) bool { return true })

		decode[journeyView](t, in.publicCall("POST", "/v1/users/u_42/journeys/getting-started", ""), 201)
		waitFor(t, events, "next_step", func(d string) bool { return strings.Contains(d, `"key":"connect"`) })

		now := time.Now()
		r := in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("s1", "step_completed", "u_42", "connect", now)+`]}`)
		if r.status != 200 {
			t.Fatalf("events: %d %s", r.status, r.body)
		}
		j := waitFor(t, events, "journey", func(d string) bool {
			return strings.Contains(d, `"status":"completed"`) && strings.Contains(d, `"key":"connect"`)
		})
		var view struct {
			UserID   string                `json:"user_id"`
			NextStep *struct{ Key string } `json:"next_step"`
		}
		if err := json.Unmarshal([]byte(j.data), &view); err != nil || view.NextStep == nil || view.UserID != "u_42" || view.NextStep.Key != "tour" {
			t.Fatalf("journey event = %s (%v)", j.data, err)
		}
		next := waitFor(t, events, "next_step", func(d string) bool { return strings.Contains(d, `"key":"tour"`) })

		// Resume: what was published after next.id is replayed, nothing before it.
		postEvents(t, in, eventJSON("s2", "step_skipped", "u_42", "tour", now.Add(time.Second)))
		resumed := openStream(t, in, "/v1/stream?user_id=u_42", in.public, next.id)
		c := waitFor(t, resumed, "connected", func(string) bool { return true })
		if !strings.Contains(c.data, `"gap":false`) {
			t.Fatalf("resume from a retained id reported a gap: %s", c.data)
		}
		first := waitFor(t, resumed, "journey", func(string) bool { return true })
		if !strings.Contains(first.data, `"status":"skipped"`) {
			t.Fatalf("first replayed event is not the one after Last-Event-ID: %s", first.data)
		}

		// Another user's stream, open while u_42's events are published, sees none of them.
		other := openStream(t, in, "/v1/stream?user_id=someone-else", in.public, "")
		waitFor(t, other, "connected", func(string) bool { return true })
		postEvents(t, in, eventJSON("s3", "step_completed", "u_42", "invite", now.Add(2*time.Second)))
		waitFor(t, events, "journey", func(d string) bool {
			return strings.Contains(d, `"status":"completed","steps"`) || strings.Contains(d, `"key":"invite","status":"completed"`)
		})
		select {
		case ev := <-other:
			t.Fatalf("other user's stream got %s %s", ev.event, ev.data)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestUserStreamInTheURL: EventSource cannot set headers, so the SDK names the
// public key, the user's hash and the last event seen in the URL; a secret
// key there is refused, and a wrong hash too.
func TestUserStreamInTheURL(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		p := decode[struct {
			IdentitySecret string `json:"identity_secret"`
		}](t, in.admin("PATCH", "/v1/project", `{"identity_verification":true}`), 200)
		hash := userHash(p.IdentitySecret, "u_url")
		base := "/v1/stream?user_id=u_url&key=" + urlQuery(in.public) + "&user_hash=" + hash
		events := openStream(t, in, base, "", "")
		waitFor(t, events, "connected", func(string) bool { return true })
		start := in.request("POST", "/v1/users/u_url/journeys/getting-started", in.public, "", nil, "X-User-Hash", hash)
		if start.status != 201 {
			t.Fatalf("start: %d %s", start.status, start.body)
		}
		first := waitFor(t, events, "next_step", func(d string) bool { return strings.Contains(d, `"key":"connect"`) })
		r := in.request("POST", "/v1/events", in.public, "application/json",
			strings.NewReader(`{"events":[`+eventJSON("u1", "step_completed", "u_url", "connect", time.Now())+`]}`), "X-User-Hash", hash)
		if r.status != 200 {
			t.Fatalf("events: %d %s", r.status, r.body)
		}
		waitFor(t, events, "journey", func(d string) bool { return strings.Contains(d, `"status":"completed"`) })

		resumed := openStream(t, in, base+"&last_event_id="+urlQuery(first.id), "", "")
		c := waitFor(t, resumed, "connected", func(string) bool { return true })
		if !strings.Contains(c.data, `"gap":false`) {
			t.Fatalf("resume by ?last_event_id= reported a gap: %s", c.data)
		}
		if j := waitFor(t, resumed, "journey", func(string) bool { return true }); !strings.Contains(j.data, `"status":"completed"`) {
			t.Fatalf("first replayed event is not the one after ?last_event_id=: %s", j.data)
		}

		for _, c := range []struct {
			name, query string
			status      int
			inMessage   string
		}{
			{"secret key in the URL", "?user_id=u_url&key=" + urlQuery(in.secret), 401, "only a public key"},
			{"wrong hash", "?user_id=u_url&key=" + urlQuery(in.public) + "&user_hash=" + userHash("not the secret", "u_url"), 401, ""},
			{"no hash", "?user_id=u_url&key=" + urlQuery(in.public), 401, ""},
			{"unknown parameter", "?user_id=u_url&key=" + urlQuery(in.public) + "&user_hash=" + hash + "&token=x", 400, "unknown query parameter"},
		} {
			r, stream := dialStream(t, in, "/v1/stream"+c.query, "", nil)
			if r.status != c.status || stream != nil {
				t.Fatalf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
			}
			if e := r.apiErr(t); !strings.Contains(e.Message, c.inMessage) {
				t.Fatalf("%s: message %q, want %q in it", c.name, e.Message, c.inMessage)
			}
		}
	})
}

// postEvents posts events with the public key and fails unless all are accepted.
func postEvents(t *testing.T, in *instance, events ...string) {
	t.Helper()
	r := in.publicCall("POST", "/v1/events", `{"events":[`+strings.Join(events, ",")+`]}`)
	if res := decode[eventsResult](t, r, 200); res.Accepted != len(events) {
		t.Fatalf("events: %s", r.body)
	}
}

func TestAnalyticsStream(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	setupFlow(t, in)
	if r := in.request("GET", "/v1/analytics/stream", in.public, "", nil); r.status != 403 {
		t.Fatalf("public key on the admin stream: %d", r.status)
	}
	events := openStream(t, in, "/v1/analytics/stream", in.secret, "")
	postEvents(t, in, eventJSON("a1", "step_started", "u1", "connect", time.Now()))
	decode[journeyView](t, in.publicCall("POST", "/v1/users/u2/journeys/getting-started", ""), 201) // started through the API
	m := waitFor(t, events, "metrics", func(d string) bool { return strings.Contains(d, `"journeys_started_per_minute":2`) })
	if !strings.Contains(m.data, `"active_users":1`) || !strings.Contains(m.data, `"events_per_minute":1`) {
		t.Fatalf("metrics = %s", m.data)
	}
}

// TestShutdownEndsStreams: open event streams never go idle, so shutdown must end
// them itself instead of waiting out the shutdown timeout.
func TestShutdownEndsStreams(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	events := openStream(t, in, "/v1/stream?user_id=u1", in.public, "")
	waitFor(t, events, "connected", func(string) bool { return true })
	if err := in.m.Close(); err != nil {
		t.Fatalf("Close with an open stream: %v", err)
	}
	waitClosed(t, events)
}

// waitClosed drains a stream until it ends.
func waitClosed(t *testing.T, events <-chan sseEvent) {
	t.Helper()
	for deadline := time.After(hangGuard); ; {
		select {
		case _, open := <-events:
			if !open {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end")
		}
	}
}

// TestStreamLimits replaces a user's oldest stream once the user has the most a
// user may hold (the replaced one is told not to reconnect, so nine tabs do
// not take turns forever), and refuses any public-key stream beyond
// SMARTONBOARD_MAX_STREAMS less the place kept for secret keys with 503 and
// Retry-After until one closes.
func TestStreamLimits(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.MaxStreams = stream.DefaultMaxPerTopic + 2
		if stream.DefaultReserved(cfg.MaxStreams) != 1 {
			t.Fatalf("the test expects one place kept for secret keys, not %d", stream.DefaultReserved(cfg.MaxStreams))
		}
		in := start(t, cfg)
		oldest := openStream(t, in, "/v1/stream?user_id=many-tabs", in.public, "")
		waitFor(t, oldest, "connected", func(string) bool { return true })
		for range stream.DefaultMaxPerTopic {
			openStream(t, in, "/v1/stream?user_id=many-tabs", in.public, "")
		}
		wantDropped(t, oldest, "replaced", false) // by the newest tab
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, err := http.NewRequestWithContext(ctx, "GET", in.url+"/v1/stream?user_id=other", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+in.public)
		last, err := streamClient.Do(req) // the last place a public key may take
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { last.Body.Close() })
		if last.StatusCode != 200 {
			t.Fatalf("last free stream: %d", last.StatusCode)
		}
		resp := in.request("GET", "/v1/stream?user_id=third", in.public, "", nil)
		if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
			t.Fatalf("one stream too many for the instance: %d %v %s", resp.status, resp.header, resp.body)
		}
		admin := openStream(t, in, "/v1/analytics/stream", in.secret, "") // the place kept for secret keys
		waitFor(t, admin, "connected", func(string) bool { return true })
		cancel()
		for deadline := time.Now().Add(10 * time.Second); !openable(in, "/v1/stream?user_id=third"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("a closed stream did not free its place")
			}
		}
	})
}

// wantDropped waits for a stream's dropped event, checks why it ended, and
// that nothing follows it.
func wantDropped(t *testing.T, events <-chan sseEvent, reason string, reconnect bool) {
	t.Helper()
	wantDroppedWithin(t, events, reason, reconnect, hangGuard)
}

// wantDroppedWithin is wantDropped with a hang guard of d.
func wantDroppedWithin(t *testing.T, events <-chan sseEvent, reason string, reconnect bool, d time.Duration) {
	t.Helper()
	ev := waitForWithin(t, events, "dropped", func(string) bool { return true }, d)
	var why struct {
		Reason    string `json:"reason"`
		Reconnect *bool  `json:"reconnect"`
	}
	if err := json.Unmarshal([]byte(ev.data), &why); err != nil || why.Reason != reason || why.Reconnect == nil || *why.Reconnect != reconnect {
		t.Fatalf("dropped event = %s (%v), want reason %s, reconnect %v", ev.data, err, reason, reconnect)
	}
	waitClosed(t, events)
}

// openable tells whether a stream opens (and closes it at once).
func openable(in *instance, path string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", in.url+path, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+in.public)
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
