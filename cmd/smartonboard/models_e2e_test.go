package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
	"github.com/smartonboarding/smartonboard/client"
	"github.com/smartonboarding/smartonboard/predict"
	"github.com/smartonboarding/smartonboard/simulate"
)

// prediction is the body of GET /v1/users/{id}/prediction.
type prediction struct {
	Probability float64
	ModelID     string `json:"model_id"`
	Version     string `json:"model_version"`
	Prior       bool
	Explanation []predict.Contribution
}

// importSimulated writes a simulated history as JSONL, creates its flow on
// the server, and imports the file with `smartonboard import`.
func importSimulated(t *testing.T, in *instance, users int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.jsonl")
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"simulate", "--users", strconv.Itoa(users), "--seed", "5", "--out", path}, nil, io.Discard, &stderr); code != 0 {
		t.Fatalf("simulate: %d %s", code, stderr.String())
	}
	send := &simulateSend{api: client.New(in.url, in.secret), progress: io.Discard}
	if err := send.ensureFlow(t.Context(), simulate.DefaultFlow()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(t.Context(), []string{"import", "--url", in.url, "--key", in.secret, "--chunk", "5000", path}, nil, &out, &out); code != 0 {
		t.Fatalf("import: %d %s", code, out.String())
	}
	if !strings.Contains(out.String(), " 0 rejected;") || !strings.Contains(out.String(), strconv.Itoa(users)+" users identified") {
		t.Fatalf("import summary = %s", out.String())
	}
	return path
}

// waitJob polls a training job until it ends and returns its last state.
func waitJob(t *testing.T, in *instance, id int64) so.TrainingJob {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		j := decode[struct{ Job so.TrainingJob }](t, in.admin("GET", "/v1/models/jobs/"+strconv.FormatInt(id, 10), ""), 200).Job
		if j.State == "completed" || j.State == "cancelled" || j.State == "discarded" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("training job %d still %s after %s", id, j.State, hangGuard)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func train(t *testing.T, in *instance) so.TrainingJob {
	t.Helper()
	r := in.admin("POST", "/v1/models/train", "")
	q := decode[struct{ Job so.TrainingJob }](t, r, 202)
	if r.header.Get("Location") != "/v1/models/jobs/"+strconv.FormatInt(q.Job.ID, 10) {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	return waitJob(t, in, q.Job.ID)
}

func models(t *testing.T, in *instance) []so.Model {
	t.Helper()
	return decode[struct{ Models []so.Model }](t, in.admin("GET", "/v1/models", ""), 200).Models
}

// TestModelLifecycle is the new user's path: with too little data the prior
// answers and training says why; after a history import, training yields an
// active model whose predictions come with explanations and fill the
// journey's predicted_success; a retrained model that is no worse becomes
// active, and activating the previous one rolls back on every instance.
func TestModelLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		in := start(t, cfg)
		if j := train(t, in); j.State != "cancelled" || !strings.Contains(j.Error, "too little data") {
			t.Errorf("training an empty project: %+v; want cancelled for too little data", j)
		}
		importSimulated(t, in, 600)
		user := openUser(t, 600)
		p := decode[prediction](t, in.admin("GET", "/v1/users/"+user+"/prediction?flow=getting-started", ""), 200)
		if !p.Prior || p.Version != "prior" || len(p.Explanation) != 1 || !strings.Contains(p.Explanation[0].Text, "no model is active") {
			t.Errorf("prediction without a model = %+v; want the prior, saying so", p)
		}
		if j := train(t, in); j.State != "completed" {
			t.Fatalf("training: %+v", j)
		}
		ms := models(t, in)
		if len(ms) != 1 || ms[0].Status != so.ModelActive || ms[0].Version != 1 || ms[0].Metrics.AUC < 0.75 || ms[0].Metrics.ECE > 0.1 ||
			ms[0].Journeys.Holdout == 0 || len(ms[0].Features) == 0 || !strings.HasPrefix(ms[0].Note, "activated") {
			t.Fatalf("models after training = %+v; want v1 active with sound metrics", ms)
		}
		v1 := ms[0]
		in.checkPrediction(t, user, "v1")
		readyz := decode[api.Readiness](t, in.request("GET", "/readyz", "", "", nil), 200)
		if !strings.Contains(readyz.Checks["models"].Detail, "1 active model") {
			t.Errorf("readyz models = %+v", readyz.Checks["models"])
		}
		env := []string{"SMARTONBOARD_DATA_DIR=" + cfg.DataDir, "SMARTONBOARD_ADDR=127.0.0.1:0"}
		if cfg.DatabaseURL != "" {
			env = append(env, "DATABASE_URL="+cfg.DatabaseURL)
		}
		code, out, _ := cli(t, env, "preflight", "--json")
		if rep := decodeReport(t, out); code != 0 || !slices.ContainsFunc(rep.Checks, func(c reportCheck) bool {
			return c.Name == "models" && c.Status == "ok" && strings.Contains(c.Detail, "1 active model")
		}) {
			t.Errorf("preflight (%d) does not report the active model:\n%s", code, out)
		}

		if j := train(t, in); j.State != "completed" {
			t.Fatalf("retraining: %+v", j)
		}
		ms = models(t, in)
		if len(ms) != 2 || ms[0].Version != 2 || ms[0].Status != so.ModelActive || ms[1].Status != so.ModelRetired {
			t.Fatalf("after retraining on the same data = %v; want v2 active (no worse), v1 retired", summarizeModels(ms))
		}
		second := start(t, cfg)
		other := &instance{t: t, m: second.m, url: second.url, secret: in.secret, public: in.public}
		other.checkPrediction(t, user, "v2")
		act := decode[so.Model](t, in.admin("POST", "/v1/models/"+v1.ID+"/activate", ""), 200)
		if act.ID != v1.ID || act.Status != so.ModelActive {
			t.Fatalf("rollback answered %+v", act)
		}
		waitModel(t, other, user, "v1")
		if r := in.admin("POST", "/v1/models/"+so.NewID()+"/activate", ""); r.status != 404 {
			t.Errorf("activating an unknown model: %d %s", r.status, r.body)
		}
	})
}

