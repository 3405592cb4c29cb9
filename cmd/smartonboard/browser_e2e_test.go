package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/predict"
	"github.com/smartonboarding/smartonboard/simulate"
)

// chromiumPath is Debian's chromium, which scripts/browser-deps installs.
const chromiumPath = "/usr/bin/chromium"

// e2eDir holds the browser driver and its npm packages.
var e2eDir = filepath.Join("..", "..", "web", "e2e")

// needBrowser finds node, chromium and playwright-core. A bare `go test` on
// a machine without them skips the browser tests, saying how to get them;
// under scripts/test (and so in CI), which installs them first and sets
// SMARTONBOARD_BROWSER_TESTS=required, their absence fails.
func needBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath)
	}
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "web/e2e/node_modules/playwright-core")
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("browser tests need %s: run scripts/browser-deps", strings.Join(missing, ", "))
	if os.Getenv("SMARTONBOARD_BROWSER_TESTS") == "required" || os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// browserResult is what the driver reports of one scenario for the Go side
// to hold against the database.
type browserResult struct {
	Scenario string   `json:"scenario"`
	User     string   `json:"user"`
	IDs      []string `json:"ids"`      // every event id the page sent or tried to send
	Accepted []string `json:"accepted"` // ids in requests the server answered with 200, once per request
	Outcome  string   `json:"outcome"`  // an intervention outcome the page reported
	Project  string   `json:"project"`  // the project the page's key is of (default: the default project)
	Expect   []string `json:"expect"`   // ids that must be stored once, where the page cannot see every request (beacons)
}

// projectID is the project the scenario's events belong to.
func (r browserResult) projectID() string { return cmp.Or(r.Project, so.DefaultProjectID) }

// TestBrowserSDK runs the SDK in a real headless Chromium on a host page of
// another origin against the real server: tours on late and missing targets,
// resuming across pages and reloads, a network cut, two tabs, consent,
// keyboard use, accessibility, and an intervention brought by struggle. The
// driver (web/e2e/sdk.test.mjs) checks what the page shows; this test checks
// that every event the page made is stored exactly once.
func TestBrowserSDK(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	pages := httptest.NewServer(fixturePages(t))
	defer pages.Close()
	cfg := testConfig(t, config.EngineSQLite)
	cfg.AllowedOrigins = []string{pages.URL}
	in := start(t, cfg)
	setupBrowserFlows(t, in)
	treated, _ := usersByHoldout(so.DefaultProjectID, so.BehaviourDefaults.HoldoutPercent)
	shots := filepath.Join(os.TempDir(), "smartonboard-screenshots", "sdk")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	results := runDriver(t, "sdk.test.mjs", map[string]string{
		"server": in.url, "pages": pages.URL, "key": in.public, "shots": shots, "helpUser": treated,
	})
	t.Logf("screenshots: %s", shots)
	for _, r := range results {
		t.Run(r.Scenario, func(t *testing.T) {
			checkStoredOnce(t, in, r)
			if r.Outcome != "" {
				checkOutcome(t, in, r)
			}
		})
	}
	for _, want := range []string{"network-cut", "reload-queue", "two-tabs", "intervention", "retries", "beacon"} {
		if !slices.ContainsFunc(results, func(r browserResult) bool { return r.Scenario == want }) {
			t.Errorf("the driver reported no %s scenario (got %d results)", want, len(results))
		}
	}
}

