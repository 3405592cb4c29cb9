package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEventValidation sends one invalid event per rule beside a valid one: each
// is rejected with its field, and the valid sibling is still accepted.
func TestEventValidation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		ev := func(fields string) string { return `{` + fields + `}` }
		base := fmt.Sprintf(`"type":"click","user_id":"u1","timestamp":%q`, ts)
		cases := []struct{ name, event, field string }{
			{"missing id", ev(base), "id"},
			{"id too long", ev(`"id":"` + strings.Repeat("x", 65) + `",` + base), "id"},
			{"unknown type", ev(fmt.Sprintf(`"id":"a","type":"scroll","user_id":"u1","timestamp":%q`, ts)), "type"},
			{"missing user", ev(fmt.Sprintf(`"id":"a","type":"click","timestamp":%q`, ts)), "user_id"},
			{"missing timestamp", ev(`"id":"a","type":"click","user_id":"u1"`), "timestamp"},
			{"bad timestamp", ev(`"id":"a","type":"click","user_id":"u1","timestamp":"yesterday"`), "timestamp"},
			{"timestamp before 2000", ev(`"id":"a","type":"click","user_id":"u1","timestamp":"0000-01-01T00:00:00Z"`), "timestamp"},
			{"future timestamp", ev(fmt.Sprintf(`"id":"a","type":"click","user_id":"u1","timestamp":%q`, time.Now().Add(6*time.Minute).UTC().Format(time.RFC3339))), "timestamp"},
			{"step event without flow", ev(fmt.Sprintf(`"id":"a","type":"step_completed","user_id":"u1","step":"s","timestamp":%q`, ts)), "flow"},
			{"step event without step", ev(fmt.Sprintf(`"id":"a","type":"step_completed","user_id":"u1","flow":"f","timestamp":%q`, ts)), "step"},
			{"custom without name", ev(`"id":"a",` + strings.Replace(base, "click", "custom", 1)), "properties.name"},
			{"properties not object", ev(`"id":"a",` + base + `,"properties":[1]`), "properties"},
			{"properties too big", ev(`"id":"a",` + base + `,"properties":{"x":"` + strings.Repeat("y", 8*1024) + `"}`), "properties"},
			{"invalid UTF-8 in properties", ev(`"id":"a",` + base + ",\"properties\":{\"x\":\"\xff\"}"), "properties.x"},
			{"lone surrogate in properties", ev(`"id":"a",` + base + `,"properties":{"x":"\ud800"}`), "properties.x"},
			{"invalid UTF-8 in user id", ev(`"id":"a",` + strings.Replace(base, `"u1"`, "\"u\xff\"", 1)), "user_id"},
			{"user id given twice", ev(`"id":"a",` + base + `,"user_id":"u2"`), "user_id"},
			{"user id in another case", ev(`"id":"a",` + base + `,"USER_ID":"u2"`), "USER_ID"},
			{"repeated property", ev(`"id":"a",` + base + `,"properties":{"x":1,"x":2}`), "properties.x"},
			{"wrong type", ev(`"id":5,` + base), "id"},
			{"unknown field", ev(`"id":"a",` + base + `,"colour":"red"`), "colour"},
			{"not an object", `"click"`, ""},
			{"null", `null`, ""},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				valid := ev(fmt.Sprintf(`"id":"ok-%d",%s`, i, base))
				r := in.publicCall("POST", "/v1/events", `{"events":[`+valid+`,`+c.event+`]}`)
				res := decode[eventsResult](t, r, 200)
				if res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Index != 1 ||
					res.Rejected[0].Code != "invalid" || res.Rejected[0].Field != c.field || res.Rejected[0].Message == "" {
					t.Fatalf("%d %s", r.status, r.body)
				}
			})
		}
		if n := countEvents(t, in); n != len(cases) {
			t.Fatalf("%d events stored, want %d (only the valid ones)", n, len(cases))
		}
	})
}

