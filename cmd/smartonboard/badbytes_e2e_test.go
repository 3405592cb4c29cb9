package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
)

// lockedBuffer collects a server's log lines from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLogged is start with the server's log kept, so a test can see what it logged.
func startLogged(t *testing.T, cfg config.Config) (*instance, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	return startWith(t, cfg, slog.New(slog.NewTextHandler(logs, nil))), logs
}

// TestBadBytes sends path values, query values, cursors and keys holding NUL or
// bytes that are not UTF-8: each is a 400 naming the field (401 for a key), on
// both engines alike, nothing is written, and nothing is logged as a failure.
func TestBadBytes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in, logs := startLogged(t, testConfig(t, engine))
		badKey := "sk_" + strings.Repeat("\xff", 30)
		cases := []struct {
			name, method, path, key string
			status                  int
			code, field             string
		}{
			{"NUL user in journey path", "GET", "/v1/users/%00/journeys/x", "public", 400, "invalid", "user_id"},
			{"NUL user starting a journey", "POST", "/v1/users/%00/journeys/x", "public", 400, "invalid", "user_id"},
			{"stray byte in flow key", "GET", "/v1/users/u1/journeys/%ff", "public", 400, "invalid", "flow_key"},
			{"NUL in user id", "GET", "/v1/users/a%00b", "secret", 400, "invalid", "user_id"},
			{"stray byte in user id", "GET", "/v1/users/%ff", "secret", 400, "invalid", "user_id"},
			{"stray byte in content id", "GET", "/v1/content-items/%ff", "secret", 400, "invalid", "id"},
			{"stray byte in next-step flow", "GET", "/v1/users/u1/next-step?flow=%ff", "public", 400, "invalid", "flow"},
			{"cursor decoding to NUL and 0xff", "GET", "/v1/users?cursor=AP8", "secret", 400, "invalid", "cursor"},
			{"cursor of content", "GET", "/v1/content-items?cursor=AP8", "secret", 400, "invalid", "cursor"},
			{"stray byte in search", "GET", "/v1/content-items?q=%ff", "secret", 400, "invalid", "q"},
			{"NUL in role filter", "GET", "/v1/users?role=%00", "secret", 400, "invalid", "role"},
			{"stray byte in a query name", "GET", "/v1/users?%ff=1", "secret", 400, "invalid", "\uFFFD"},
			{"stray byte in stream user", "GET", "/v1/stream?user_id=%ff", "public", 400, "invalid", "user_id"},
			{"key of 0xff bytes", "GET", "/v1/content-items", badKey, 401, "unauthorized", ""},
			{"public key of 0xff bytes", "GET", "/v1/users/u1/journeys/x", "pk_" + strings.Repeat("\xff", 30), 401, "unauthorized", ""},
			{"key with a stray byte at the end", "GET", "/v1/content-items", "sk_" + strings.Repeat("a", 40) + "\xff", 401, "unauthorized", ""},
			{"beacon key of 0xff bytes", "POST", "/v1/events?key=pk_" + strings.Repeat("%ff", 30), "", 401, "unauthorized", ""},
		}
		for _, c := range cases {
			key := map[string]string{"secret": in.secret, "public": in.public}[c.key]
			if key == "" {
				key = c.key
			}
			var body *strings.Reader
			ct := ""
			if c.method == "POST" {
				body, ct = strings.NewReader(`{"events":[]}`), "application/json"
			} else {
				body = strings.NewReader("")
			}
			r := in.request(c.method, c.path, key, ct, body)
			e := r.apiErr(t)
			code, field := e.Code, e.Field
			if r.status != c.status || code != c.code || field != c.field {
				t.Errorf("%s: got %d %s field %q, want %d %s field %q\n%s", c.name, r.status, code, field, c.status, c.code, c.field, truncate(r.body))
			}
			if c.status == 401 && !strings.Contains(string(r.body), "invalid API key") {
				t.Errorf("%s: %s, want the message invalid API key", c.name, r.body)
			}
		}
		if n, err := in.m.db.CountEvents(context.Background(), "default"); err != nil || n != 0 {
			t.Fatalf("events stored: %d, %v", n, err)
		}
		if r := in.admin("GET", "/v1/users", ""); r.status != 200 || !strings.Contains(string(r.body), `"items":[]`) {
			t.Fatalf("users after bad requests: %d %s", r.status, r.body)
		}
		if out := logs.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") {
			t.Fatalf("bad input was logged as a failure:\n%s", out)
		}
	})
}

// TestBodyText sends JSON bodies that encoding/json alone would accept and store
// wrongly: repeated or case-variant field names (the last would win) and text
// that is not UTF-8 (stored as U+FFFD, so different ids collide). Each is a 400
// naming the field, and nothing is stored.
func TestBodyText(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		event := func(user string) string {
			return fmt.Sprintf(`{"id":"e-%s","type":"click","user_id":"%s","timestamp":%q}`, user, user, ts)
		}
		cases := []struct {
			name, path, key, body, field string
		}{
			{"identify: user id in another case", "/v1/identify", "public", `{"user_id":"good","USER_ID":"evil"}`, "USER_ID"},
			{"identify: user id twice", "/v1/identify", "public", `{"user_id":"good","user_id":"evil"}`, "user_id"},
			{"identify: stray byte in user id", "/v1/identify", "public", "{\"user_id\":\"a\xffb\"}", "user_id"},
			{"identify: lone surrogate in user id", "/v1/identify", "public", `{"user_id":"a\udc00b"}`, "user_id"},
			{"identify: trait twice", "/v1/identify", "public", `{"user_id":"u","traits":{"goals":["a"],"Goals":["b"]}}`, "traits.Goals"},
			{"content: title in another case", "/v1/content-items", "secret", `{"kind":"task","title":"a","Title":"b"}`, "Title"},
			{"content: stray byte in a tag", "/v1/content-items", "secret", "{\"kind\":\"task\",\"title\":\"a\",\"tags\":[\"\xc3\"]}", "tags[0]"},
			{"events: envelope twice", "/v1/events", "public", `{"events":[],"Events":[` + event("u1") + `]}`, "Events"},
			{"events: stray byte in an unknown envelope field", "/v1/events", "public", "{\"events\":[],\"\xff\":1}", ""},
		}
		for _, c := range cases {
			key := map[string]string{"secret": in.secret, "public": in.public}[c.key]
			r := in.request("POST", c.path, key, "application/json", strings.NewReader(c.body))
			e := r.apiErr(t)
			code, field := e.Code, e.Field
			if r.status != 400 || code != "invalid" || c.field != "" && field != c.field {
				t.Errorf("%s: got %d %s field %q, want 400 invalid field %q\n%s", c.name, r.status, code, field, c.field, truncate(r.body))
			}
		}
		if r := in.admin("GET", "/v1/users", ""); r.status != 200 || !strings.Contains(string(r.body), `"items":[]`) {
			t.Fatalf("users stored by bad bodies: %d %s", r.status, r.body)
		}
		if r := in.admin("GET", "/v1/content-items", ""); r.status != 200 || !strings.Contains(string(r.body), `"items":[]`) {
			t.Fatalf("content stored by bad bodies: %d %s", r.status, r.body)
		}
		if n, err := in.m.db.CountEvents(context.Background(), "default"); err != nil || n != 0 {
			t.Fatalf("events stored by bad bodies: %d, %v", n, err)
		}
	})
}
