package analytics

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Alert rules.
const (
	RuleCompletionDrop    = "completion_drop"
	RuleAbandonmentSpike  = "abandonment_spike"
	RuleEngagementFalling = "engagement_falling"
	RuleRejectedEvents    = "rejected_events_rising"
)

// The rules' thresholds.
const (
	// completionMargin is how far (absolute) recent completion must fall
	// below its baseline to fire; twice it is critical.
	completionMargin = 0.10
	// minRecentJourneys and minBaselineJourneys keep small samples from firing.
	minRecentJourneys   = 30
	minBaselineJourneys = 100
	// completionDay is the completion horizon both windows are judged on, so
	// recent journeys, which have had less time, are not compared with old ones.
	completionDay = 24 * time.Hour
	// abandonmentFactor: a day with more than this many times the baseline's
	// daily abandonments (and at least minAbandonments) is a spike.
	abandonmentFactor = 2.0
	minAbandonments   = 20
	// engagementDrop is how many points the mean score must fall.
	engagementDrop = 10.0
	// rejectedFactor: a share of rejected events above this many times the
	// baseline's (and at least minRejected events) is rising; above
	// rejectedCritical times, or above criticalRejectedShare of all events
	// received, it is critical.
	rejectedFactor        = 2.0
	rejectedCritical      = 5.0
	criticalRejectedShare = 0.5
	minRejected           = 50
	// minBaselineShare stands in for a cleaner baseline, so a week without a
	// rejection makes neither every rejection a rise nor every rise critical.
	minBaselineShare = 0.001
	// rejectedBaseline is how far back the baseline share reaches.
	rejectedBaseline = 7 * 24 * time.Hour
)

// Check is one rule's verdict on one subject (a flow, or the project).
type Check struct {
	Key      string // rule and subject: an alert's identity
	Rule     string
	Severity string // "warning" or "critical"
	Firing   bool
	Message  string
	Numbers  map[string]float64
	Query    string
}

// AlertWindow is the rollups the rules read, and where they come from.
type AlertWindow struct {
	Now time.Time
	// Journeys holds the journey and step rows of the last 30 days (every flow).
	Journeys *Tally
	// Activity holds the activity hour rows of the last 29 days.
	Activity *Tally
	// Rejections holds the rejected-event counts of the same 29 days.
	Rejections []so.RejectionCount
}

// AlertSpans are the windows the rules compare, for the caller to load.
func AlertSpans(now time.Time) (journeysFrom, activityFrom, to time.Time) {
	h := now.UTC().Truncate(time.Hour).Add(time.Hour)
	return h.Add(-30 * 24 * time.Hour), h.Add(-29 * 24 * time.Hour), h
}

// Checks evaluates every rule on the window: completion and engagement per
// flow, abandonment and rejected events for the project.
func Checks(w AlertWindow) []Check {
	var out []Check
	for _, flow := range w.Journeys.flows() {
		out = append(out, completionCheck(w, flow), engagementCheck(w, flow))
	}
	return append(out, abandonmentCheck(w), rejectionCheck(w))
}

