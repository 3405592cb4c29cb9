package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// eventsResult is the body of a 200 from POST /v1/events.
type eventsResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   []struct {
		Index       int
		ID          string
		Code, Field string
		Message     string
	} `json:"rejected"`
	Notices []struct {
		Index int
		ID    string
		Code  string
	} `json:"notices"`
}

type journeyView struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Flow     string `json:"flow"`
	Version  int    `json:"flow_version"`
	Current  string `json:"current_step"`
	NextStep *struct {
		Key string `json:"key"`
	} `json:"next_step"`
	Steps []struct {
		Key, Status string
		OutOfOrder  int `json:"out_of_order_attempts"`
	} `json:"steps"`
	Engagement *float64 `json:"engagement"`
}

// public sends JSON with the public key.
func (in *instance) publicCall(method, path, body string) response {
	in.t.Helper()
	if body == "" {
		return in.request(method, path, in.public, "", nil)
	}
	return in.request(method, path, in.public, "application/json", strings.NewReader(body))
}

// setupFlow creates content and publishes flow "getting-started":
// connect (required) → invite (required, needs connect); tour optional.
func setupFlow(t *testing.T, in *instance) {
	t.Helper()
	var c item
	in.admin("POST", "/v1/content-items", `{"kind":"tour","title":"Welcome tour","status":"published"}`).json(t, &c)
	body := fmt.Sprintf(`{"key":"getting-started","name":"Getting started","steps":[
		{"key":"connect","title":"Connect your account","kind":"task","content_item_id":%q,"required":true,"estimated_seconds":60,"target":"#connect"},
		{"key":"tour","title":"Take the tour","kind":"tour","content_item_id":%q,"basic":true},
		{"key":"invite","title":"Invite a teammate","kind":"task","content_item_id":%q,"required":true,"prerequisites":["connect"]}]}`, c.ID, c.ID, c.ID)
	if r := in.admin("POST", "/v1/flows", body); r.status != 201 {
		t.Fatalf("create flow: %d %s", r.status, r.body)
	}
	if r := in.admin("POST", "/v1/flows/getting-started/publish", ""); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
}

func eventJSON(id, typ, user, step string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":%q,"user_id":%q,"session_id":"s1","flow":"getting-started","step":%q,"timestamp":%q,"properties":{}}`,
		id, typ, user, step, at.UTC().Format("2006-01-02T15:04:05.000Z"))
}

func TestJourneyThroughEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		// role is a server-only trait: the customer's backend sets it with the secret key.
		if r := in.admin("POST", "/v1/identify", `{"user_id":"u_123","traits":{"role":"admin","experience":"expert","goals":["reporting"]}}`); r.status != 200 {
			t.Fatalf("identify: %d %s", r.status, r.body)
		}
		r := in.publicCall("POST", "/v1/users/u_123/journeys/getting-started", "")
		var j journeyView
		r.json(t, &j)
		if r.status != 201 || j.Status != "active" || j.Version != 1 || j.NextStep == nil || j.NextStep.Key != "connect" {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		again := in.publicCall("POST", "/v1/users/u_123/journeys/getting-started", "")
		var j2 journeyView
		again.json(t, &j2)
		if again.status != 200 || j2.ID != j.ID {
			t.Fatalf("second start: %d %s", again.status, again.body)
		}

		now := time.Now()
		batch := `{"events":[` + strings.Join([]string{
			eventJSON("e1", "step_started", "u_123", "connect", now),
			eventJSON("e2", "step_completed", "u_123", "invite", now),                      // prerequisites not met
			eventJSON("e1", "step_started", "u_123", "connect", now),                       // duplicate
			eventJSON("e3", "step_completed", "u_123", "connect", now.Add(10*time.Minute)), // in the future
		}, ",") + `]}`
		var res eventsResult
		r = in.publicCall("POST", "/v1/events", batch)
		r.json(t, &res)
		if r.status != 200 || res.Accepted != 2 || res.Duplicates != 1 || len(res.Rejected) != 1 ||
			res.Rejected[0].Index != 3 || res.Rejected[0].Field != "timestamp" ||
			len(res.Notices) != 1 || res.Notices[0].Code != "out_of_order" || res.Notices[0].Index != 1 {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}

		var next struct {
			NextStep *struct{ Key string } `json:"next_step"`
			Reason   string
		}
		in.publicCall("GET", "/v1/users/u_123/next-step?flow=getting-started", "").json(t, &next)
		if next.NextStep == nil || next.NextStep.Key != "connect" || next.Reason == "" {
			t.Fatalf("next step = %+v", next)
		}

		r = in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("e4", "step_completed", "u_123", "connect", now)+","+
			eventJSON("e5", "step_completed", "u_123", "invite", now.Add(time.Second))+`]}`)
		if r.status != 200 {
			t.Fatalf("finish: %d %s", r.status, r.body)
		}
		in.publicCall("GET", "/v1/users/u_123/journeys/getting-started", "").json(t, &j)
		if j.Status != "completed" || j.NextStep != nil || j.Steps[2].OutOfOrder != 1 {
			t.Fatalf("journey after completing = %+v", j)
		}
		r = in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("e6", "step_started", "u_123", "tour", now.Add(2*time.Second))+`]}`)
		res = eventsResult{}
		r.json(t, &res)
		if len(res.Notices) != 1 || res.Notices[0].Code != "journey_completed" {
			t.Fatalf("event after completion: %s", r.body)
		}
		in.publicCall("GET", "/v1/users/u_123/journeys/getting-started", "").json(t, &j)
		if j.Status != "completed" {
			t.Fatalf("completed journey reopened: %+v", j)
		}

		// Step events for a user without a journey start one; the user is created implicitly.
		in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("e7", "step_started", "newbie", "connect", now)+`]}`)
		if r := in.admin("GET", "/v1/users/newbie", ""); r.status != 200 {
			t.Fatalf("implicit user: %d %s", r.status, r.body)
		}
		if r := in.publicCall("GET", "/v1/users/newbie/journeys/getting-started", ""); r.status != 200 {
			t.Fatalf("implicit journey: %d %s", r.status, r.body)
		}
	})
}

