package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
)

// waitStatus polls a request until it answers want, failing at the deadline.
func waitStatus(t *testing.T, deadline time.Duration, want int, call func() response) response {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		r := call()
		if r.status == want {
			return r
		}
		if time.Now().After(end) {
			t.Fatalf("still %d after %s, want %d: %s", r.status, deadline, want, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRevocationReachesEveryInstance revokes a key on one instance while
// another, sharing the PostgreSQL database, has it cached: the other refuses
// it once its key cache (5 s) lapses.
func TestRevocationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EnginePostgres)
	a := start(t, cfg)
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	b := start(t, cfgB)
	k := decode[createdKey](t, a.admin("POST", "/v1/api-keys", `{"kind":"secret","name":"shared","scopes":["read"]}`), 201)
	if r := b.request("GET", "/v1/flows", k.Key, "", nil); r.status != 200 { // now cached on b
		t.Fatalf("key on b: %d %s", r.status, r.body)
	}
	if r := a.admin("DELETE", "/v1/api-keys/"+k.ID, ""); r.status != 200 {
		t.Fatalf("revoke on a: %d %s", r.status, r.body)
	}
	revokedAt := time.Now()
	waitStatus(t, 15*time.Second, 401, func() response { return b.request("GET", "/v1/flows", k.Key, "", nil) })
	t.Logf("b refused the revoked key %s after the revocation", time.Since(revokedAt).Round(100*time.Millisecond))
}

// TestKeyExpiryAndLastUse: a key stops at its expiry, and its use is recorded
// (at most once a minute) for admins to see.
func TestKeyExpiryAndLastUse(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		expires := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
		r := in.admin("POST", "/v1/api-keys", `{"kind":"secret","name":"brief","scopes":["read"],"expires_at":"`+expires+`"}`)
		k := decode[createdKey](t, r, 201)
		if r := in.request("GET", "/v1/flows", k.Key, "", nil); r.status != 200 {
			t.Fatalf("before expiry: %d %s", r.status, r.body)
		}
		if n, err := in.m.api.FlushKeyUse(t.Context()); err != nil || n < 1 {
			t.Fatalf("flush key use: %d, %v", n, err)
		}
		list := decode[struct {
			Items []struct {
				ID         string  `json:"id"`
				LastUsedAt *string `json:"last_used_at"`
			}
		}](t, in.admin("GET", "/v1/api-keys", ""), 200)
		found := false
		for _, it := range list.Items {
			if it.ID == k.ID {
				found = it.LastUsedAt != nil
			}
		}
		if !found {
			t.Errorf("last_used_at not recorded: %s", r.body)
		}
		r = waitStatus(t, 15*time.Second, 401, func() response { return in.request("GET", "/v1/flows", k.Key, "", nil) })
		if !strings.Contains(string(r.body), "expired") {
			t.Errorf("expired key: %s", r.body)
		}
		if r := in.admin("POST", "/v1/api-keys", `{"kind":"secret","name":"past","scopes":["read"],"expires_at":"2020-01-01T00:00:00Z"}`); r.status != 400 {
			t.Errorf("expiry in the past: %d %s", r.status, r.body)
		}
		if r := in.admin("POST", "/v1/api-keys", `{"kind":"public","name":"p","scopes":["read"]}`); r.status != 400 {
			t.Errorf("public key with scopes: %d %s", r.status, r.body)
		}
		if r := in.admin("POST", "/v1/api-keys", `{"kind":"secret","name":"none"}`); r.status != 400 {
			t.Errorf("secret key without scopes: %d %s", r.status, r.body)
		}
	})
}

// TestIdentitySecretGrace rotates the identity secret: hashes under the old
// one keep working for the grace period, then stop.
func TestIdentitySecretGrace(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.IdentitySecretGrace = 3 * time.Second
		in := start(t, cfg)
		type projectSecrets struct {
			IdentitySecret      string `json:"identity_secret"`
			PreviousSecretUntil string `json:"previous_identity_secret_until"`
		}
		p := decode[projectSecrets](t, in.admin("PATCH", "/v1/project", `{"identity_verification":true}`), 200)
		old := p.IdentitySecret
		identify := func(secret string) response {
			return in.eventsCall(in.public, batchOf("ev-"+secret[len(secret)-6:]+time.Now().Format("150405.000"), "alice"),
				"X-User-Hash", userHash(secret, "alice"))
		}
		if r := identify(old); r.status != 200 || strings.Contains(string(r.body), `"rejected":[{`) {
			t.Fatalf("old secret before rotation: %d %s", r.status, r.body)
		}
		p = decode[projectSecrets](t, in.admin("PATCH", "/v1/project", `{"rotate_identity_secret":true}`), 200)
		if p.IdentitySecret == old || p.PreviousSecretUntil == "" {
			t.Fatalf("rotate answered %+v", p)
		}
		for _, secret := range []string{old, p.IdentitySecret} {
			if r := identify(secret); r.status != 200 || strings.Contains(string(r.body), `"rejected":[{`) {
				t.Fatalf("during the grace period: %d %s", r.status, r.body)
			}
		}
		end := time.Now().Add(15 * time.Second)
		for {
			r := identify(old)
			if strings.Contains(string(r.body), `"code":"unauthorized"`) {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("old secret still accepted long after the grace period: %s", r.body)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if r := identify(p.IdentitySecret); strings.Contains(string(r.body), `"rejected":[{`) {
			t.Errorf("new secret after the grace period: %s", r.body)
		}
	})
}
