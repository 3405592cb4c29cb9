package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestServerOnlyTraits: with the public key, which every visitor's browser
// holds, a user cannot set role or plan on themselves (the default server-only
// traits); the secret key can, and the public key may still set other traits.
func TestServerOnlyTraits(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		if r := in.admin("POST", "/v1/identify", `{"user_id":"u1","traits":{"role":"viewer","plan":"free"}}`); r.status != 200 {
			t.Fatalf("secret key setting role and plan: %d %s", r.status, r.body)
		}
		for _, c := range []struct{ body, field string }{
			{`{"user_id":"u1","traits":{"role":"admin"}}`, "traits.role"},
			{`{"user_id":"u1","traits":{"goals":["x"],"plan":"enterprise"}}`, "traits.plan"},
			{`{"user_id":"u1","traits":{"role":null}}`, "traits.role"},
			{`{"user_id":"u2","traits":{"plan":"enterprise"}}`, "traits.plan"},
		} {
			r := in.publicCall("POST", "/v1/identify", c.body)
			e := r.apiErr(t)
			code, field := e.Code, e.Field
			if r.status != 400 || code != "invalid" || field != c.field || !strings.Contains(string(r.body), "secret key") {
				t.Errorf("%s: %d %s", c.body, r.status, r.body)
			}
		}
		if r := in.publicCall("POST", "/v1/identify", `{"user_id":"u1","traits":{"goals":["invite"]}}`); r.status != 200 {
			t.Fatalf("public key setting another trait: %d %s", r.status, r.body)
		}
		r := in.admin("GET", "/v1/users/u1", "")
		if r.status != 200 {
			t.Fatalf("get user: %d %s", r.status, r.body)
		}
		var u struct {
			Traits map[string]any `json:"traits"`
		}
		if err := json.Unmarshal(r.body, &u); err != nil {
			t.Fatal(err)
		}
		if u.Traits["role"] != "viewer" || u.Traits["plan"] != "free" || u.Traits["goals"] == nil {
			t.Fatalf("traits = %v; want role viewer, plan free, goals set", u.Traits)
		}
		if r := in.admin("GET", "/v1/users/u2", ""); r.status != 404 {
			t.Fatalf("refused identify created u2: %d %s", r.status, r.body)
		}
	})
}
