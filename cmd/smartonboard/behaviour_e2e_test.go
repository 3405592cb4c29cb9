package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/behaviour"
)

// setupHelpFlow publishes flow "setup" whose step "connect" lists a help
// article, and returns the article's id.
func setupHelpFlow(t *testing.T, in *instance) string {
	t.Helper()
	tour := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"tour","title":"Connect tour","status":"published"}`), 201)
	help := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"help","title":"Connecting, step by step","body":"Press **Connect**, then pick your workspace.","status":"published"}`), 201)
	body := fmt.Sprintf(`{"key":"setup","name":"Setup","steps":[
		{"key":"connect","title":"Connect","kind":"task","content_item_id":%q,"help_content_ids":[%q],"required":true,"estimated_seconds":30},
		{"key":"invite","title":"Invite","kind":"task","content_item_id":%q,"required":true}]}`, tour.ID, help.ID, tour.ID)
	if r := in.admin("POST", "/v1/flows", body); r.status != 201 {
		t.Fatalf("create flow: %d %s", r.status, r.body)
	}
	if r := in.admin("POST", "/v1/flows/setup/publish", ""); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	return help.ID
}

// struggle is a user who starts the connect step, hesitates, and fails it three times.
func struggle(user string, at time.Time) []string {
	ev := func(n int, typ, props string) string {
		return fmt.Sprintf(`{"id":"%s-%d","type":%q,"user_id":%q,"session_id":"s-%s","flow":"setup","step":"connect","timestamp":%q,"properties":%s}`,
			user, n, typ, user, user, at.Add(time.Duration(n)*time.Second).UTC().Format("2006-01-02T15:04:05.000Z"), props)
	}
	return []string{ev(0, "step_started", `{}`), ev(6, "hesitation", `{"duration_ms":6000}`),
		ev(7, "error", `{"message":"invalid token"}`), ev(8, "error", `{"message":"invalid token"}`), ev(9, "error", `{"message":"invalid token"}`)}
}

// usersByHoldout finds a user inside and one outside the project's holdout.
func usersByHoldout(projectID string, percent float64) (treated, held string) {
	for i := 0; treated == "" || held == ""; i++ {
		u := fmt.Sprintf("user-%d", i)
		if behaviour.InHoldout(projectID, u, percent) {
			held = cmp.Or(held, u)
		} else {
			treated = cmp.Or(treated, u)
		}
	}
	return treated, held
}

type interventionMsg struct {
	ID, Kind, Flow, Step, Title string
	Body                        string `json:"body_html"`
	Actions                     []struct{ ID, Label string }
}

type arm struct {
	Users         int `json:"users"`
	StepCompleted int `json:"step_completed"`
}

type effectsReport struct {
	Unit   string `json:"unit"`
	Groups []struct {
		Flow, Step, Kind string
		Sent             arm                    `json:"sent"`
		HeldOut          arm                    `json:"held_out"`
		StepDiff         struct{ Defined bool } `json:"step_completion_difference"`
		Accepted         int
		Shown            int
	} `json:"groups"`
}