// checkOutcome finds the intervention the page answered stored with its
// shown time and the outcome.
func checkOutcome(t *testing.T, in *instance, r browserResult) {
	t.Helper()
	list, err := in.m.db.ListInterventions(context.Background(), r.projectID(), so.InterventionFilter{UserID: r.User, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d interventions for %s, want 1: %+v", len(list), r.User, list)
	}
	iv := list[0]
	if iv.ShownAt == nil {
		t.Errorf("intervention %s: shown_at not stored", iv.ID)
	}
	if r.Outcome == "accepted" && iv.AcceptedAt == nil || r.Outcome == "dismissed" && iv.DismissedAt == nil {
		t.Errorf("intervention %s: outcome %s not stored: %+v", iv.ID, r.Outcome, iv)
	}
}

// loggedByServer are the event types the server stores for an intervention's
// outcome, which the page reports through its own route.
var loggedByServer = map[so.EventType]bool{so.EventInterventionShown: true, so.EventInterventionAccepted: true, so.EventInterventionDismiss: true}

// TestBrowserDemo walks the demo as a new user would (web/e2e/demo.test.mjs):
// the tour across its pages, a reload, struggle on the invite form and the
// help it brings, stored once, with no console error or serious axe finding.
func TestBrowserDemo(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	cfg := testConfig(t, config.EngineSQLite)
	cfg.Demo = "on"
	in := start(t, cfg)
	shots := filepath.Join(os.TempDir(), "smartonboard-screenshots", "demo")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	results := runDriver(t, "demo.test.mjs", map[string]string{"server": in.url, "shots": shots})
	t.Logf("screenshots: %s", shots)
	if len(results) != 1 || results[0].Scenario != "demo" || results[0].Project != "demo" {
		t.Fatalf("driver results %+v, want the demo scenario", results)
	}
	checkStoredOnce(t, in, results[0])
	checkOutcome(t, in, results[0])
}

// checkStoredOnce holds a scenario's events against the database: each id
// the page sent is stored once, nothing else is stored for the user, and no
// event was accepted twice.
func checkStoredOnce(t *testing.T, in *instance, r browserResult) {
	t.Helper()
	if r.User == "" || len(r.IDs)+len(r.Expect) == 0 {
		return // a scenario with nothing to hold against the database
	}
	stored, err := in.m.db.ListUserEvents(context.Background(), r.projectID(), r.User, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Expect) > 0 {
		checkExpected(t, stored, r.Expect)
		return
	}
	got := map[string]int{}
	for _, ev := range stored {
		if !so.ServerEvent(ev.Type) && !loggedByServer[ev.Type] {
			got[ev.ID]++
		}
	}
	want := map[string]bool{}
	for _, id := range r.IDs {
		want[id] = true
		if got[id] != 1 {
			t.Errorf("event %s the page sent is stored %d times, want once", id, got[id])
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("event %s is stored but the page never sent it", id)
		}
	}
	seen := map[string]bool{}
	for _, id := range r.Accepted {
		if seen[id] {
			t.Errorf("event %s was accepted in two requests: sent twice", id)
		}
		seen[id] = true
	}
}

// checkExpected finds each expected id stored once.
func checkExpected(t *testing.T, stored []*so.Event, ids []string) {
	t.Helper()
	count := map[string]int{}
	for _, ev := range stored {
		count[ev.ID]++
	}
	for _, id := range ids {
		if count[id] != 1 {
			t.Errorf("event %s is stored %d times, want once", id, count[id])
		}
	}
}

// runDriver runs a browser driver script with its settings as JSON and
// returns the results it printed (lines "RESULT {json}"); a failing driver
// fails the test with its output.
func runDriver(t *testing.T, script string, settings map[string]string) []browserResult {
	t.Helper()
	raw, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "SO_E2E="+string(raw), "CHROMIUM="+chromiumPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	var results []browserResult
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var log strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var r browserResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatalf("driver result %q: %v", rest, err)
			}
			results = append(results, r)
			continue
		}
		log.WriteString(line + "\n")
	}
	t.Logf("driver output:\n%s", log.String())
	if runErr != nil {
		t.Fatalf("browser driver %s failed: %v", script, runErr)
	}
	return results
}

// fixturePages serves the host page of web/e2e/pages on every path, as a
// customer's app on its own origin would.
func fixturePages(t *testing.T) http.Handler {
	page, err := os.ReadFile(filepath.Join(e2eDir, "pages", "app.html"))
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent) // no icon, and no 404 in the console
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
}

