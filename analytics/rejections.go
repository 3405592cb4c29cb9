package analytics

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// rejected sums rejection counts: in all and by code.
type rejected struct {
	total  int64
	byCode map[string]int64
}

// rejectedWithin sums the counts whose hour is in [from, to).
func rejectedWithin(counts []so.RejectionCount, from, to time.Time) rejected {
	r := rejected{byCode: map[string]int64{}}
	for _, c := range counts {
		if !c.Hour.Before(from) && c.Hour.Before(to) {
			r.total += c.Events
			r.byCode[c.Code] += c.Events
		}
	}
	return r
}

// top is the code with the most rejections (the first by name on a tie), and
// how many; "" when there are none.
func (r rejected) top() (string, int64) {
	codes := slices.SortedFunc(maps.Keys(r.byCode), func(a, b string) int {
		return cmp.Or(cmp.Compare(r.byCode[b], r.byCode[a]), cmp.Compare(a, b))
	})
	if len(codes) == 0 {
		return "", 0
	}
	return codes[0], r.byCode[codes[0]]
}

// RejectedTotal sums rejection counts, for the overview.
func RejectedTotal(counts []so.RejectionCount) int64 {
	var n int64
	for _, c := range counts {
		n += c.Events
	}
	return n
}

// hourEvents sums the events of the hour rows that start in [from, to).
func (t *Tally) hourEvents(from, to time.Time) int64 {
	var n int64
	for k, a := range t.activity {
		if k.Unit == so.UnitHour && !k.Start.Before(from) && k.Start.Before(to) {
			n += a.Events
		}
	}
	return n
}

// shareOf is the rejected share of the events received (0 when none were).
func shareOf(rejected, accepted int64) float64 {
	if rejected+accepted == 0 {
		return 0
	}
	return float64(rejected) / float64(rejected+accepted)
}

// rejectionCheck compares the share of events rejected since the start of
// the previous clock hour (the counts are hourly, and a burst late in an
// hour must still show after it) with the share over the 7 days before: a
// share rather than a count, so traffic that grows brings no alert.
// Accepted events count by their timestamps, rejected ones by when they
// were refused, since a rejected event's timestamp may be what was wrong.
func rejectionCheck(w AlertWindow) Check {
	end := w.Now.UTC().Truncate(time.Hour).Add(time.Hour)
	since, baseFrom := end.Add(-2*time.Hour), end.Add(-2*time.Hour-rejectedBaseline)
	recent, base := rejectedWithin(w.Rejections, since, end), rejectedWithin(w.Rejections, baseFrom, since)
	rAccepted, bAccepted := w.Activity.hourEvents(since, end), w.Activity.hourEvents(baseFrom, since)
	rShare, bShare := shareOf(recent.total, rAccepted), shareOf(base.total, bAccepted)
	code, topN := recent.top()
	c := Check{Key: RuleRejectedEvents, Rule: RuleRejectedEvents, Severity: "warning",
		Numbers: map[string]float64{"recent_rejected": float64(recent.total), "recent_accepted": float64(rAccepted),
			"recent_share": rShare, "top_code_rejected": float64(topN), "baseline_rejected": float64(base.total),
			"baseline_accepted": float64(bAccepted), "baseline_share": bShare, "factor": rejectedFactor},
		Query: "/v1/analytics/overview?from=" + url.QueryEscape(so.FormatTime(since)) + "&to=" + url.QueryEscape(so.FormatTime(end))}
	judged := max(bShare, minBaselineShare)
	c.Firing = recent.total >= minRejected && rShare > rejectedFactor*judged
	if rShare > rejectedCritical*judged || rShare > criticalRejectedShare {
		c.Severity = "critical"
	}
	c.Message = fmt.Sprintf("%s of the events received since %s UTC were rejected (%d of %d)", sharePercent(rShare),
		since.Format("15:04"), recent.total, recent.total+rAccepted)
	if code != "" {
		c.Message += fmt.Sprintf(", %d of them with code %q", topN, code)
	}
	c.Message += fmt.Sprintf(", against %s over the 7 days before", sharePercent(bShare))
	return c
}

// sharePercent writes a share with a tenth of a percent: rejected shares
// that matter are often below one percent.
func sharePercent(r float64) string { return fmt.Sprintf("%.1f%%", r*100) }
