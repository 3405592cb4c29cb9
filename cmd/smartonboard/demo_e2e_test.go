package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/demo"
)

// TestDemoSeeding: the first start in development seeds the demo project and
// serves its pages under a CSP whose hash is the page's own init script; a
// second start seeds nothing twice and retires the first start's key; in
// production, or with the demo off, /demo is a 404 and nothing is seeded.
func TestDemoSeeding(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.Demo = "on"
		first := start(t, cfg)
		if !strings.Contains(first.stdout.String(), "/demo/") {
			t.Errorf("the welcome does not name the demo: %s", first.stdout)
		}
		page := first.request("GET", "/demo/team", "", "", nil)
		if page.status != 200 {
			t.Fatalf("demo page: %d %s", page.status, page.body)
		}
		checkDemoCSP(t, page)
		cookie := page.header.Get("Set-Cookie")
		if !regexp.MustCompile(`^so_demo_user=demo-[0-9a-f]{16};.*HttpOnly`).MatchString(cookie) {
			t.Errorf("demo user cookie %q", cookie)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for path, want := range map[string]int{"/demo/nope": 404, "/demo/static/demo.js": 200, "/demo/static/": 404, "/demo/reset": 303, "/demo": 301} {
			resp, err := noFollow.Get(first.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
		}
		firstKey := demoKeyOf(t, page)
		if r := first.request("POST", "/v1/users/demo-0000000000000000/journeys/"+demo.FlowKey, firstKey, "", nil); r.status != 201 {
			t.Fatalf("the demo page's key cannot start the demo flow: %d %s", r.status, r.body)
		}
		if err := first.m.Close(); err != nil {
			t.Fatal(err)
		}

		second := start(t, cfg)
		ctx := context.Background()
		flows, err := second.m.db.ListFlows(ctx, demo.ProjectID, "", 50)
		if err != nil || len(flows) != 1 || flows[0].PublishedVersion != 1 {
			t.Fatalf("demo flows after a second start: %+v %v", flows, err)
		}
		if r := second.request("POST", "/v1/users/demo-0000000000000001/journeys/"+demo.FlowKey, firstKey, "", nil); r.status != 401 {
			t.Errorf("the first start's demo key still works: %d", r.status)
		}
		secondKey := demoKeyOf(t, second.request("GET", "/demo/", "", "", nil))
		if r := second.request("GET", "/v1/users/demo-0000000000000000/journeys/"+demo.FlowKey, secondKey, "", nil); r.status != 200 {
			t.Errorf("the journey started before the restart, with this start's key: %d %s", r.status, r.body)
		}
		if r := second.request("GET", "/v1/flows/"+demo.FlowKey, first.secret, "", nil); r.status != 404 {
			t.Errorf("the demo flow shows in the default project: %d", r.status)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ env, demo string }{{config.EnvProduction, "on"}, {config.EnvDevelopment, "off"}} {
			cfg := testConfig(t, config.EngineSQLite)
			cfg.Env, cfg.Demo = c.env, c.demo
			if c.env == config.EnvProduction {
				cfg.Migrate = true
				cfg.AdminKey, cfg.PublicKey = so.GenerateKey(so.KeySecret), so.GenerateKey(so.KeyPublic)
			}
			in := start(t, cfg)
			if r := in.request("GET", "/demo/", "", "", nil); r.status != 404 || !strings.Contains(string(r.body), "SMARTONBOARD_DEMO") {
				t.Errorf("%s, demo %s: /demo/ %d %s", c.env, c.demo, r.status, r.body)
			}
			if _, err := in.m.db.FindProject(context.Background(), demo.ProjectID); so.ErrorCode(err) != so.ENOTFOUND {
				t.Errorf("%s, demo %s: demo project seeded (%v)", c.env, c.demo, err)
			}
		}
	})
}

var initScript = regexp.MustCompile(`<script>(SmartOnboarding\.init\([^<]*\);)</script>`)

// checkDemoCSP holds the page's CSP to its one inline script.
func checkDemoCSP(t *testing.T, r response) {
	t.Helper()
	m := initScript.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no init script in the demo page: %s", r.body)
	}
	sum := sha256.Sum256(m[1])
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';") {
		t.Fatalf("CSP %q does not pin the init script %s", csp, m[1])
	}
	if !strings.Contains(string(r.body), `integrity="sha384-`) {
		t.Errorf("the SDK script carries no integrity")
	}
}

var demoKey = regexp.MustCompile(`"key":"(pk_[A-Za-z0-9_]+)"`)

// demoKeyOf reads the public key a demo page was rendered with.
func demoKeyOf(t *testing.T, r response) string {
	t.Helper()
	m := demoKey.FindSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("no key in the demo page (%d): %s", r.status, r.body)
	}
	return string(m[1])
}