func TestFlowVersioning(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		in.publicCall("POST", "/v1/users/old/journeys/getting-started", "")
		var f struct {
			Revision int
			Steps    []json.RawMessage
		}
		in.admin("GET", "/v1/flows/getting-started", "").json(t, &f)
		steps := `[` + string(f.Steps[0]) + `]`
		if r := in.admin("PATCH", "/v1/flows/getting-started", fmt.Sprintf(`{"revision":%d,"steps":%s}`, f.Revision, steps)); r.status != 200 {
			t.Fatalf("edit draft: %d %s", r.status, r.body)
		}
		if r := in.admin("PATCH", "/v1/flows/getting-started", fmt.Sprintf(`{"revision":%d,"name":"x"}`, f.Revision)); r.status != 409 {
			t.Fatalf("stale revision: %d %s", r.status, r.body)
		}
		in.admin("POST", "/v1/flows/getting-started/publish", "")
		var oldJ, newJ journeyView
		in.publicCall("GET", "/v1/users/old/journeys/getting-started", "").json(t, &oldJ)
		in.publicCall("POST", "/v1/users/new/journeys/getting-started", "").json(t, &newJ)
		if oldJ.Version != 1 || len(oldJ.Steps) != 3 || newJ.Version != 2 || len(newJ.Steps) != 1 {
			t.Fatalf("versions: old %+v new %+v", oldJ, newJ)
		}
		if r := in.admin("GET", "/v1/flows/getting-started/versions/1", ""); r.status != 200 || !strings.Contains(string(r.body), `"invite"`) {
			t.Fatalf("old version unreadable: %d %s", r.status, r.body)
		}
		var c struct{ Items []item }
		in.admin("GET", "/v1/content-items", "").json(t, &c)
		if r := in.admin("DELETE", "/v1/content-items/"+c.Items[0].ID, ""); r.status != 409 {
			t.Fatalf("deleting content a published flow uses: %d %s", r.status, r.body)
		}
	})
}