// countEvents counts the events of the default project, failing the test when
// the count cannot be read, so an error never passes for "none stored".
func countEvents(t *testing.T, in *instance) int {
	t.Helper()
	n, err := in.m.db.CountEvents(context.Background(), "default")
	if err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n
}

func TestEventEnvelope(t *testing.T) {
	t.Parallel()
	in := start(t, testConfig(t, "sqlite"))
	one := eventJSON("x1", "click", "u1", "", time.Now())
	many := strings.TrimSuffix(strings.Repeat(one+",", 501), ",")
	cases := []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"not JSON", "application/json", `{"events":[`, 400, "invalid"},
		{"no events", "application/json", `{}`, 400, "invalid"},
		{"events not array", "application/json", `{"events":{}}`, 400, "invalid"},
		{"unknown envelope field", "application/json", `{"events":[],"batch":1}`, 400, "invalid"},
		{"trailing bracket", "application/json", `{"events":[` + one + `]}]`, 400, "invalid"},
		{"trailing brace", "application/json", `{"events":[` + one + `]}}`, 400, "invalid"},
		{"over 500 events", "application/json", `{"events":[` + many + `]}`, 413, "too_large"},
		{"over 1 MiB", "application/json", `{"events":[` + one + `],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large"},
		{"form content type", "application/x-www-form-urlencoded", `{"events":[]}`, 415, "unsupported_media_type"},
	}
	for _, c := range cases {
		r := in.request("POST", "/v1/events", in.public, c.ct, strings.NewReader(c.body))
		if e := r.apiErr(t); r.status != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s", c.name, r.status, truncate(r.body))
		}
	}
	if n := countEvents(t, in); n != 0 {
		t.Fatalf("a rejected request stored %d events", n)
	}
	// navigator.sendBeacon posts text/plain and cannot set headers: the public key
	// comes in the URL.
	r := in.request("POST", "/v1/events?key="+in.public, "", "text/plain;charset=UTF-8", strings.NewReader(`{"events":[`+one+`]}`))
	if r.status != 200 || !strings.Contains(string(r.body), `"accepted":1`) {
		t.Fatalf("sendBeacon-style batch: %d %s", r.status, r.body)
	}
	if r := in.request("POST", "/v1/events?key="+in.secret, "", "text/plain", strings.NewReader(`{"events":[]}`)); r.status != 401 {
		t.Fatalf("secret key in a URL: %d", r.status)
	}
	if r := in.request("GET", "/v1/users/u1/next-step?flow=x&key="+in.public, "", "", nil); r.status != 401 {
		t.Fatalf("?key= outside POST /v1/events: %d", r.status)
	}
	if r := in.request("POST", "/v1/events", "", "application/json", strings.NewReader(`{"events":[]}`)); r.status != 401 {
		t.Fatalf("no key: %d", r.status)
	}
}

// TestConcurrentDuplicateBatches posts the same batch from 20 clients at once:
// exactly one row per id, and every response adds up.
func TestConcurrentDuplicateBatches(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		var evs []string
		for i := range 50 {
			evs = append(evs, eventJSON(fmt.Sprintf("dup-%d", i), "click", fmt.Sprintf("u%d", i%5), "", time.Now()))
		}
		body := `{"events":[` + strings.Join(evs, ",") + `]}`
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, duplicates := 0, 0
		for range 20 {
			wg.Go(func() {
				r := in.publicCall("POST", "/v1/events", body)
				if r.status != 200 {
					t.Errorf("%d %s", r.status, r.body)
					return
				}
				var res eventsResult
				if err := json.Unmarshal(r.body, &res); err != nil || res.Accepted+res.Duplicates != 50 {
					t.Errorf("%v: %s", err, r.body)
					return
				}
				mu.Lock()
				accepted, duplicates = accepted+res.Accepted, duplicates+res.Duplicates
				mu.Unlock()
			})
		}
		wg.Wait()
		if n := countEvents(t, in); n != 50 || accepted != 50 || duplicates != 19*50 {
			t.Fatalf("rows %d, accepted %d, duplicates %d; want 50, 50, 950", n, accepted, duplicates)
		}
	})
}