func TestStruggleGetsIntervention(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupHelpFlow(t, in)
		project := decode[struct{ ID string }](t, in.admin("GET", "/v1/project", ""), 200)
		treated, held := usersByHoldout(project.ID, 10)
		events := openStream(t, in, "/v1/stream?user_id="+treated, in.public, "")
		waitFor(t, events, "connected", func(string) bool { return true })
		heldEvents := openStream(t, in, "/v1/stream?user_id="+held, in.public, "")
		waitFor(t, heldEvents, "connected", func(string) bool { return true })

		now := time.Now().Add(-10 * time.Second)
		postEvents(t, in, struggle(treated, now)...)
		postEvents(t, in, struggle(held, now)...)
		got := waitFor(t, events, "intervention", func(string) bool { return true })
		var msg interventionMsg
		if err := json.Unmarshal([]byte(got.data), &msg); err != nil {
			t.Fatalf("intervention event %s: %v", got.data, err)
		}
		if msg.Kind != "tip" || msg.Step != "connect" || msg.Title != "Connecting, step by step" ||
			!strings.Contains(msg.Body, "<strong>Connect</strong>") || len(msg.Actions) == 0 {
			t.Fatalf("intervention = %+v", msg)
		}
		waitFor(t, events, "engagement", func(d string) bool { return strings.Contains(d, `"level"`) })

		// The held-out user's trigger is recorded, and nothing is sent.
		list := waitList(t, in, "/v1/interventions?held_out=true", 1)
		if list[0].UserID != held || !list[0].HeldOut {
			t.Fatalf("held-out record = %+v", list[0])
		}
		select {
		case ev := <-heldEvents:
			if ev.event == "intervention" {
				t.Fatalf("a held-out user got %s", ev.data)
			}
		case <-time.After(200 * time.Millisecond):
		}

		// Outcomes: the user's own only, a known outcome only.
		outcome := func(id, user, o string) response {
			return in.publicCall("POST", "/v1/interventions/"+id+"/outcome", fmt.Sprintf(`{"user_id":%q,"outcome":%q}`, user, o))
		}
		if r := outcome(msg.ID, "someone-else", "accepted"); r.status != 404 {
			t.Fatalf("another user's outcome: %d %s", r.status, r.body)
		}
		if r := outcome(list[0].ID, held, "accepted"); r.status != 404 {
			t.Fatalf("outcome of a held-out intervention: %d %s", r.status, r.body)
		}
		if r := outcome(msg.ID, treated, "loved-it"); r.status != 400 || r.apiErr(t).Field != "outcome" {
			t.Fatalf("unknown outcome: %d %s", r.status, r.body)
		}
		accepted := decode[struct {
			AcceptedAt *string `json:"accepted_at"`
			ShownAt    *string `json:"shown_at"`
		}](t, outcome(msg.ID, treated, "accepted"), 200)
		if accepted.AcceptedAt == nil || accepted.ShownAt == nil {
			t.Fatalf("accepted outcome not recorded: %+v", accepted)
		}

		// The treated user completes the step; the held-out one does not.
		postEvents(t, in, strings.Replace(eventJSON(treated+"-done", "step_completed", treated, "connect", now.Add(20*time.Second)),
			`"flow":"getting-started"`, `"flow":"setup"`, 1))
		report := waitReport(t, in, func(r effectsReport) bool {
			return len(r.Groups) == 1 && r.Groups[0].Sent.StepCompleted == 1 && r.Groups[0].Accepted == 1
		})
		g := report.Groups[0]
		if report.Unit != "users" || g.Flow != "setup" || g.Step != "connect" || g.Kind != "tip" ||
			g.Sent.Users != 1 || g.HeldOut.Users != 1 || g.HeldOut.StepCompleted != 0 || !g.StepDiff.Defined {
			t.Fatalf("report = %+v", report)
		}

		// Neither user finished the journey: no activation either side, priced at the project's value.
		if r := in.admin("PATCH", "/v1/project", `{"settings":{"analytics":{"value_per_activated_user":120,"currency":"EUR"}}}`); r.status != 200 {
			t.Fatalf("set the value per activated user: %d %s", r.status, r.body)
		}
		roi := decode[struct {
			Currency string `json:"currency"`
			Total    struct {
				Sent    int `json:"sent"`
				HeldOut int `json:"held_out"`
				Uplift  struct {
					Defined  bool    `json:"defined"`
					Estimate float64 `json:"estimate"`
				} `json:"uplift"`
				Value *struct{ Estimate, Low, High float64 } `json:"value"`
			} `json:"total"`
			Groups []struct{ Step, Kind string } `json:"groups"`
		}](t, in.admin("GET", "/v1/analytics/roi", ""), 200)
		if roi.Currency != "EUR" || roi.Total.Sent != 1 || roi.Total.HeldOut != 1 || !roi.Total.Uplift.Defined ||
			roi.Total.Uplift.Estimate != 0 || roi.Total.Value == nil || roi.Total.Value.Estimate != 0 ||
			!(roi.Total.Value.Low < 0 && roi.Total.Value.High > 0) || len(roi.Groups) != 1 || roi.Groups[0].Step != "connect" {
			t.Fatalf("roi = %+v", roi)
		}

		j := decode[journeyView](t, in.publicCall("GET", "/v1/users/"+treated+"/journeys/setup", ""), 200)
		if j.Engagement == nil || *j.Engagement < 0 || *j.Engagement > 100 {
			t.Fatalf("journey engagement = %v", j.Engagement)
		}
	})
}

type interventionRecord struct {
	ID      string `json:"id"`
	UserID  string `json:"user_id"`
	HeldOut bool   `json:"held_out"`
	Kind    string `json:"kind"`
}

// waitList polls an intervention listing until it holds n items.
func waitList(t *testing.T, in *instance, path string, n int) []interventionRecord {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		list := decode[struct{ Items []interventionRecord }](t, in.admin("GET", path, ""), 200)
		if len(list.Items) >= n || time.Now().After(deadline) {
			if len(list.Items) != n {
				t.Fatalf("%s holds %d items, want %d: %+v", path, len(list.Items), n, list.Items)
			}
			return list.Items
		}
		time.Sleep(150 * time.Millisecond) // the admin rate limit allows 10 a second
	}
}

// waitReport polls the interventions report until ok holds.
func waitReport(t *testing.T, in *instance, ok func(effectsReport) bool) effectsReport {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		r := decode[effectsReport](t, in.admin("GET", "/v1/analytics/interventions", ""), 200)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report never showed the outcome: %+v\n%s", r, in.admin("GET", "/v1/interventions", "").body)
		}
		time.Sleep(150 * time.Millisecond) // the admin rate limit allows 10 a second
	}
}