// flows lists the flows with journey rows, sorted (every fact has one, so
// these are also the flows with step rows).
func (t *Tally) flows() []string {
	seen := map[string]bool{}
	for k := range t.journeys {
		seen[k.Flow] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// within sums a flow's journey rows whose hour is in [from, to).
func (t *Tally) within(flow string, from, to time.Time) JourneyCounts {
	sum := JourneyCounts{CompleteSeconds: NewHistogram(), ValueSeconds: NewHistogram()}
	for k, j := range t.journeys {
		if k.Flow == flow && !k.Hour.Before(from) && k.Hour.Before(to) {
			sum.add(j)
		}
	}
	return sum
}

// completionCheck compares the completion within a day of the journeys that
// started 24–48 hours ago with that of the four weeks before.
func completionCheck(w AlertWindow, flow string) Check {
	now := w.Now.UTC()
	recent := w.Journeys.within(flow, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	base := w.Journeys.within(flow, now.Add(-30*24*time.Hour), now.Add(-48*time.Hour))
	rRate, bRate := dayRate(recent), dayRate(base)
	c := Check{Key: RuleCompletionDrop + ":" + flow, Rule: RuleCompletionDrop, Severity: "warning",
		Numbers: map[string]float64{"recent_journeys": float64(recent.Started), "recent_completion_rate": rRate,
			"baseline_journeys": float64(base.Started), "baseline_completion_rate": bRate, "margin": completionMargin},
		Query: funnelQuery(flow, now.Add(-48*time.Hour), now.Add(-24*time.Hour))}
	c.Firing = recent.Started >= minRecentJourneys && base.Started >= minBaselineJourneys && rRate < bRate-completionMargin
	if bRate-rRate >= 2*completionMargin {
		c.Severity = "critical"
	}
	c.Message = fmt.Sprintf("Completion of %q within a day fell to %s of the %d journeys started 24–48 hours ago, against %s over the four weeks before",
		flow, percent(rRate), recent.Started, percent(bRate))
	return c
}

// dayRate is the share of journeys completed within completionDay of their start.
func dayRate(j JourneyCounts) float64 {
	if j.Started == 0 {
		return 0
	}
	return float64(j.CompleteSeconds.CountAtMost(completionDay.Seconds())) / float64(j.Started)
}

// engagementCheck compares the mean engagement of journeys started in the
// last day with that of the four weeks before.
func engagementCheck(w AlertWindow, flow string) Check {
	now := w.Now.UTC()
	rMean, rN := w.Journeys.meanEngagement(flow, now.Add(-24*time.Hour), now.Add(time.Hour))
	bMean, bN := w.Journeys.meanEngagement(flow, now.Add(-29*24*time.Hour), now.Add(-24*time.Hour))
	c := Check{Key: RuleEngagementFalling + ":" + flow, Rule: RuleEngagementFalling, Severity: "warning",
		Numbers: map[string]float64{"recent_journeys": float64(rN), "recent_mean_score": rMean,
			"baseline_journeys": float64(bN), "baseline_mean_score": bMean, "drop": engagementDrop},
		Query: "/v1/analytics/engagement?flow=" + url.QueryEscape(flow)}
	c.Firing = rN >= minRecentJourneys && bN >= minBaselineJourneys && rMean <= bMean-engagementDrop
	c.Message = fmt.Sprintf("Engagement in %q fell to a mean of %.0f over the %d journeys of the last day, against %.0f over the four weeks before",
		flow, rMean, rN, bMean)
	return c
}

// meanEngagement is the mean score (bucket midpoints) of a flow's scored
// journeys that started in [from, to), and how many there were.
func (t *Tally) meanEngagement(flow string, from, to time.Time) (float64, int64) {
	var sum float64
	var n int64
	for k, s := range t.steps {
		if k.Flow != flow || k.Hour.Before(from) || !k.Hour.Before(to) {
			continue
		}
		for b, c := range s.Engagement {
			i, _ := strconv.Atoi(b)
			sum += float64(i*10+5) * float64(c)
			n += c
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// abandonmentCheck compares the abandonments of the last day with the daily
// mean of the four weeks before.
func abandonmentCheck(w AlertWindow) Check {
	now := w.Now.UTC()
	var recent, base int64
	for k, a := range w.Activity.activity {
		switch {
		case k.Unit != so.UnitHour:
		case !k.Start.Before(now.Add(-24 * time.Hour)):
			recent += a.Abandoned
		case !k.Start.Before(now.Add(-29 * 24 * time.Hour)):
			base += a.Abandoned
		}
	}
	daily := float64(base) / 28
	c := Check{Key: RuleAbandonmentSpike, Rule: RuleAbandonmentSpike, Severity: "warning",
		Numbers: map[string]float64{"recent_abandoned": float64(recent), "baseline_daily_abandoned": daily, "factor": abandonmentFactor},
		Query:   "/v1/analytics/overview"}
	c.Firing = recent >= minAbandonments && float64(recent) > abandonmentFactor*daily
	c.Message = fmt.Sprintf("%d journeys were abandoned in the last day, against %.1f a day over the four weeks before", recent, daily)
	return c
}

func funnelQuery(flow string, from, to time.Time) string {
	return "/v1/analytics/funnel?flow=" + url.QueryEscape(flow) + "&from=" + url.QueryEscape(so.FormatTime(from)) +
		"&to=" + url.QueryEscape(so.FormatTime(to))
}

func percent(r float64) string { return strconv.Itoa(int(r*100+0.5)) + "%" }

// Reconcile moves a project's alerts by the checks: a firing check opens an
// alert unless its key has one open or acknowledged (which it updates), or
// one a user resolved while it still fired; a check that no longer fires
// resolves an open alert, never an acknowledged one. It returns the alerts
// to save and, among them, those it opened.
func Reconcile(projectID string, latest map[string]*so.Alert, checks []Check, now time.Time) (save, opened []*so.Alert) {
	for _, c := range checks {
		a := latest[c.Key]
		active := a != nil && a.Status != so.AlertResolved
		switch {
		case c.Firing && active:
			a.Severity, a.Message, a.Numbers, a.Query, a.UpdatedAt = c.Severity, c.Message, c.Numbers, c.Query, now
			save = append(save, a)
		case c.Firing && (a == nil || a.ResolvedBy != "user" || a.Cleared):
			n := &so.Alert{ID: so.NewID(), ProjectID: projectID, Key: c.Key, Rule: c.Rule, Severity: c.Severity,
				Status: so.AlertOpen, Message: c.Message, Numbers: c.Numbers, Query: c.Query, OpenedAt: now, UpdatedAt: now}
			save, opened = append(save, n), append(opened, n)
		case !c.Firing && a != nil && a.Status == so.AlertOpen:
			a.Status, a.ResolvedAt, a.ResolvedBy, a.UpdatedAt = so.AlertResolved, &now, "condition", now
			save = append(save, a)
		case !c.Firing && a != nil && a.Status == so.AlertResolved && !a.Cleared:
			a.Cleared, a.UpdatedAt = true, now
			save = append(save, a)
		}
	}
	return save, opened
}