// openUser is a user of importSimulated's population who did not complete
// but got well into the flow: a journey with much to predict from.
func openUser(t *testing.T, users int) string {
	t.Helper()
	us, err := simulate.Run(simulate.Options{Seed: 5, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if !u.Completed && len(u.Events) > 20 {
			return u.ID
		}
	}
	t.Fatal("no user in progress")
	return ""
}

// checkPrediction asks for a user's prediction in the flow (named: the
// imported history is months old, so the journey is abandoned, not in
// progress) and compares it with the journey's predicted_success.
func (in *instance) checkPrediction(t *testing.T, user, version string) {
	t.Helper()
	p := decode[prediction](t, in.admin("GET", "/v1/users/"+user+"/prediction?flow=getting-started", ""), 200)
	if p.Prior || p.Version != version || p.ModelID == "" || !(p.Probability > 0 && p.Probability < 1) || len(p.Explanation) == 0 {
		t.Fatalf("prediction = %+v; want model %s's, explained", p, version)
	}
	for _, c := range p.Explanation {
		if c.Text == "" || c.Feature == "" || c.Effect == 0 {
			t.Errorf("explanation %+v is not in words", c)
		}
	}
	j := decode[struct {
		Status  string
		Success *float64 `json:"predicted_success"`
	}](t, in.request("GET", "/v1/users/"+user+"/journeys/getting-started", in.public, "", nil), 200)
	if j.Success == nil || *j.Success < 0 || *j.Success > 1 {
		t.Errorf("journey of %s (%s): predicted_success = %v; want a probability", user, j.Status, j.Success)
	}
}

// waitModel waits until the instance predicts with the model version.
func waitModel(t *testing.T, in *instance, user, version string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		p := decode[prediction](t, in.admin("GET", "/v1/users/"+user+"/prediction?flow=getting-started", ""), 200)
		if p.Version == version {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance still predicts with %s, want %s", p.Version, version)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func summarizeModels(ms []so.Model) []string {
	var out []string
	for _, m := range ms {
		out = append(out, "v"+strconv.Itoa(m.Version)+":"+string(m.Status))
	}
	return out
}

// TestImportHistory: every line is accounted for by number, bad lines change
// nothing, sending the file again stores nothing twice, and the route takes
// only what it should.
func TestImportHistory(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		body := strings.Join([]string{
			`{"user_id":"imp-1","traits":{"plan":"team","experience":"expert"}}`,
			`{"id":"e1","type":"click","user_id":"imp-1","session_id":"s","timestamp":"2026-02-01T10:00:00Z","properties":{"path":"a"}}`,
			``,
			`not json`,
			`{"id":"e2","type":"nope","user_id":"imp-1","timestamp":"2026-02-01T10:00:01Z"}`,
			`{"id":"e3","type":"click","user_id":"imp-1","timestamp":"2026-02-01T10:00:02Z","extra":1}`,
			`{"id":"e4","type":"click","user_id":"imp-1","timestamp":"2026-02-01T10:00:03Z"}`,
			`{"id":"e5","type":"click","user_id":"imp-1","timestamp":"2026-02-01T10:00:04Z","properties":{"x":"` + strings.Repeat("y", 300<<10) + `"}}`,
			`{"id":"e4","type":"click","user_id":"imp-2","timestamp":"2026-02-01T10:00:05Z"}`,
		}, "\n") + "\n"
		post := func(query string) api.ImportSummary {
			return decode[api.ImportSummary](t, in.request("POST", "/v1/import"+query, in.secret, "application/x-ndjson", strings.NewReader(body)), 200)
		}
		s := post("?first_line=10")
		wantLines := map[int]string{13: "invalid", 14: "invalid", 15: "invalid", 17: "too_large", 18: "conflict"}
		if s.Lines != 8 || s.Accepted != 2 || s.Duplicates != 0 || s.Rejected != 5 || s.Identified != 1 || s.LastLine != 18 || len(s.Errors) != 5 {
			t.Fatalf("summary = %+v", s)
		}
		for _, e := range s.Errors {
			if wantLines[e.Line] != e.Code || e.Message == "" {
				t.Errorf("error %+v; want line %d to be %s", e, e.Line, wantLines[e.Line])
			}
		}
		again := post("")
		if again.Accepted != 0 || again.Duplicates != 2 || again.Rejected != 5 || again.LastLine != 9 {
			t.Errorf("second import = %+v; want the two events as duplicates", again)
		}
		u := decode[struct{ Traits map[string]string }](t, in.admin("GET", "/v1/users/imp-1", ""), 200)
		if u.Traits["plan"] != "team" {
			t.Errorf("imp-1's traits = %v", u.Traits)
		}
		for _, c := range []struct {
			key, ct string
			status  int
		}{{in.public, "application/x-ndjson", 403}, {in.secret, "application/json", 415}, {"", "application/x-ndjson", 401}} {
			if r := in.request("POST", "/v1/import", c.key, c.ct, strings.NewReader(body)); r.status != c.status {
				t.Errorf("import with key %.3s… and %s: %d, want %d", c.key, c.ct, r.status, c.status)
			}
		}
		if r := in.request("POST", "/v1/import?first_line=0", in.secret, "application/x-ndjson", strings.NewReader(body)); r.status != 400 || r.apiErr(t).Field != "first_line" {
			t.Errorf("first_line=0: %d %s", r.status, r.body)
		}
	})
}

