package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func userHash(secret, userID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

func TestIdentityVerification(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		if r := in.publicCall("POST", "/v1/users/alice/journeys/getting-started", ""); r.status != 201 {
			t.Fatalf("verification off: %d %s", r.status, r.body)
		}
		type project struct {
			IdentityVerification bool   `json:"identity_verification"`
			IdentitySecret       string `json:"identity_secret"`
		}
		r := in.admin("PATCH", "/v1/project", `{"identity_verification":true}`)
		p := decode[project](t, r, 200)
		if !p.IdentityVerification || len(p.IdentitySecret) < 32 {
			t.Fatalf("enable: %d %s", r.status, r.body)
		}
		if r := in.request("PATCH", "/v1/project", in.public, "application/json", strings.NewReader(`{"identity_verification":false}`)); r.status != 403 {
			t.Fatalf("public key changing settings: %d", r.status)
		}

		call := func(method, path, hash, body string) response {
			req, err := http.NewRequest(method, in.url+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+in.public)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if hash != "" {
				req.Header.Set("X-User-Hash", hash)
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				return response{status: resp.StatusCode} // a stream never ends: its status is the answer
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return response{status: resp.StatusCode, body: b}
		}
		good, bad := userHash(p.IdentitySecret, "alice"), userHash(p.IdentitySecret, "mallory")
		for _, c := range []struct {
			name, method, path, hash string
			status                   int
		}{
			{"journey without hash", "GET", "/v1/users/alice/journeys/getting-started", "", 401},
			{"journey with another user's hash", "GET", "/v1/users/alice/journeys/getting-started", bad, 401},
			{"journey with garbage hash", "GET", "/v1/users/alice/journeys/getting-started", "zz", 401},
			{"journey with the right hash", "GET", "/v1/users/alice/journeys/getting-started", good, 200},
			{"next step without hash", "GET", "/v1/users/alice/next-step?flow=getting-started", "", 401},
			{"stream without hash", "GET", "/v1/stream?user_id=alice", "", 401},
			{"stream with the right hash", "GET", "/v1/stream?user_id=alice", good, 200},
		} {
			if r := call(c.method, c.path, c.hash, ""); r.status != c.status {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		r = call("POST", "/v1/identify", "", `{"user_id":"alice","traits":{"plan":"pro"}}`)
		if r.status != 401 {
			t.Fatalf("identify without hash: %d", r.status)
		}
		batch := `{"events":[` + eventJSON("i1", "click", "alice", "", time.Now()) + "," + eventJSON("i2", "click", "mallory", "", time.Now()) + `]}`
		r = call("POST", "/v1/events", good, batch)
		if res := decode[eventsResult](t, r, 200); res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Code != "unauthorized" || res.Rejected[0].Field != "user_id" {
			t.Fatalf("events under verification: %d %s", r.status, r.body)
		}
		// sendBeacon: key and hash in the URL.
		r = in.request("POST", "/v1/events?key="+in.public+"&user_hash="+good, "", "text/plain",
			strings.NewReader(`{"events":[`+eventJSON("i3", "click", "alice", "", time.Now())+`]}`))
		if r.status != 200 || !strings.Contains(string(r.body), `"accepted":1`) {
			t.Fatalf("sendBeacon with user_hash: %d %s", r.status, r.body)
		}
		// The secret key is the customer's backend and needs no hash.
		if r := in.admin("GET", "/v1/users/alice/journeys/getting-started", ""); r.status != 200 {
			t.Fatalf("secret key: %d", r.status)
		}
		if r := in.admin("PATCH", "/v1/project", `{"identity_verification":false}`); r.status != 200 || strings.Contains(string(r.body), "identity_secret") {
			t.Fatalf("disable: %d %s", r.status, r.body)
		}
		if r := call("GET", "/v1/users/alice/journeys/getting-started", "", ""); r.status != 200 {
			t.Fatalf("verification off again: %d", r.status)
		}
	})
}