// waitDemoModel waits for the demo project's first model, which the first
// start trains in the background once it has seeded the demo's history. Its
// guard is longer than hangGuard: seeding and training run under the race
// detector on a shared machine.
func waitDemoModel(t *testing.T, in *instance) *so.Model {
	t.Helper()
	deadline := time.Now().Add(3 * hangGuard)
	for {
		ms, err := in.m.db.ListModels(t.Context(), demo.ProjectID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Status == so.ModelActive {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo project has no active model after %s: %+v", 3*hangGuard, ms)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// demoAlert is the demo project's alert of the rule, or nil.
func demoAlert(t *testing.T, in *instance, rule string) *so.Alert {
	t.Helper()
	as, err := in.m.db.ListAlerts(t.Context(), demo.ProjectID, so.AlertFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Rule == rule {
			return a
		}
	}
	return nil
}

// TestDemoHistory: a new demo project gets simulated users' last four weeks,
// ending in a release that made a step harder; its idle journeys are
// abandoned as of when they went idle, the alert rules see the drop, and a
// model is trained on them, whose predictions the demo's users get; a second
// start seeds nothing again.
func TestDemoHistory(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.Demo, cfg.DemoHistory = "on", 400 // 80 in the last two days: enough for the alert rules
		in, logs := startLogged(t, cfg)
		model := waitDemoModel(t, in)
		if a := demoAlert(t, in, analytics.RuleCompletionDrop); a == nil || a.Status != so.AlertOpen {
			t.Errorf("the demo's completion-drop alert: %+v; want one open", a)
		} else if !strings.Contains(a.Message, `"getting-started"`) || a.Numbers["recent_journeys"] < 30 {
			t.Errorf("the demo's alert: %s %v", a.Message, a.Numbers)
		}
		if a := demoAlert(t, in, analytics.RuleAbandonmentSpike); a != nil {
			t.Errorf("the demo's history abandoned its idle journeys all at once: %s", a.Message)
		}
		if live := in.m.counters.Snapshot(demo.ProjectID); live.EventsTotal != 0 || live.JourneysStartedTotal != 0 || live.ActiveUsers != 0 {
			t.Errorf("the demo's live counters with only its history stored: %+v; want nothing live", live)
		}
		if n := model.Journeys.Train + model.Journeys.Calibrate + model.Journeys.Holdout; n < 200 || model.Metrics.AUC < 0.6 {
			t.Errorf("the demo's model trained on %d journeys, AUC %.3f: want at least 200 and better than chance", n, model.Metrics.AUC)
		}
		if !model.TrainedTo.Before(so.Now()) || model.TrainedFrom.Before(so.Now().Add(-29*24*time.Hour)) {
			t.Errorf("the demo's model trained on journeys from %s to %s: want the last four weeks", model.TrainedFrom, model.TrainedTo)
		}
		if s := logs.String(); !strings.Contains(s, "seeded the demo's history") || strings.Contains(s, "level=ERROR") {
			t.Errorf("the seeding's log:\n%s", s)
		}
		key := demoKeyOf(t, in.request("GET", "/demo/", "", "", nil))
		if r := in.request("POST", "/v1/users/demo-00000000000000aa/journeys/"+demo.FlowKey, key, "", nil); r.status != 201 {
			t.Fatalf("a demo visitor's journey: %d %s", r.status, r.body)
		}
		secret := so.GenerateKey(so.KeySecret)
		if err := in.m.db.CreateAPIKey(t.Context(), so.NewAPIKey(demo.ProjectID, so.KeySecret, "test", secret)); err != nil {
			t.Fatal(err)
		}
		p := decode[struct {
			ModelID string `json:"model_id"`
			Prior   bool   `json:"prior"`
		}](t, in.request("GET", "/v1/users/demo-00000000000000aa/prediction", secret, "", nil), 200)
		if p.Prior || p.ModelID != model.ID {
			t.Errorf("a demo visitor's prediction: %+v, want model %s's", p, model.ID)
		}
		// The first simulated user arrived four weeks ago: the journey starts
		// then, not when the history was stored.
		j := decode[struct {
			StartedAt time.Time `json:"started_at"`
		}](t, in.request("GET", "/v1/users/sim-0/journeys/"+demo.FlowKey, secret, "", nil), 200)
		if age := so.Now().Sub(j.StartedAt); age < 27*24*time.Hour || age > 29*24*time.Hour {
			t.Errorf("the first simulated journey started %s ago; want about four weeks", age)
		}
		checkHistoricAbandonment(t, in)
		if err := in.m.Close(); err != nil {
			t.Fatal(err)
		}
		_, again := startLogged(t, cfg)
		if strings.Contains(again.String(), "seeding the demo's history") {
			t.Errorf("a second start seeded the demo's history again:\n%s", again)
		}
	})
}

// checkHistoricAbandonment: the first abandoned journey among the demo's
// earliest simulated users was abandoned, in the event log, a week after it
// went idle (weeks ago), not when the seeding stored it.
func checkHistoricAbandonment(t *testing.T, in *instance) {
	t.Helper()
	for i := range 100 {
		user := fmt.Sprintf("sim-%d", i)
		j, err := in.m.db.FindJourney(t.Context(), demo.ProjectID, user, demo.FlowKey)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != so.JourneyAbandoned {
			continue
		}
		events, err := in.m.db.ListUserEvents(t.Context(), demo.ProjectID, user, 1000)
		if err != nil {
			t.Fatal(err)
		}
		want := j.LastActivityAt.Add(in.m.Config.AbandonAfter).Truncate(time.Millisecond)
		i := slices.IndexFunc(events, func(e *so.Event) bool { return e.Type == so.EventJourneyAbandoned })
		if i < 0 || !events[i].Timestamp.Equal(want) || so.Now().Sub(want) < 7*24*time.Hour {
			t.Fatalf("%s's journey, idle since %s, abandoned: %+v; want a journey_abandoned event at %s", user, j.LastActivityAt, events, want)
		}
		return
	}
	t.Fatal("none of the first 100 simulated journeys was abandoned")
}
