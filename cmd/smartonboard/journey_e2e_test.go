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
	c := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"tour","title":"Welcome tour","status":"published"}`), 201)
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
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		// role is a server-only trait: the customer's backend sets it with the secret key.
		if r := in.admin("POST", "/v1/identify", `{"user_id":"u_123","traits":{"role":"admin","experience":"expert","goals":["reporting"]}}`); r.status != 200 {
			t.Fatalf("identify: %d %s", r.status, r.body)
		}
		r := in.publicCall("POST", "/v1/users/u_123/journeys/getting-started", "")
		j := decode[journeyView](t, r, 201)
		if j.Status != "active" || j.Version != 1 || j.NextStep == nil || j.NextStep.Key != "connect" {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		again := in.publicCall("POST", "/v1/users/u_123/journeys/getting-started", "")
		if j2 := decode[journeyView](t, again, 200); j2.ID != j.ID {
			t.Fatalf("second start: %d %s", again.status, again.body)
		}

		now := time.Now()
		batch := `{"events":[` + strings.Join([]string{
			eventJSON("e1", "step_started", "u_123", "connect", now),
			eventJSON("e2", "step_completed", "u_123", "invite", now),                      // prerequisites not met
			eventJSON("e1", "step_started", "u_123", "connect", now),                       // duplicate
			eventJSON("e3", "step_completed", "u_123", "connect", now.Add(10*time.Minute)), // in the future
		}, ",") + `]}`
		r = in.publicCall("POST", "/v1/events", batch)
		res := decode[eventsResult](t, r, 200)
		if res.Accepted != 2 || res.Duplicates != 1 || len(res.Rejected) != 1 ||
			res.Rejected[0].Index != 3 || res.Rejected[0].Field != "timestamp" ||
			len(res.Notices) != 1 || res.Notices[0].Code != "out_of_order" || res.Notices[0].Index != 1 {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}

		type nextStep struct {
			NextStep *struct{ Key string } `json:"next_step"`
			Reason   string
		}
		next := decode[nextStep](t, in.publicCall("GET", "/v1/users/u_123/next-step?flow=getting-started", ""), 200)
		if next.NextStep == nil || next.NextStep.Key != "connect" || next.Reason == "" {
			t.Fatalf("next step = %+v", next)
		}

		r = in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("e4", "step_completed", "u_123", "connect", now)+","+
			eventJSON("e5", "step_completed", "u_123", "invite", now.Add(time.Second))+`]}`)
		if r.status != 200 {
			t.Fatalf("finish: %d %s", r.status, r.body)
		}
		done := decode[journeyView](t, in.publicCall("GET", "/v1/users/u_123/journeys/getting-started", ""), 200)
		if done.Status != "completed" || done.NextStep != nil || len(done.Steps) != 3 || done.Steps[2].OutOfOrder != 1 {
			t.Fatalf("journey after completing = %+v", done)
		}
		r = in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("e6", "step_started", "u_123", "tour", now.Add(2*time.Second))+`]}`)
		if res := decode[eventsResult](t, r, 200); res.Accepted != 1 || len(res.Notices) != 1 || res.Notices[0].Code != "journey_completed" {
			t.Fatalf("event after completion: %s", r.body)
		}
		after := decode[journeyView](t, in.publicCall("GET", "/v1/users/u_123/journeys/getting-started", ""), 200)
		if after.ID != j.ID || after.Status != "completed" {
			t.Fatalf("completed journey reopened: %+v", after)
		}

		// Step events for a user without a journey start one; the user is created implicitly.
		r = in.publicCall("POST", "/v1/events", `{"events":[`+eventJSON("e7", "step_started", "newbie", "connect", now)+`]}`)
		if res := decode[eventsResult](t, r, 200); res.Accepted != 1 {
			t.Fatalf("first step event of a new user: %s", r.body)
		}
		if r := in.admin("GET", "/v1/users/newbie", ""); r.status != 200 {
			t.Fatalf("implicit user: %d %s", r.status, r.body)
		}
		if r := in.publicCall("GET", "/v1/users/newbie/journeys/getting-started", ""); r.status != 200 {
			t.Fatalf("implicit journey: %d %s", r.status, r.body)
		}
	})
}

func TestFlowVersioning(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		setupFlow(t, in)
		decode[journeyView](t, in.publicCall("POST", "/v1/users/old/journeys/getting-started", ""), 201)
		type flow struct {
			Revision int
			Steps    []json.RawMessage
		}
		f := decode[flow](t, in.admin("GET", "/v1/flows/getting-started", ""), 200)
		steps := `[` + string(f.Steps[0]) + `]`
		if r := in.admin("PATCH", "/v1/flows/getting-started", fmt.Sprintf(`{"revision":%d,"steps":%s}`, f.Revision, steps)); r.status != 200 {
			t.Fatalf("edit draft: %d %s", r.status, r.body)
		}
		if r := in.admin("PATCH", "/v1/flows/getting-started", fmt.Sprintf(`{"revision":%d,"name":"x"}`, f.Revision)); r.status != 409 {
			t.Fatalf("stale revision: %d %s", r.status, r.body)
		}
		if r := in.admin("POST", "/v1/flows/getting-started/publish", ""); r.status != 201 {
			t.Fatalf("publish version 2: %d %s", r.status, r.body)
		}
		oldJ := decode[journeyView](t, in.publicCall("GET", "/v1/users/old/journeys/getting-started", ""), 200)
		newJ := decode[journeyView](t, in.publicCall("POST", "/v1/users/new/journeys/getting-started", ""), 201)
		if oldJ.Version != 1 || len(oldJ.Steps) != 3 || newJ.Version != 2 || len(newJ.Steps) != 1 {
			t.Fatalf("versions: old %+v new %+v", oldJ, newJ)
		}
		if r := in.admin("GET", "/v1/flows/getting-started/versions/1", ""); r.status != 200 || !strings.Contains(string(r.body), `"invite"`) {
			t.Fatalf("old version unreadable: %d %s", r.status, r.body)
		}
		c := decode[itemList](t, in.admin("GET", "/v1/content-items", ""), 200)
		if len(c.Items) != 1 {
			t.Fatalf("content items = %+v, want the one setupFlow made", c.Items)
		}
		if r := in.admin("DELETE", "/v1/content-items/"+c.Items[0].ID, ""); r.status != 409 {
			t.Fatalf("deleting content a published flow uses: %d %s", r.status, r.body)
		}
	})
}

func TestFlowValidationOverHTTP(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	c := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"task","title":"c"}`), 201)
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
		if e := r.apiErr(t); r.status != 400 || e.Code != "invalid" || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
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
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	if r := in.admin("GET", "/v1/users", ""); r.status != 200 || !strings.Contains(string(r.body), `"items":[]`) {
		t.Fatalf("empty list: %d %s", r.status, r.body)
	}
	for _, body := range []string{`{"user_id":"b","traits":{"plan":"pro","experience":"some"}}`,
		`{"user_id":"a","traits":{"plan":"pro","experience":"some"}}`, `{"user_id":"c","traits":{"plan":"pro","experience":"some"}}`,
		`{"user_id":"a","traits":{"plan":null,"role":"admin"}}`} {
		if r := in.admin("POST", "/v1/identify", body); r.status != 200 { // server-only traits: secret key
			t.Fatalf("identify %s: %d %s", body, r.status, r.body)
		}
	}
	type userPage struct {
		Items []struct {
			UserID string          `json:"user_id"`
			Traits json.RawMessage `json:"traits"`
		}
		NextCursor *string `json:"next_cursor"`
	}
	page := decode[userPage](t, in.admin("GET", "/v1/users?limit=2", ""), 200)
	if len(page.Items) != 2 || page.Items[0].UserID != "a" || page.NextCursor == nil ||
		string(page.Items[0].Traits) != `{"experience":"some","role":"admin"}` {
		t.Fatalf("page 1 = %+v", page)
	}
	page2 := decode[userPage](t, in.admin("GET", "/v1/users?limit=2&cursor="+*page.NextCursor, ""), 200)
	if len(page2.Items) != 1 || page2.Items[0].UserID != "c" || page2.NextCursor != nil {
		t.Fatalf("page 2 = %+v", page2)
	}
	filtered := decode[userPage](t, in.admin("GET", "/v1/users?plan=pro&experience=some", ""), 200)
	if len(filtered.Items) != 2 || filtered.Items[0].UserID != "b" || filtered.Items[1].UserID != "c" {
		t.Fatalf("filtered by traits = %+v", filtered)
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

// TestJourneyCarriesItsPresentation: the answers the SDK reads carry each
// step's placement and its content rendered and sanitized.
func TestJourneyCarriesItsPresentation(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	c := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"tour","title":"Tour","body":"Press **Connect**.<script>alert(1)</script><img src=x onerror=alert(2)>","status":"published"}`), 201)
	video := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"video","title":"Intro","body":"Two minutes.","status":"published","metadata":{"video_url":"https://cdn.example.com/intro.mp4"}}`), 201)
	badVideo := decode[item](t, in.admin("POST", "/v1/content-items",
		`{"kind":"video","title":"Bad","body":"x","status":"published","metadata":{"video_url":"javascript:alert(1)"}}`), 201)
	body := fmt.Sprintf(`{"key":"pages","name":"Across pages","steps":[
		{"key":"connect","title":"Connect","kind":"tour","content_item_id":%[1]q,"required":true,"target":"#connect","url":"/settings/*","placement":"right","target_timeout_ms":2500},
		{"key":"watch","title":"Watch","kind":"video","content_item_id":%[2]q},
		{"key":"after","title":"After","kind":"video","content_item_id":%[3]q}]}`, c.ID, video.ID, badVideo.ID)
	if r := in.admin("POST", "/v1/flows", body); r.status != 201 {
		t.Fatalf("create flow: %d %s", r.status, r.body)
	}
	if r := in.admin("POST", "/v1/flows/pages/publish", ""); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	type presented struct {
		Presentation *struct {
			Name  string
			Steps []struct {
				Key, Title, Target, URL, Placement string
				TargetTimeoutMS                    int    `json:"target_timeout_ms"`
				BodyHTML                           string `json:"body_html"`
				VideoURL                           string `json:"video_url"`
			}
		}
	}
	for _, c := range []struct {
		r      response
		status int
	}{
		{in.publicCall("POST", "/v1/users/u_p/journeys/pages", ""), 201},
		{in.publicCall("GET", "/v1/users/u_p/journeys/pages", ""), 200},
	} {
		r := c.r
		v := decode[presented](t, r, c.status)
		p := v.Presentation
		if p == nil || p.Name != "Across pages" || len(p.Steps) != 3 {
			t.Fatalf("presentation %+v in %s", p, r.body)
		}
		s := p.Steps[0]
		if s.Key != "connect" || s.Target != "#connect" || s.URL != "/settings/*" || s.Placement != "right" || s.TargetTimeoutMS != 2500 {
			t.Fatalf("step placement %+v", s)
		}
		if !strings.Contains(s.BodyHTML, "<strong>Connect</strong>") || strings.Contains(s.BodyHTML, "<script") || strings.Contains(s.BodyHTML, "onerror") {
			t.Fatalf("body_html not rendered and sanitized: %q", s.BodyHTML)
		}
		if p.Steps[1].VideoURL != "https://cdn.example.com/intro.mp4" || p.Steps[2].VideoURL != "" || s.VideoURL != "" {
			t.Fatalf("video URLs %q, %q and %q: want the https one only", s.VideoURL, p.Steps[1].VideoURL, p.Steps[2].VideoURL)
		}
	}
}
