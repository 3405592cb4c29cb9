package main

import (
	"context"
	"testing"
	"time"
)

// TestEventIDOfAnotherUser: an id already stored for another user's event is
// rejected as a conflict, never reported as a duplicate of that event; a retry
// by the same user stays a duplicate; two users sharing an id in one batch
// conflict too.
func TestEventIDOfAnotherUser(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		now := time.Now()
		post := func(events ...string) eventsResult {
			t.Helper()
			body := `{"events":[`
			for i, e := range events {
				if i > 0 {
					body += ","
				}
				body += e
			}
			r := in.publicCall("POST", "/v1/events", body+`]}`)
			return decode[eventsResult](t, r, 200)
		}
		if res := post(eventJSON("shared", "click", "alice", "", now)); res.Accepted != 1 {
			t.Fatalf("first: %+v", res)
		}
		res := post(eventJSON("shared", "click", "bob", "", now), eventJSON("shared", "click", "alice", "", now),
			eventJSON("pair", "click", "carol", "", now), eventJSON("pair", "click", "dave", "", now))
		if res.Accepted != 1 || res.Duplicates != 1 || len(res.Rejected) != 2 {
			t.Fatalf("got %+v; want 1 accepted, 1 duplicate, 2 rejected", res)
		}
		for k, index := range []int{0, 3} {
			got := res.Rejected[k]
			if got.Index != index || got.Code != "conflict" || got.Field != "id" || got.Message == "" {
				t.Fatalf("rejected[%d] = %+v; want index %d, conflict on id", k, got, index)
			}
		}
		for _, user := range []string{"bob", "dave"} {
			if evs, err := in.m.db.ListUserEvents(context.Background(), "default", user, 10); err != nil || len(evs) != 0 {
				t.Fatalf("%s's refused event was stored: %v, %v", user, evs, err)
			}
		}
	})
}
