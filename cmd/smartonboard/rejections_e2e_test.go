package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/webhook"
)

// click is a click outside any flow.
func click(id, user string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"click","user_id":%q,"session_id":"s1","timestamp":%q,"properties":{}}`,
		id, user, at.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// invalid is an event of a type that does not exist.
func invalid(id string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"nope","user_id":"u1","timestamp":%q}`, id, at.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// postRejected posts a batch in which every event is rejected and checks
// that the 200 names each one, in order, with its code.
func postRejected(t *testing.T, in *instance, events []string, codes []string) {
	t.Helper()
	r := in.eventsCall(in.public, `{"events":[`+strings.Join(events, ",")+`]}`)
	res := decode[eventsResult](t, r, 200)
	if res.Accepted != 0 || len(res.Rejected) != len(events) {
		t.Fatalf("a batch of %d events to reject: accepted %d, rejected %d: %s", len(events), res.Accepted, len(res.Rejected), truncate(r.body))
	}
	for i, rej := range res.Rejected {
		if rej.Index != i || rej.Code != codes[i] {
			t.Fatalf("rejection %d = %+v, want index %d, code %s", i, rej, i, codes[i])
		}
	}
}

// ownedClicks is n accepted clicks of user owner (ids own-0 …), and the same
// ids sent by user thief, which are conflicts.
func ownedClicks(n int, at time.Time) (owned, stolen []string) {
	for i := range n {
		owned = append(owned, click(fmt.Sprintf("own-%d", i), "owner", at))
		stolen = append(stolen, click(fmt.Sprintf("own-%d", i), "thief", at))
	}
	return owned, stolen
}

// overviewRejected reads events_rejected of the overview over [from, to).
func overviewRejected(t *testing.T, in *instance, from, to time.Time) int64 {
	t.Helper()
	path := "/v1/analytics/overview?from=" + urlQuery(so.FormatTime(from)) + "&to=" + urlQuery(so.FormatTime(to))
	return rejectedOf(t, in.admin("GET", path, ""))
}

// rejectedOf reads events_rejected of an overview, which it must have.
func rejectedOf(t *testing.T, r response) int64 {
	t.Helper()
	n := decode[struct {
		EventsRejected *int64 `json:"events_rejected"`
	}](t, r, 200).EventsRejected
	if n == nil {
		t.Fatalf("the overview has no events_rejected: %s", truncate(r.body))
	}
	return *n
}

// waitRejected flushes the instance's rejection counts until the overview
// over [from, to) shows want: the 10-second flusher may hold a batch of
// them when the test's flush finds none.
func waitRejected(t *testing.T, in *instance, from, to time.Time, want int64) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(150 * time.Millisecond) { // the admin limit allows 10 a second
		if _, err := in.m.api.FlushRejections(context.Background()); err != nil {
			t.Fatalf("flush rejections: %v", err)
		}
		got := overviewRejected(t, in, from, to)
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("the overview shows %d rejected events, want %d", got, want)
		}
	}
}

// metric reads one sample of /metrics (series as written there, labels and all).
func metric(t *testing.T, in *instance, series string) float64 {
	t.Helper()
	r := in.request("GET", "/metrics", "", "", nil)
	if r.status != 200 {
		t.Fatalf("GET /metrics: %d %s", r.status, truncate(r.body))
	}
	for sc := bufio.NewScanner(bytes.NewReader(r.body)); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}

// TestRejectedEventsRaiseAnAlert sends a week's baseline with 1% of events
// rejected, then 400 accepted events and a burst of 100 rejected ones (90
// invalid, 10 conflicts): the overview counts the burst, the rules open one
// critical alert naming invalid with the numbers that fired it, its webhook
// goes once, and the alert resolves itself once the burst is past.
func TestRejectedEventsRaiseAnAlert(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AlertInterval = 24 * time.Hour // the test runs the rules itself
		in := startFast(t, cfg)
		rc := newReceiver(t, 0)
		rc.subscribe(in, webhook.AlertOpened)
		ctx, now := context.Background(), time.Now()
		writeRejectedBaseline(t, in, now.Add(-3*24*time.Hour))

		owned, stolen := ownedClicks(10, now.Add(-time.Second))
		accepted := owned
		for i := range 390 {
			accepted = append(accepted, click(fmt.Sprintf("c-%d", i), fmt.Sprintf("user-%d", i%40), now.Add(-time.Second)))
		}
		postEvents(t, in, accepted...)
		var burst, codes []string
		for i := range 90 {
			burst, codes = append(burst, invalid(fmt.Sprintf("bad-%d", i), now)), append(codes, so.EINVALID)
		}
		for _, ev := range stolen {
			burst, codes = append(burst, ev), append(codes, so.ECONFLICT)
		}
		postRejected(t, in, burst, codes)
		waitRolledUp(t, in)
		since, end := now.UTC().Truncate(time.Hour).Add(-time.Hour), now.UTC().Truncate(time.Hour).Add(2*time.Hour)
		waitRejected(t, in, since, end, 100)
		if got := overviewRejected(t, in, now.Add(-7*24*time.Hour), end); got != 200 {
			t.Fatalf("the week's overview shows %d rejected events, want 200 (the baseline's 100 and the burst)", got)
		}
		if inv, con := metric(t, in, `smartonboard_events_rejected_total{code="invalid"}`),
			metric(t, in, `smartonboard_events_rejected_total{code="conflict"}`); inv != 90 || con != 10 {
			t.Fatalf("rejected by code in /metrics: invalid %v, conflict %v; want 90 and 10", inv, con)
		}

		for range 2 {
			if err := in.m.evaluateAlerts(ctx); err != nil {
				t.Fatalf("evaluate: %v", err)
			}
		}
		as := listAlerts(t, in)
		if len(as) != 1 || as[0].Key != analytics.RuleRejectedEvents || as[0].Rule != analytics.RuleRejectedEvents ||
			as[0].Status != "open" || as[0].Severity != "critical" || !strings.Contains(as[0].Message, `90 of them with code "invalid"`) {
			t.Fatalf("alerts = %+v; want one open critical rejected-events alert naming invalid", as)
		}
		want := map[string]float64{"recent_rejected": 100, "recent_accepted": 400, "recent_share": 0.2, "top_code_rejected": 90,
			"baseline_rejected": 100, "baseline_accepted": 9900, "baseline_share": 0.01, "factor": 2}
		for k, v := range want {
			if as[0].Numbers[k] != v {
				t.Fatalf("alert numbers = %v; want %s = %v", as[0].Numbers, k, v)
			}
		}
		query := decode[alertQuery](t, in.admin("GET", "/v1/alerts", ""), 200).Alerts[0].Query
		if got := rejectedOf(t, in.admin("GET", query, "")); got != 100 {
			t.Fatalf("the alert's query %s shows %d rejected events, want 100", query, got)
		}
		rc.waitTypes(webhook.AlertOpened)

		if _, err := analytics.EvaluateAlerts(ctx, in.m.db, now.Add(3*time.Hour)); err != nil {
			t.Fatalf("evaluate 3 hours later: %v", err)
		}
		if as := listAlerts(t, in); len(as) != 1 || as[0].Status != "resolved" || as[0].ResolvedBy != "condition" {
			t.Fatalf("3 hours after the burst, alerts = %+v; want the alert resolved by its condition", as)
		}
	})
}

