package analytics_test

import (
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

var alertNow = time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC)

// cohort adds n journeys of flow that started at an hour, done of them
// completed in an hour (within a day), and scored in the bucket.
func cohort(tl *analytics.Tally, flow string, hour time.Time, n, done, bucket int) {
	for i := range n {
		f := &so.JourneyFact{ProjectID: "p", JourneyID: flow + hour.String() + string(rune(i)), Flow: flow, Version: 1,
			StartHour: hour, Status: so.JourneyActive, Step: "a", EngagementBucket: &bucket,
			Steps: []so.StepFact{{Key: "a", Reached: true}}}
		if i < done {
			f.Status, f.CompleteSeconds = so.JourneyCompleted, seconds(3600)
		}
		tl.Replace(nil, f)
	}
}

func checkOf(checks []analytics.Check, key string) analytics.Check {
	for _, c := range checks {
		if c.Key == key {
			return c
		}
	}
	return analytics.Check{}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	j := analytics.NewTally()
	// Baseline (30 days to 48 h ago): 200 journeys of setup, 120 completed
	// within a day (60%), scored in the 70s. Recent (48–24 h ago): 40, 12
	// completed (30%): 30 points down, twice the margin: critical. The last
	// day: 40 journeys scored in the 50s: 20 points down.
	cohort(j, "setup", alertNow.Add(-10*24*time.Hour).Truncate(time.Hour), 200, 120, 7)
	cohort(j, "setup", alertNow.Add(-30*time.Hour).Truncate(time.Hour), 40, 12, 7)
	cohort(j, "setup", alertNow.Add(-2*time.Hour).Truncate(time.Hour), 40, 0, 5)
	// Flow calm: the same completion either side.
	cohort(j, "calm", alertNow.Add(-10*24*time.Hour).Truncate(time.Hour), 200, 100, 5)
	cohort(j, "calm", alertNow.Add(-30*time.Hour).Truncate(time.Hour), 40, 20, 5)
	// Flow small: a steep drop on 10 journeys, too few to fire.
	cohort(j, "small", alertNow.Add(-10*24*time.Hour).Truncate(time.Hour), 200, 150, 5)
	cohort(j, "small", alertNow.Add(-30*time.Hour).Truncate(time.Hour), 10, 0, 5)
	act := analytics.NewTally()
	// 56 abandonments over the four weeks before (2 a day), 30 in the last day.
	for d := 2; d < 30; d++ {
		for range 2 {
			act.Event(&so.Event{ProjectID: "p", Type: so.EventJourneyAbandoned, Timestamp: alertNow.Add(-time.Duration(d)*24*time.Hour + time.Hour)}, alertNow)
		}
	}
	for range 30 {
		act.Event(&so.Event{ProjectID: "p", Type: so.EventJourneyAbandoned, Timestamp: alertNow.Add(-time.Hour)}, alertNow)
	}
	checks := analytics.Checks(analytics.AlertWindow{Now: alertNow, Journeys: stored(t, j), Activity: stored(t, act)})
	drop := checkOf(checks, "completion_drop:setup")
	if !drop.Firing || drop.Severity != "critical" || drop.Numbers["recent_completion_rate"] != 0.3 ||
		drop.Numbers["baseline_completion_rate"] != 0.6 || drop.Numbers["recent_journeys"] != 40 || drop.Message == "" || drop.Query == "" {
		t.Errorf("setup completion = %+v", drop)
	}
	if c := checkOf(checks, "completion_drop:calm"); c.Firing || c.Key == "" {
		t.Errorf("calm completion fired or is missing: %+v", c)
	}
	if c := checkOf(checks, "completion_drop:small"); c.Firing || c.Key == "" {
		t.Errorf("a drop on 10 journeys fired: %+v", c)
	}
	// Means: baseline (200 + 40) journeys at 75, recent 40 at 55.
	eng := checkOf(checks, "engagement_falling:setup")
	if !eng.Firing || eng.Numbers["recent_mean_score"] != 55 || eng.Numbers["baseline_mean_score"] != 75 {
		t.Errorf("setup engagement = %+v", eng)
	}
	ab := checkOf(checks, "abandonment_spike")
	if !ab.Firing || ab.Numbers["recent_abandoned"] != 30 || ab.Numbers["baseline_daily_abandoned"] != 2 {
		t.Errorf("abandonment = %+v", ab)
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	firing := analytics.Check{Key: "k", Rule: "completion_drop", Severity: "warning", Firing: true, Message: "m",
		Numbers: map[string]float64{"x": 1}, Query: "/q"}
	calm := firing
	calm.Firing = false
	t0 := alertNow
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

	save, opened := analytics.Reconcile("p", map[string]*so.Alert{}, []analytics.Check{firing}, at(0))
	if len(save) != 1 || len(opened) != 1 || opened[0].Status != so.AlertOpen || opened[0].Key != "k" || opened[0].ProjectID != "p" {
		t.Fatalf("first firing: save %v, opened %v", save, opened)
	}
	a := opened[0]
	latest := map[string]*so.Alert{"k": a}
	if save, opened = analytics.Reconcile("p", latest, []analytics.Check{firing}, at(1)); len(opened) != 0 || len(save) != 1 || !save[0].UpdatedAt.Equal(at(1)) {
		t.Fatalf("still firing opened another: %v", opened)
	}
	if _, err := a.Acknowledge(at(2)); err != nil {
		t.Fatal(err)
	}
	if save, _ = analytics.Reconcile("p", latest, []analytics.Check{calm}, at(3)); len(save) != 0 || a.Status != so.AlertAcknowledged {
		t.Fatalf("cleared condition resolved an acknowledged alert: %+v", a)
	}
	a.Resolve(at(4))
	if save, opened = analytics.Reconcile("p", latest, []analytics.Check{firing}, at(5)); len(opened) != 0 || len(save) != 0 {
		t.Fatalf("a user-resolved alert still firing reopened: %v", opened)
	}
	if save, _ = analytics.Reconcile("p", latest, []analytics.Check{calm}, at(6)); len(save) != 1 || !a.Cleared {
		t.Fatalf("the condition clearing was not recorded: %+v", a)
	}
	if _, opened = analytics.Reconcile("p", latest, []analytics.Check{firing}, at(7)); len(opened) != 1 {
		t.Fatal("firing again after clearing opened nothing")
	}
	b := opened[0]
	latest["k"] = b
	if save, _ = analytics.Reconcile("p", latest, []analytics.Check{calm}, at(8)); len(save) != 1 || b.Status != so.AlertResolved ||
		b.ResolvedBy != "condition" || !b.ResolvedAt.Equal(at(8)) {
		t.Fatalf("an open alert did not resolve itself: %+v", b)
	}
	if _, opened = analytics.Reconcile("p", latest, []analytics.Check{firing}, at(9)); len(opened) != 1 {
		t.Fatal("after resolving itself, firing again opened nothing")
	}
}

func TestAlertTransitions(t *testing.T) {
	t.Parallel()
	a := &so.Alert{ID: "a", Status: so.AlertOpen}
	if changed, err := a.Acknowledge(alertNow); !changed || err != nil || a.AcknowledgedAt == nil {
		t.Fatalf("acknowledge: %v %v", changed, err)
	}
	if changed, err := a.Acknowledge(alertNow); changed || err != nil {
		t.Fatalf("acknowledge twice: %v %v", changed, err)
	}
	if !a.Resolve(alertNow) || a.ResolvedBy != "user" || a.Resolve(alertNow) {
		t.Fatalf("resolve: %+v", a)
	}
	if _, err := a.Acknowledge(alertNow); so.ErrorCode(err) != so.ECONFLICT {
		t.Fatalf("acknowledging a resolved alert: %v", err)
	}
}
