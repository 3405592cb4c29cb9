package main

import (
	"net/http"
	"testing"
	"time"
)

// TestStreamLifetime: the server ends a stream after SMARTONBOARD_STREAM_LIFETIME
// (less up to a tenth) and tells the client to reconnect.
func TestStreamLifetime(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.StreamLifetime = 300 * time.Millisecond // Validate asks for 1m or more; tests need not wait that long
		in := start(t, cfg)
		wantDropped(t, connected(t, in, "/v1/stream?user_id=u1", in.public, nil), "lifetime", true)
		wantDropped(t, connected(t, in, "/v1/analytics/stream", in.secret, nil), "lifetime", true)
	})
}

// TestStreamRevokedWhenIdentityTurnsOn: a stream opened before identity
// verification was turned on stops receiving the user's journey within a
// re-check, told not to reconnect, while a stream carrying the right
// X-User-Hash stays open.
func TestStreamRevokedWhenIdentityTurnsOn(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		unverified := connected(t, in, "/v1/stream?user_id=alice", in.public, nil)
		r := in.admin("PATCH", "/v1/project", `{"identity_verification":true}`)
		p := decode[struct {
			IdentitySecret string `json:"identity_secret"`
		}](t, r, 200)
		verified := connected(t, in, "/v1/stream?user_id=alice", in.public, http.Header{"X-User-Hash": {userHash(p.IdentitySecret, "alice")}})
		wantDroppedWithin(t, unverified, "revoked", false, 15*time.Second) // re-checks come every 5 s
		quiet := time.NewTimer(6 * time.Second)                            // more than one re-check of the verified stream
		defer quiet.Stop()
		for {
			select {
			case ev, open := <-verified:
				if !open || ev.event == "dropped" {
					t.Fatalf("the verified stream ended: %s %s", ev.event, ev.data)
				}
			case <-quiet.C:
				return
			}
		}
	})
}