type alertQuery struct {
	Alerts []struct{ Query string }
}

// writeRejectedBaseline stores a past hour straight into the rollups and the
// rejection counts: 9,900 accepted events and 100 rejected ones.
func writeRejectedBaseline(t *testing.T, in *instance, at time.Time) {
	t.Helper()
	hour, ctx := at.UTC().Truncate(time.Hour), context.Background()
	rows := &so.Rollups{Activity: []so.ActivityRollup{{ProjectID: so.DefaultProjectID, Unit: so.UnitHour, Start: hour, Events: 9900}}}
	if err := in.m.db.RebuildAnalytics(ctx, func(ctx context.Context, tx so.RebuildTx) error { return tx.SaveRollups(ctx, rows) }); err != nil {
		t.Fatal(err)
	}
	err := in.m.db.AddRejections(ctx, []so.RejectionCount{{ProjectID: so.DefaultProjectID, Hour: hour, Code: so.EINVALID, Events: 100}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRejectionFloodStaysBounded floods an instance that may hold one
// rejection count with batches of two codes: it never holds more than one,
// the events it could not hold are counted as dropped, and the stored
// counts and the dropped ones add up to every rejection.
func TestRejectionFloodStaysBounded(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := startMain(t, &Main{Config: testConfig(t, engine), MaxRejectionKeys: 1})
		now := time.Now()
		owned, stolen := ownedClicks(250, now.Add(-time.Second))
		postEvents(t, in, owned...)
		const batches = 4
		for b := range batches {
			var flood, codes []string
			for i := range 250 {
				flood, codes = append(flood, invalid(fmt.Sprintf("bad-%d-%d", b, i), now)), append(codes, so.EINVALID)
			}
			flood, codes = append(flood, stolen...), append(codes, slices.Repeat([]string{so.ECONFLICT}, 250)...)
			postRejected(t, in, flood, codes)
			if keys := metric(t, in, "smartonboard_events_rejected_pending_keys"); keys > 1 {
				t.Fatalf("after batch %d the instance holds %v rejection counts; the cap is 1", b, keys)
			}
		}
		dropped := metric(t, in, "smartonboard_events_rejected_dropped_total")
		if dropped < batches*250 {
			t.Fatalf("dropped %v rejected events; each batch's second code (%d) must be", dropped, batches*250)
		}
		if inv := metric(t, in, `smartonboard_events_rejected_total{code="invalid"}`); inv != batches*250 {
			t.Fatalf("invalid rejections in /metrics = %v, want %d", inv, batches*250)
		}
		since, end := now.UTC().Truncate(time.Hour).Add(-time.Hour), now.UTC().Truncate(time.Hour).Add(2*time.Hour)
		waitRejected(t, in, since, end, batches*500-int64(dropped))
	})
}

// TestRejectionsFlushedAtShutdown stops an instance right after a batch of
// rejections, long before its next flush: a restarted instance shows them.
func TestRejectionsFlushedAtShutdown(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.AdminKey, cfg.PublicKey = "sk_"+strings.Repeat("r", 40), "pk_"+strings.Repeat("r", 40)
		in := start(t, cfg)
		in.secret, in.public = cfg.AdminKey, cfg.PublicKey
		now := time.Now()
		var bad, codes []string
		for i := range 60 {
			bad, codes = append(bad, invalid(fmt.Sprintf("bad-%d", i), now)), append(codes, so.EINVALID)
		}
		postRejected(t, in, bad, codes)
		if err := in.m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		again := start(t, cfg)
		again.secret = cfg.AdminKey
		since, end := now.UTC().Truncate(time.Hour).Add(-time.Hour), now.UTC().Truncate(time.Hour).Add(2*time.Hour)
		if got := overviewRejected(t, again, since, end); got != 60 {
			t.Fatalf("after a restart the overview shows %d rejected events, want 60", got)
		}
	})
}
