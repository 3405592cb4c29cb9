package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite")
	cfg.AllowedOrigins = []string{"https://app.example.com"}
	in := start(t, cfg)

	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest("OPTIONS", in.url+"/v1/content-items", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	ok := preflight("https://app.example.com")
	if ok.StatusCode != 204 || ok.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(ok.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("allowed origin preflight: %d %v", ok.StatusCode, ok.Header)
	}
	if bad := preflight("https://evil.example.com"); bad.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin got CORS headers: %v", bad.Header)
	}
}

// TestCORSWildcard: "*" opens only the public routes to any origin; a listed
// origin may also call the admin routes.
func TestCORSWildcard(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite")
	cfg.AllowedOrigins = []string{"*", "https://admin.example.com"}
	in := start(t, cfg)
	call := func(method, path, origin, announce string) string {
		req, err := http.NewRequest(method, in.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		if announce != "" {
			req.Header.Set("Access-Control-Request-Method", announce)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	const stranger, admin = "https://any.example.net", "https://admin.example.com"
	for _, c := range []struct {
		method, path, announce, origin string
		allowed                        bool
	}{
		{"OPTIONS", "/v1/events", "POST", stranger, true},
		{"OPTIONS", "/v1/identify", "POST", stranger, true},
		{"OPTIONS", "/v1/users/u1/journeys/f", "GET", stranger, true},
		{"GET", "/v1/users/u1/next-step?flow=f", "", stranger, true},
		{"OPTIONS", "/v1/content-items", "POST", stranger, false},
		{"OPTIONS", "/v1/project", "PATCH", stranger, false},
		{"OPTIONS", "/v1/users/u1", "GET", stranger, false},
		{"GET", "/v1/content-items", "", stranger, false},
		{"GET", "/v1/users", "", stranger, false},
		{"OPTIONS", "/v1/nothing", "GET", stranger, false},
		{"OPTIONS", "/v1/content-items", "POST", admin, true},
		{"GET", "/v1/users", "", admin, true},
	} {
		got := call(c.method, c.path, c.origin, c.announce)
		if allowed := got == c.origin; allowed != c.allowed {
			t.Errorf("%s %s (%s) from %s: Access-Control-Allow-Origin %q, want allowed %v", c.method, c.path, c.announce, c.origin, got, c.allowed)
		}
	}
}

func TestMetricsToken(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite")
	cfg.MetricsToken = "metrics-token-for-tests"
	in := start(t, cfg)
	if r := in.request("GET", "/metrics", "", "", nil); r.status != 401 {
		t.Fatalf("metrics without token: %d", r.status)
	}
	if r := in.request("GET", "/metrics", "wrong", "", nil); r.status != 401 {
		t.Fatalf("metrics with a wrong token: %d", r.status)
	}
	if r := in.request("GET", "/metrics", "metrics-token-for-tests", "", nil); r.status != 200 || !strings.Contains(string(r.body), "go_goroutines") {
		t.Fatalf("metrics with the token: %d", r.status)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	req, err := http.NewRequest("GET", in.url+"/v1/content-items", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-ID", "trace-123")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Request-ID") != "trace-123" || !strings.Contains(string(body), `"request_id":"trace-123"`) {
		t.Fatalf("request id not echoed: %v %s", resp.Header, body)
	}
	if r := in.request("GET", "/healthz", "", "", nil); len(r.header.Get("X-Request-ID")) != 16 {
		t.Fatalf("no generated request id: %v", r.header)
	}
}

// TestGracefulShutdown closes the server while a request is still sending its
// body: the request completes and is committed, and Close returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"kind":"task","title":"sent during shutdown"}`
	head := fmt.Sprintf("POST /v1/content-items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", in.secret, len(body))
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server is now reading the body
	closed := make(chan error, 1)
	go func() { closed <- in.m.Close() }()
	for deadline := time.Now().Add(hangGuard); acceptsConnections(in.url); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) { // Shutdown closes the listener first, then waits for us
			t.Fatal("server accepts new connections during shutdown")
		}
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(hangGuard)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("in-flight request during shutdown: %v %v", resp, err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Close did not return after the in-flight request was answered")
	}
}

// acceptsConnections tells whether the server still accepts new connections.
func acceptsConnections(url string) bool {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), hangGuard)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// TestConcurrentReadiness: load balancers probe all at once; probes must not
// queue behind each other (goose's status calls take an advisory lock).
func TestConcurrentReadiness(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if r := in.request("GET", "/readyz", "", "", nil); r.status != 200 {
					t.Errorf("readyz: %d %s", r.status, r.body)
				}
			})
		}
		wg.Wait()
	})
}

// TestProjectAllowedOrigins: a project's settings.allowed_origins opens its
// public-key routes to those pages beside the server's list: their calls are
// answered readably, while a page of any other origin is refused with 403
// and stores nothing; the server's own pages (the demo) always pass.
func TestProjectAllowedOrigins(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite")
	cfg.AllowedOrigins = []string{"https://server-listed.example.com"}
	in := start(t, cfg)
	if r := in.admin("PATCH", "/v1/project", `{"settings":{"allowed_origins":["https://app.example.com/"]}}`); r.status != 400 ||
		r.apiErr(t).Field != "settings.allowed_origins[0]" {
		t.Fatalf("an origin with a path: %d %s", r.status, r.body)
	}
	if r := in.admin("PATCH", "/v1/project", `{"settings":{"allowed_origins":["https://app.example.com"]}}`); r.status != 200 {
		t.Fatalf("set allowed_origins: %d %s", r.status, r.body)
	}
	post := func(origin, id string) response {
		body := `{"events":[` + eventJSON(id, "click", "u_origin", "", time.Now()) + `]}`
		return in.request("POST", "/v1/events", in.public, "application/json", strings.NewReader(body), "Origin", origin)
	}
	host := strings.TrimPrefix(in.url, "http://")
	for _, c := range []struct {
		origin  string
		status  int
		allowed bool
	}{
		{"https://app.example.com", 200, true},
		{"https://server-listed.example.com", 200, true},
		{"http://" + host, 200, false},          // same origin: no CORS needed
		{"https://evil.example.com", 403, true}, // readable, so the SDK reports why and does not retry
	} {
		r := post(c.origin, "o-"+c.origin)
		if r.status != c.status {
			t.Fatalf("POST from %s: %d %s, want %d", c.origin, r.status, r.body, c.status)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); (got == c.origin) != c.allowed {
			t.Errorf("POST from %s: Access-Control-Allow-Origin %q, want allowed %v", c.origin, got, c.allowed)
		}
	}
	if msg := post("https://evil.example.com", "o-2").apiErr(t).Message; !strings.Contains(msg, "settings.allowed_origins") {
		t.Errorf("refusal says %q", msg)
	}
	stored, err := in.m.db.ListUserEvents(t.Context(), "default", "u_origin", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Errorf("%d events stored, want the 3 from admitted pages", len(stored))
	}
	// A public route's preflight is answered for any origin (it carries no
	// key); an admin route's only for the server's list.
	for path, want := range map[string]bool{"/v1/events": true, "/v1/content-items": false} {
		req, err := http.NewRequest("OPTIONS", in.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin") == "https://app.example.com"; got != want {
			t.Errorf("preflight of %s: allowed %v, want %v", path, got, want)
		}
	}
}