// TestImportResumes: a checkpoint left by a cut-off run makes the next run
// send only the lines after it; a checkpoint of another file is refused.
func TestImportResumes(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	path := filepath.Join(t.TempDir(), "h.jsonl")
	var lines []string
	for i := range 300 {
		lines = append(lines, `{"id":"r`+strconv.Itoa(i)+`","type":"click","user_id":"u","timestamp":"2026-02-01T10:00:00Z"}`)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	im := &importer{path: path}
	if err := im.save(importCheckpoint{Line: 200, Size: st.Size()}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"import", "--url", in.url, "--key", in.secret, "--chunk", "150", path}, nil, &out, &out); code != 0 {
		t.Fatalf("import: %d %s", code, out.String())
	}
	if !strings.Contains(out.String(), "resuming") || !strings.Contains(out.String(), "imported 100 lines: 100 events accepted") {
		t.Errorf("resumed import said %s; want 100 lines sent", out.String())
	}
	if err := os.WriteFile(path, []byte(lines[0]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"import", "--url", in.url, "--key", in.secret, path}, nil, &out, &out); code == 0 || !strings.Contains(out.String(), "--restart") {
		t.Errorf("import of a changed file over an old checkpoint: %d %s; want a refusal naming --restart", code, out.String())
	}
}

