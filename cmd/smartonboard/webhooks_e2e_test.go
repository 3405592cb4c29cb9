package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/webhook"
)

// receiver is a webhook endpoint on a local port that fails the first
// `failures` attempts of every message and records what it accepted.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	secret   string
	failures int
	mu       sync.Mutex
	attempts map[string]int    // by webhook-id
	accepted map[string]string // webhook-id → type, once verified
	bad      []string
}

func newReceiver(t *testing.T, failures int) *receiver {
	rc := &receiver{t: t, failures: failures, attempts: map[string]int{}, accepted: map[string]string{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("webhook-id")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts[id]++
	if rc.attempts[id] <= rc.failures {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	if err := webhook.Verify(rc.secret, r.Header, body, time.Now(), 0); err != nil {
		rc.bad = append(rc.bad, fmt.Sprintf("%s: %v", id, err))
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var p struct{ Type string }
	if err := json.Unmarshal(body, &p); err != nil {
		rc.bad = append(rc.bad, fmt.Sprintf("%s: %v", id, err))
	}
	if _, dup := rc.accepted[id]; dup {
		rc.bad = append(rc.bad, id+": delivered twice after a 2xx")
	}
	rc.accepted[id] = p.Type
	w.WriteHeader(http.StatusNoContent)
}

// attemptsOf is how many attempts of a message the receiver saw.
func (rc *receiver) attemptsOf(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts[id]
}

// types lists the accepted messages' types, sorted.
func (rc *receiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, t := range rc.accepted {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// waitTypes waits until the accepted types are want, then a little longer to
// see that nothing more comes.
func (rc *receiver) waitTypes(want ...string) {
	rc.t.Helper()
	slices.Sort(want)
	for deadline := time.Now().Add(hangGuard); !slices.Equal(rc.types(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			rc.t.Fatalf("received %v, want %v", rc.types(), want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 || len(rc.accepted) != len(want) {
		rc.t.Fatalf("after the wanted messages: accepted %v, problems %v", rc.accepted, rc.bad)
	}
}

// subscribe creates a webhook for the receiver and keeps its secret.
func (rc *receiver) subscribe(in *instance, events ...string) string {
	rc.t.Helper()
	body, _ := json.Marshal(map[string]any{"url": rc.srv.URL + "/hook", "events": events})
	created := decode[struct{ ID, Secret string }](rc.t, in.admin("POST", "/v1/webhooks", string(body)), 201)
	if !strings.HasPrefix(created.Secret, "whsec_") {
		rc.t.Fatalf("secret = %q", created.Secret)
	}
	rc.secret = created.Secret
	return created.ID
}

// startFast starts an instance whose webhook retries come after 50 ms.
func startFast(t *testing.T, cfg config.Config) *instance {
	t.Helper()
	return startMain(t, &Main{Config: cfg, WebhookBackoff: func(int) time.Duration { return 50 * time.Millisecond }})
}

func TestWebhooksSignedRetriedOnce(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := startFast(t, testConfig(t, engine))
		setupHelpFlow(t, in)
		rc := newReceiver(t, 2)
		id := rc.subscribe(in, webhook.StruggleDetected, webhook.InterventionTriggered)
		project := decode[struct{ ID string }](t, in.admin("GET", "/v1/project", ""), 200)
		treated, _ := usersByHoldout(project.ID, 10)
		postEvents(t, in, struggle(treated, time.Now().Add(-10*time.Second))...)
		rc.waitTypes(webhook.InterventionTriggered, webhook.StruggleDetected, webhook.StruggleDetected)

		type delivery struct {
			ID, Status string
			Attempts   int
			LastStatus int `json:"last_status_code"`
		}
		// The receiver has answered; the sender records the answer just after.
		var list struct{ Items []delivery }
		for deadline := time.Now().Add(hangGuard); ; time.Sleep(20 * time.Millisecond) {
			list = decode[struct{ Items []delivery }](t, in.admin("GET", "/v1/webhooks/"+id+"/deliveries", ""), 200)
			if !slices.ContainsFunc(list.Items, func(d delivery) bool { return d.Status == "pending" }) || time.Now().After(deadline) {
				break
			}
		}
		if len(list.Items) != 3 {
			t.Fatalf("deliveries = %+v", list.Items)
		}
		for _, d := range list.Items {
			if seen := rc.attemptsOf(d.ID); d.Status != "delivered" || d.Attempts != 3 || d.LastStatus != 204 || seen != 3 {
				t.Fatalf("delivery %+v (receiver saw %d attempts), want delivered on the third", d, seen)
			}
		}
		hooks := decode[struct{ Items []map[string]any }](t, in.admin("GET", "/v1/webhooks", ""), 200)
		if len(hooks.Items) != 1 || hooks.Items[0]["secret"] != nil {
			t.Fatalf("webhook list = %v (the secret is shown once only)", hooks.Items)
		}
		if r := in.admin("DELETE", "/v1/webhooks/"+id, ""); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := in.admin("GET", "/v1/webhooks/"+id+"/deliveries", ""); r.status != 404 {
			t.Fatalf("deliveries of a deleted webhook: %d", r.status)
		}
	})
}

func TestWebhookInputRefused(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, config.EngineSQLite))
	for _, c := range []struct{ body, field string }{
		{`{"url":"ftp://example.com/x","events":["journey.completed"]}`, "url"},
		{`{"url":"https://example.com/x","events":[]}`, "events"},
		{`{"url":"https://example.com/x","events":["journey.finished"]}`, "events[0]"},
		{`{"url":"https://example.com/x","events":["journey.completed","journey.completed"]}`, "events[1]"},
	} {
		r := in.admin("POST", "/v1/webhooks", c.body)
		if r.status != 400 || r.apiErr(t).Field != c.field {
			t.Errorf("%s: %d %s, want 400 on %s", c.body, r.status, r.body, c.field)
		}
	}
	if r := in.publicCall("POST", "/v1/webhooks", `{"url":"https://example.com/x","events":["journey.completed"]}`); r.status != 403 && r.status != 401 {
		t.Errorf("public key creating a webhook: %d", r.status)
	}
}

// TestIdleJourneyAbandonedOnceAcrossInstances runs two instances on one
// PostgreSQL database, both with the abandonment job: an idle journey is
// abandoned, and announced, once. (That the job itself is enqueued once per
// interval is River's leader election, measured in webhook/RIVER.md.)
func TestIdleJourneyAbandonedOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EnginePostgres)
	cfg.AbandonAfter = 2 * time.Second
	other := cfg
	other.DataDir = t.TempDir()
	a := startFast(t, cfg)
	b := startFast(t, other)
	b.secret, b.public = a.secret, a.public // the first start made the keys both share
	setupHelpFlow(t, a)
	rc := newReceiver(t, 0)
	rc.subscribe(a, webhook.JourneyAbandoned)
	decode[journeyView](t, b.publicCall("POST", "/v1/users/idle-user/journeys/setup", ""), 201)
	rc.waitTypes(webhook.JourneyAbandoned)
	time.Sleep(2 * time.Second) // both instances' jobs have had their turn again
	if got := rc.types(); len(got) != 1 {
		t.Fatalf("abandonment announced %d times: %v", len(got), got)
	}
	j := decode[journeyView](t, a.publicCall("GET", "/v1/users/idle-user/journeys/setup", ""), 200)
	if j.Status != "abandoned" {
		t.Fatalf("journey = %+v", j)
	}
}

// TestWebhookDisableEnable: an admin stops and resumes a webhook's
// deliveries; the state is stored, and an unknown webhook is a 404.
func TestWebhookDisableEnable(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		hook := decode[struct{ ID string }](t, in.admin("POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/hook","events":["journey.completed"]}`), 201)
		type state struct {
			DisabledAt     *string `json:"disabled_at"`
			DisabledReason string  `json:"disabled_reason"`
		}
		off := decode[state](t, in.admin("POST", "/v1/webhooks/"+hook.ID+"/disable", ""), 200)
		if off.DisabledAt == nil || !strings.Contains(off.DisabledReason, "disabled by") {
			t.Errorf("after disable: %+v", off)
		}
		list := decode[struct{ Items []state }](t, in.admin("GET", "/v1/webhooks", ""), 200)
		if len(list.Items) != 1 || list.Items[0].DisabledAt == nil {
			t.Errorf("listed after disable: %+v", list)
		}
		if on := decode[state](t, in.admin("POST", "/v1/webhooks/"+hook.ID+"/enable", ""), 200); on.DisabledAt != nil || on.DisabledReason != "" {
			t.Errorf("after enable: %+v", on)
		}
		if r := in.admin("POST", "/v1/webhooks/"+"no-such-hook/disable", ""); r.status != 404 {
			t.Errorf("disabling an unknown webhook: %d %s", r.status, r.body)
		}
	})
}