func TestFlowValidationOverHTTP(t *testing.T) {
	in := start(t, testConfig(t, "sqlite"))
	var c item
	in.admin("POST", "/v1/content-items", `{"kind":"task","title":"c"}`).json(t, &c)
	step := func(key, pre string) string {
		return fmt.Sprintf(`{"key":%q,"title":"t","kind":"task","content_item_id":%q,"prerequisites":[%s]}`, key, c.ID, pre)
	}
	cases := []struct{ name, body, field, msg string }{
		{"cycle", `{"key":"f","name":"n","steps":[` + step("a", `"b"`) + `,` + step("b", `"a"`) + `]}`, "steps", "cycle"},
		{"unknown prerequisite", `{"key":"f","name":"n","steps":[` + step("a", `"zz"`) + `]}`, "steps[0].prerequisites[0]", "zz"},
		{"missing content", `{"key":"f","name":"n","steps":[{"key":"a","title":"t","kind":"task","content_item_id":"nope"}]}`, "steps[0].content_item_id", "nope"},
		{"bad key", `{"key":"Not A Slug","name":"n"}`, "key", ""},
		{"unknown step field", `{"key":"f","name":"n","steps":[{"key":"a","title":"t","kind":"task","content_item_id":"x","color":"red"}]}`, "color", ""},
	}
	for _, tc := range cases {
		r := in.admin("POST", "/v1/flows", tc.body)
		code, field := r.errorCode()
		if r.status != 400 || code != "invalid" || field != tc.field || !strings.Contains(string(r.body), tc.msg) {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if r := in.admin("POST", "/v1/flows", `{"key":"empty","name":"n"}`); r.status != 201 {
		t.Fatalf("create: %d", r.status)
	}
	if r := in.admin("POST", "/v1/flows", `{"key":"empty","name":"n"}`); r.status != 409 {
		t.Fatalf("duplicate key: %d", r.status)
	}
	if r := in.admin("POST", "/v1/flows/empty/publish", ""); r.status != 400 {
		t.Fatalf("publishing a flow without steps: %d %s", r.status, r.body)
	}
	if r := in.publicCall("POST", "/v1/users/u/journeys/empty", ""); r.status != 409 {
		t.Fatalf("journey on an unpublished flow: %d %s", r.status, r.body)
	}
}

func TestUserAndFlowLists(t *testing.T) {
	in := start(t, testConfig(t, "sqlite"))
	if r := in.admin("GET", "/v1/users", ""); r.status != 200 || !strings.Contains(string(r.body), `"items":[]`) {
		t.Fatalf("empty list: %d %s", r.status, r.body)
	}
	for _, u := range []string{"b", "a", "c"} {
		in.admin("POST", "/v1/identify", `{"user_id":"`+u+`","traits":{"plan":"pro","experience":"some"}}`)
	}
	in.admin("POST", "/v1/identify", `{"user_id":"a","traits":{"plan":null,"role":"admin"}}`) // server-only traits: secret key
	var page struct {
		Items []struct {
			UserID string          `json:"user_id"`
			Traits json.RawMessage `json:"traits"`
		}
		NextCursor *string `json:"next_cursor"`
	}
	in.admin("GET", "/v1/users?limit=2", "").json(t, &page)
	if len(page.Items) != 2 || page.Items[0].UserID != "a" || page.NextCursor == nil ||
		string(page.Items[0].Traits) != `{"experience":"some","role":"admin"}` {
		t.Fatalf("page 1 = %+v", page)
	}
	in.admin("GET", "/v1/users?limit=2&cursor="+*page.NextCursor, "").json(t, &page)
	if len(page.Items) != 1 || page.Items[0].UserID != "c" || page.NextCursor != nil {
		t.Fatalf("page 2 = %+v", page)
	}
	in.admin("GET", "/v1/users?plan=pro&experience=some", "").json(t, &page)
	if len(page.Items) != 2 || page.Items[0].UserID != "b" {
		t.Fatalf("filtered by traits = %+v", page)
	}
	if r := in.admin("GET", "/v1/users?experience=guru", ""); r.status != 400 {
		t.Fatalf("bad experience filter: %d", r.status)
	}
	if r := in.admin("GET", "/v1/users?seen_since=yesterday", ""); r.status != 400 {
		t.Fatalf("bad seen_since: %d", r.status)
	}
	if r := in.publicCall("GET", "/v1/users", ""); r.status != 403 {
		t.Fatalf("public key listing users: %d", r.status)
	}
	if r := in.publicCall("POST", "/v1/identify", `{"user_id":"x","traits":{"experience":"guru"}}`); r.status != 400 || !strings.Contains(string(r.body), `"traits.experience"`) {
		t.Fatalf("bad trait: %d %s", r.status, r.body)
	}
	if r := in.publicCall("POST", "/v1/identify", `{"user_id":"x","traits":{"goals":"all"}}`); r.status != 400 {
		t.Fatalf("goals not a list: %d %s", r.status, r.body)
	}
	big := `{"user_id":"x","traits":{"blob":"` + strings.Repeat("x", 16*1024) + `"}}`
	if r := in.publicCall("POST", "/v1/identify", big); r.status != 400 {
		t.Fatalf("traits over 16 KiB: %d", r.status)
	}
}