// TestModelMonitoring: journeys of a different population than the model
// learned from open a drift alert; once they settle, the model's live AUC is
// measured on them and a retrain is queued; the health is on the model.
func TestModelMonitoring(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "postgres")) // as TestEvalThroughTheAPI
	ctx := t.Context()
	importSimulated(t, in, 600)
	now := time.Now()
	clock := now.Add(-20 * 24 * time.Hour)
	svc := &predict.Service{Store: in.m.db, Versions: in.m.engine, AbandonAfter: in.m.Config.AbandonAfter,
		Now: func() time.Time { return clock }}
	trained, err := svc.Train(ctx, so.DefaultProjectID)
	if err != nil || !trained.Activated {
		t.Fatalf("train = %+v, %v", trained, err)
	}
	strugglers := []simulate.Persona{{Name: "struggler", Share: 1, Skill: simulate.Range{Mean: 0.1, Spread: 0.05},
		Motivation: simulate.Range{Mean: 0.3, Spread: 0.1}, TimePressure: simulate.Range{Mean: 0.9, Spread: 0.05}}}
	users, err := simulate.Run(simulate.Options{Seed: 8, Users: 300, Personas: strugglers, UserPrefix: "new-",
		Start: now.Add(-5 * 24 * time.Hour), Spread: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "recent.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := simulate.WriteJSONL(f, users); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out bytes.Buffer
	if code := run(ctx, []string{"import", "--url", in.url, "--key", in.secret, path}, nil, &out, &out); code != 0 {
		t.Fatalf("import: %s", out.String())
	}

	clock = now
	h, err := in.m.monitorProject(ctx, svc, so.DefaultProjectID)
	if err != nil || h == nil {
		t.Fatalf("monitor = %+v, %v", h, err)
	}
	if h.Recent < 250 || h.MaxPSI <= predict.DriftPSI || len(h.Drift) == 0 || h.LiveAUC != nil {
		t.Fatalf("health of a shifted population = %+v; want drift over %v and no live AUC yet", h, predict.DriftPSI)
	}
	alerts := decode[struct{ Alerts []so.Alert }](t, in.admin("GET", "/v1/alerts?status=open", ""), 200).Alerts
	if len(alerts) != 1 || alerts[0].Key != "model_drift" || !strings.Contains(alerts[0].Message, h.Drift[0].Feature) {
		t.Fatalf("open alerts = %+v; want model_drift naming %s", alerts, h.Drift[0].Feature)
	}
	if ms := models(t, in); !strings.Contains(string(ms[0].Health), `"max_psi"`) {
		t.Errorf("model health = %s", ms[0].Health)
	}

	clock = now.Add(30 * 24 * time.Hour) // the recent journeys have settled, and are no longer recent
	h, err = in.m.monitorProject(ctx, svc, so.DefaultProjectID)
	if err != nil || h == nil || h.LiveAUC == nil || h.LiveJourneys < 250 || !h.Retrain || h.Recent != 0 {
		t.Fatalf("health a month on = %+v, %v; want a live AUC on the settled newcomers and a retrain", h, err)
	}
	if open := decode[struct{ Alerts []so.Alert }](t, in.admin("GET", "/v1/alerts?status=open", ""), 200).Alerts; slices.ContainsFunc(open,
		func(a so.Alert) bool { return a.Key == "model_drift" }) {
		t.Errorf("model_drift still open with no recent journeys: %+v", open)
	}
	deadline := time.Now().Add(hangGuard)
	for len(models(t, in)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the queued retrain stored no model")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEvalThroughTheAPI: eval prints the holdout's figures against the
// oracle, and a server fed the same population through the API trains a
// model with the same figures as the in-process path.
func TestEvalThroughTheAPI(t *testing.T) {
	t.Parallel()
	// PostgreSQL: the race detector's pointer checks make the embedded
	// SQLite driver's bulk writes several times slower; TestModelLifecycle
	// covers training on both engines.
	in := start(t, testConfig(t, "postgres"))
	var out, errs bytes.Buffer
	code := run(t.Context(), []string{"eval", "--users", "600", "--seed", "3", "--bootstrap", "5", "--url", in.url, "--key", in.secret}, nil, &out, &errs)
	if code != 0 {
		t.Fatalf("eval: %d %s %s", code, out.String(), errs.String())
	}
	text := out.String()
	for _, want := range []string{"model AUC", "oracle AUC", "ratio", "the simulator's own oracle AUC", "in process", "server v1"} {
		if !strings.Contains(text, want) {
			t.Errorf("eval output lacks %q:\n%s", want, text)
		}
	}
	var inProcess, served string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "in process"):
			inProcess = strings.Join(fields[2:], " ")
		case strings.HasPrefix(strings.TrimSpace(line), "server v1"):
			served = strings.Join(fields[2:], " ")
		}
	}
	if inProcess == "" || inProcess != served {
		t.Errorf("in process %q, through the server %q; want the same figures", inProcess, served)
	}
	for _, bad := range [][]string{{"--users", "10"}, {"extra"}, {"--url", in.url}} {
		if code := run(t.Context(), append([]string{"eval", "--bootstrap", "0"}, bad...), nil, io.Discard, io.Discard); code == 0 {
			t.Errorf("eval %v exited 0", bad)
		}
	}
}