// setupBrowserFlows publishes the flows the driver walks through: a video, a
// tour over three pages, one whose target never renders, one whose target
// renders late, and one with help for the struggle scenario.
func setupBrowserFlows(t *testing.T, in *instance) {
	t.Helper()
	content := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"tour","title":"Tour","body":"Press **this** button to go on.","status":"published"}`), 201)
	help := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"help","title":"Need a hand with the code?","body":"The code is the **six digits** in the email we sent.","status":"published"}`), 201)
	video := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"video","title":"A two-minute tour","body":"What the app does, in two minutes.","status":"published","metadata":{"video_url":"/media/intro.mp4"}}`), 201)
	flows := []string{
		`{"key":"watch","name":"Watch","steps":[
			{"key":"intro","title":"A two-minute tour","kind":"video","content_item_id":%[3]q,"target":"#connect","url":"/one"}]}`,
		`{"key":"tour","name":"Getting started","steps":[
			{"key":"connect","title":"Connect your account","kind":"tour","content_item_id":%[1]q,"required":true,"target":"#connect","url":"/one","placement":"bottom"},
			{"key":"create","title":"Create a first item","kind":"tour","content_item_id":%[1]q,"required":true,"target":"#create","url":"/two","prerequisites":["connect"]},
			{"key":"finish","title":"All set","kind":"tour","content_item_id":%[1]q,"target":"#never","url":"/three","target_timeout_ms":1500,"prerequisites":["create"]}]}`,
		`{"key":"missing","name":"Missing","steps":[
			{"key":"gone","title":"Nothing to point at","kind":"tour","content_item_id":%[1]q,"required":true,"target":"#never","url":"/three","target_timeout_ms":1500}]}`,
		`{"key":"late","name":"Late","steps":[
			{"key":"wait","title":"Here it is","kind":"tour","content_item_id":%[1]q,"required":true,"target":"#late-target","url":"/late"}]}`,
		`{"key":"help","name":"Verify","steps":[
			{"key":"verify","title":"Verify your email","kind":"task","content_item_id":%[1]q,"required":true,"target":"#verify","url":"/form","help_content_ids":[%[2]q],"estimated_seconds":20}]}`,
	}
	for _, f := range flows {
		body := fmt.Sprintf(f, content.ID, help.ID, video.ID)
		var key struct{ Key string }
		if err := json.Unmarshal([]byte(body), &key); err != nil {
			t.Fatal(err)
		}
		if r := in.admin("POST", "/v1/flows", body); r.status != 201 {
			t.Fatalf("create flow %s: %d %s", key.Key, r.status, r.body)
		}
		if r := in.admin("POST", "/v1/flows/"+key.Key+"/publish", ""); r.status != 201 {
			t.Fatalf("publish %s: %d %s", key.Key, r.status, r.body)
		}
	}
}

// TestBrowserAdmin runs the dashboard in headless Chromium
// (web/e2e/admin.test.mjs): sign-in, live counters moved by the demo in
// another tab, the models page, a viewer's view and refused forgeries.
func TestBrowserAdmin(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	cfg := testConfig(t, config.EngineSQLite)
	cfg.Demo, cfg.DemoHistory = "on", 400
	in := start(t, cfg) // no owner configured: the first start makes one and prints it, as a new user's does
	owner := in.m.GeneratedOwner
	if owner.Email == "" || !strings.Contains(in.stdout.String(), "password: "+owner.Password) {
		t.Fatalf("the first start printed no owner account:\n%s", in.stdout)
	}
	viewer, err := in.m.accounts.CreateAccount(t.Context(), "viewer@example.com", "viewer password 1")
	if err != nil {
		t.Fatal(err)
	}
	if err := in.m.db.PutMember(t.Context(), &so.Member{ProjectID: so.DefaultProjectID, AccountID: viewer.ID, Role: so.RoleViewer, CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	activeModel(t, in)
	waitDemoModel(t, in) // the demo's users are predicted by the model trained on its seeded history
	shots := filepath.Join(os.TempDir(), "smartonboard-screenshots", "admin")
	if err := os.RemoveAll(shots); err != nil { // only this run's pages
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	results := runDriver(t, "admin.test.mjs", map[string]string{"server": in.url, "shots": shots,
		"ownerEmail": owner.Email, "ownerPassword": owner.Password, "viewerEmail": "viewer@example.com", "viewerPassword": "viewer password 1"})
	t.Logf("screenshots: %s", shots)
	for _, want := range []string{"owner", "flow-edit", "settings", "viewer"} {
		if !slices.ContainsFunc(results, func(r browserResult) bool { return r.Scenario == want }) {
			t.Errorf("the driver reported no %s scenario (got %+v)", want, results)
		}
	}
	if ms, err := in.m.db.ListModels(t.Context(), so.DefaultProjectID); err != nil || len(ms) != 1 {
		t.Errorf("models after the viewer's forged training: %d, %v; want only the one activeModel stored", len(ms), err)
	}
	if a := demoAlert(t, in, analytics.RuleCompletionDrop); a == nil || a.Status != so.AlertAcknowledged {
		t.Errorf("the demo's completion-drop alert after the UI acknowledged it: %+v", a)
	}
	if f, err := in.m.db.FindFlow(t.Context(), "demo", "getting-started"); err != nil || f.PublishedVersion < 2 || f.Steps[0].Title != "Connect your warehouse" {
		t.Errorf("the demo flow after the editor published it: %+v, %v", f, err)
	}
	if hooks, err := in.m.db.ListWebhooks(t.Context(), so.DefaultProjectID); err != nil || len(hooks) != 1 || hooks[0].DisabledAt == nil {
		t.Errorf("the webhook added and disabled in the UI: %+v, %v", hooks, err)
	}
	p, err := in.m.db.FindProject(t.Context(), so.DefaultProjectID)
	if err != nil || p.Settings.Behaviour.HoldoutPercent == nil || *p.Settings.Behaviour.HoldoutPercent != 10 ||
		p.Settings.Analytics.ValuePerActivatedUser == nil || *p.Settings.Analytics.ValuePerActivatedUser != 120 {
		t.Errorf("settings after the UI saved them: %+v, %v; want holdout 10%% and a value of 120", p.Settings, err)
	}
	keys, err := in.m.db.ListAPIKeys(t.Context(), so.DefaultProjectID)
	if err != nil || !slices.ContainsFunc(keys, func(k *so.APIKey) bool { return k.Name == "ui-made" && k.RevokedAt != nil }) {
		t.Errorf("the key made and revoked in the UI is not stored revoked: %v", err)
	}
}

// activeModel trains a model on a simulated population in process (as eval
// does) and makes it the default project's active one, for the models page.
func activeModel(t *testing.T, in *instance) {
	t.Helper()
	users, err := simulate.Run(simulate.Options{Seed: 2, Users: 800})
	if err != nil {
		t.Fatal(err)
	}
	c := predict.NewCollector(predict.Options{})
	for _, u := range users {
		h, err := simulatedHistory(simulate.DefaultFlow(), u)
		if err != nil {
			t.Fatal(err)
		}
		if h != nil {
			c.Add(h)
		}
	}
	r, err := c.Train()
	if err != nil {
		t.Fatal(err)
	}
	params, err := json.Marshal(r.Params)
	if err != nil {
		t.Fatal(err)
	}
	calibration, err := json.Marshal(r.Calibration)
	if err != nil {
		t.Fatal(err)
	}
	m := &so.Model{ID: so.NewID(), ProjectID: so.DefaultProjectID, Kind: predict.KindLogistic, Status: so.ModelCandidate,
		Features: r.Params.Schema.Features, Params: params, TrainedFrom: r.From, TrainedTo: r.To, Calibration: calibration,
		Journeys: so.ModelSplit{Train: r.Train, Calibrate: r.Calibrate, Holdout: r.Holdout}, Metrics: r.Metrics, CreatedAt: so.Now()}
	if err := in.m.db.SaveModel(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := in.m.models.Activate(t.Context(), so.DefaultProjectID, m.ID, "for the browser test"); err != nil {
		t.Fatal(err)
	}
}
