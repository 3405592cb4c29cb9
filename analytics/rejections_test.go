package analytics_test

import (
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// traffic is a project's hourly accepted events and rejection counts.
type traffic struct {
	hours      []so.ActivityRollup
	rejections []so.RejectionCount
}

// at adds accepted events and rejected ones (by code, pairs of code and
// count) to the hour that starts ago before alertNow's hour.
func (tr *traffic) at(t *testing.T, ago time.Duration, accepted int64, codes ...any) *traffic {
	t.Helper()
	hour := alertNow.Truncate(time.Hour).Add(-ago)
	tr.hours = append(tr.hours, so.ActivityRollup{ProjectID: "p", Unit: so.UnitHour, Start: hour, Events: accepted})
	for i := 0; i+1 < len(codes); i += 2 {
		tr.rejections = append(tr.rejections, so.RejectionCount{ProjectID: "p", Hour: hour, Code: codes[i].(string),
			Events: int64(codes[i+1].(int))})
	}
	return tr
}

// check runs the rules over the traffic and returns the rejected-events check.
func (tr *traffic) check(t *testing.T) analytics.Check {
	t.Helper()
	act := analytics.NewTally()
	if err := act.Load(&so.Rollups{Activity: tr.hours}); err != nil {
		t.Fatal(err)
	}
	c := checkOf(analytics.Checks(analytics.AlertWindow{Now: alertNow, Journeys: analytics.NewTally(), Activity: act,
		Rejections: tr.rejections}), analytics.RuleRejectedEvents)
	if c.Key != analytics.RuleRejectedEvents {
		t.Fatalf("no rejected-events check among the checks")
	}
	return c
}

// baseline is 7 days of traffic, 1% of it rejected: 9,900 accepted and 100
// rejected events, three days ago.
func baseline(t *testing.T) *traffic {
	return (&traffic{}).at(t, 3*24*time.Hour, 9900, so.EINVALID, 100)
}

func TestRejectionCheckThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		rejected          int
		firing            bool
		severity, message string
	}{
		// 100 of 5,000 is 2%: exactly twice the baseline, not above it.
		{"at twice the baseline", 100, false, "warning", "2.0% of the events received since 11:00 UTC were rejected (100 of 5000)"},
		{"just above", 101, true, "warning", "2.0% of the events received since 11:00 UTC were rejected (101 of 5000)"},
		// 5% is five times the baseline; just above it is critical.
		{"five times", 250, true, "warning", "(250 of 5000)"},
		{"above five times", 251, true, "critical", "(251 of 5000)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := baseline(t).at(t, 0, int64(5000-tc.rejected), so.EINVALID, tc.rejected).check(t)
			if c.Firing != tc.firing || c.Severity != tc.severity || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("check = %+v; want firing %v, %s, a message with %q", c, tc.firing, tc.severity, tc.message)
			}
			if c.Numbers["recent_rejected"] != float64(tc.rejected) || c.Numbers["recent_accepted"] != float64(5000-tc.rejected) ||
				c.Numbers["baseline_share"] != 0.01 || c.Numbers["baseline_rejected"] != 100 || c.Numbers["baseline_accepted"] != 9900 {
				t.Fatalf("numbers = %v", c.Numbers)
			}
		})
	}
}

// A project rejecting half its events fires, but not below 50 rejected
// events; half or more of all events is critical whatever the baseline.
func TestRejectionCheckMinimum(t *testing.T) {
	t.Parallel()
	if c := baseline(t).at(t, 0, 51, so.EINVALID, 49).check(t); c.Firing {
		t.Errorf("49 rejected events fired: %+v", c)
	}
	if c := baseline(t).at(t, 0, 50, so.EINVALID, 50).check(t); !c.Firing || c.Severity != "critical" {
		t.Errorf("50 rejected events of 100 = %+v; want firing, critical", c)
	}
	noisy := (&traffic{}).at(t, 3*24*time.Hour, 7000, so.EINVALID, 3000) // 30% rejected all week
	if c := noisy.at(t, 0, 39, so.EINVALID, 61).check(t); !c.Firing || c.Severity != "critical" {
		t.Errorf("61%% against 30%% = %+v; want firing, critical (above half)", c)
	}
}

// The recent span is this hour and the one before; rejections before it are
// baseline, and a week without any counts as 0.1%.
func TestRejectionCheckSpans(t *testing.T) {
	t.Parallel()
	tr := (&traffic{}).at(t, 3*24*time.Hour, 10000).
		at(t, time.Hour, 4000, so.ECONFLICT, 30, so.EINVALID, 40).at(t, 0, 5900, so.EINVALID, 30).
		at(t, 2*time.Hour, 0, so.EINVALID, 1000)
	c := tr.check(t)
	// 100 of 10,000 recent (1%), against 1,000 of 11,000 before.
	if c.Firing || c.Numbers["recent_rejected"] != 100 || c.Numbers["recent_accepted"] != 9900 || c.Numbers["baseline_rejected"] != 1000 {
		t.Fatalf("check = %+v", c)
	}
	clean := (&traffic{}).at(t, 3*24*time.Hour, 100000)
	if c := clean.at(t, 0, 99950, so.EINVALID, 50).check(t); c.Firing {
		t.Errorf("0.05%% after a clean week fired: %+v", c)
	}
	clean = (&traffic{}).at(t, 3*24*time.Hour, 100000)
	c = clean.at(t, 0, 9860, so.EINVALID, 100, so.ECONFLICT, 40).check(t)
	if !c.Firing || c.Severity != "critical" || c.Numbers["top_code_rejected"] != 100 ||
		!strings.Contains(c.Message, `100 of them with code "invalid"`) || !strings.Contains(c.Message, "against 0.0%") ||
		c.Query != "/v1/analytics/overview?from=2026-11-30T11%3A00%3A00.000Z&to=2026-11-30T13%3A00%3A00.000Z" {
		t.Errorf("1.4%% after a clean week = %+v; want firing, critical, naming invalid, and the overview of the span", c)
	}
	if c := (&traffic{}).check(t); c.Firing || c.Message == "" {
		t.Errorf("no traffic = %+v", c)
	}
}
