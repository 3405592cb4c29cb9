package analytics

import (
	"cmp"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/behaviour"
)

// InsightInput is what the insights are computed from.
type InsightInput struct {
	From, To          time.Time           // the window [From, To)
	PrevFrom, PrevTo  time.Time           // the window before it, same length
	Current, Previous *Tally              // journey and step rows of each window (every flow); nil: none
	Effects           []so.EffectCounts   // intervention effects of the current window
	Segments          []SegmentCompletion // completion by trait value in the current window
}

// SegmentCompletion is the journeys of one flow started in the window by
// users with one trait value.
type SegmentCompletion struct {
	Flow, Trait, Value string
	Started, Completed int64
}

// Insight is one plain-language finding, with every number its text quotes
// and the report behind it.
type Insight struct {
	Kind    string             `json:"kind"`    // InsightDropOff, InsightStruggle, InsightSegment, InsightIntervention
	Impact  float64            `json:"impact"`  // journeys (or users) affected: the ranking key, see the kinds
	Title   string             `json:"title"`   // one plain sentence
	Detail  string             `json:"detail"`  // one or two sentences with the comparison
	Numbers map[string]float64 `json:"numbers"` // every number the text quotes, by name; rates and differences as shares (0.4 is 40%)
	Query   string             `json:"query"`   // the report behind it: a path with its query string
}

// The kinds of insight, and what each one's Impact counts.
const (
	InsightDropOff      = "drop_off"     // Impact: the journeys that dropped off at the step
	InsightStruggle     = "struggle"     // Impact: the journeys the rule was detected on at the step
	InsightSegment      = "segment"      // Impact: journeys behind, (rest's rate − segment's rate) × segment's started
	InsightIntervention = "intervention" // Impact: the users sent help that did not beat its holdout
)

// Thresholds of the findings.
const (
	// minReached: below 20 journeys reaching a step, one journey moves its drop-off rate by 5 points or more.
	minReached = 20
	// maxHotSpots: a short list gets read; the struggle report has the rest.
	maxHotSpots = 3
	// minHotSpotJourneys: a rule seen on fewer journeys is an anecdote, not a hot spot.
	minHotSpotJourneys = 5
	// minSegmentJourneys: each side of a segment comparison needs 20 journeys for a normal-approximation interval to mean much.
	minSegmentJourneys = 20
	// segmentAlpha: the chance, over all segments tested together, of reporting one that does not really trail (Bonferroni).
	segmentAlpha = 0.05
	// minSent, minHeldOut: fewer users sent help or held out give an interval too wide to say anything.
	minSent, minHeldOut = 20, 10
	// effectConfidence: behaviour.Compare's intervals are 95% ones.
	effectConfidence = 0.95
)

// InsightsOf returns the findings about one project's onboarding over the
// window, largest impact first (then by kind and title):
//
//   - drop_off: per flow, the step losing the largest share of the journeys
//     that reach it (at least minReached), against its rate in the previous
//     window, or "new" when fewer reached it there;
//   - struggle: the top maxHotSpots step and rule pairs of StruggleOf by
//     journeys (at least minHotSpotJourneys), with their share of the
//     journeys that reached the step, against the previous window;
//   - segment: trait values whose journeys complete a flow less often than
//     the flow's journeys of the trait's other values, the difference's
//     Newcombe interval below zero at a Bonferroni-corrected confidence of
//     1 − segmentAlpha/m over the m segments tested (both sides at least
//     minSegmentJourneys);
//   - intervention: groups of help whose journey-completion uplift over the
//     holdout has a 95% interval reaching zero or below (at least minSent
//     sent, minHeldOut held out).
func InsightsOf(in InsightInput) []Insight {
	current, previous := in.Current, in.Previous
	if current == nil {
		current = NewTally()
	}
	if previous == nil {
		previous = NewTally()
	}
	w := insightWindow{from: so.FormatTime(in.From), to: so.FormatTime(in.To)}
	w.previous, w.previousNumbers = spanText(in.PrevTo.Sub(in.PrevFrom))
	out := []Insight{}
	out = append(out, dropOffInsights(w, current, previous)...)
	out = append(out, struggleInsights(w, in.From, in.To, current, previous)...)
	out = append(out, segmentInsights(w, in.Segments)...)
	out = append(out, interventionInsights(w, in.Effects)...)
	slices.SortStableFunc(out, func(a, b Insight) int {
		return cmp.Or(cmp.Compare(b.Impact, a.Impact), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Title, b.Title))
	})
	return out
}

// insightWindow is what every insight's text and query need of the windows.
type insightWindow struct {
	from, to        string             // the window, formatted
	previous        string             // "the previous 7 days"
	previousNumbers map[string]float64 // the numbers previous quotes
}

// numbers returns the named numbers with those of the previous window's
// text, when with is set.
func (w insightWindow) numbers(with bool, kv map[string]float64) map[string]float64 {
	if with {
		maps.Copy(kv, w.previousNumbers)
	}
	return kv
}

// spanText names the window before the current one by its length.
func spanText(d time.Duration) (string, map[string]float64) {
	unit, n := "", int64(0)
	switch {
	case d <= 0:
		return "the previous window", map[string]float64{}
	case d%(24*time.Hour) == 0:
		unit, n = "day", int64(d/(24*time.Hour))
	case d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	default:
		return "the previous window", map[string]float64{}
	}
	if n == 1 {
		return "the previous " + unit, map[string]float64{}
	}
	return "the previous " + itoa(n) + " " + unit + "s", map[string]float64{"previous_" + unit + "s": float64(n)}
}

// dropOffInsights finds, per flow, the step with the largest drop-off rate.
func dropOffInsights(w insightWindow, current, previous *Tally) []Insight {
	var out []Insight
	for _, flow := range current.flows() {
		steps := current.Steps(flow, 0)
		best, found := "", false
		for _, key := range slices.Sorted(maps.Keys(steps)) {
			c := steps[key]
			if c.Reached < minReached || c.Dropped <= 0 {
				continue
			}
			if !found || worseDropOff(c, steps[best]) {
				best, found = key, true
			}
		}
		if !found {
			continue
		}
		c := steps[best]
		rate := float64(c.Dropped) / float64(c.Reached)
		n := map[string]float64{"drop_off": float64(c.Dropped), "reached": float64(c.Reached), "drop_off_rate": rate}
		detail := strings.Join([]string{itoa(c.Dropped), " of the ", itoa(c.Reached),
			" journeys that reached it dropped off there"}, "")
		p := previous.Steps(flow, 0)[best]
		if p.Reached >= minReached {
			prate := float64(p.Dropped) / float64(p.Reached)
			n["previous_drop_off"], n["previous_reached"], n["previous_drop_off_rate"] = float64(p.Dropped), float64(p.Reached), prate
			move := "unchanged from "
			switch cmp.Compare(math.Round(rate*100), math.Round(prate*100)) {
			case 1:
				move = "up from "
			case -1:
				move = "down from "
			}
			detail += ", " + move + pct(prate) + " (" + itoa(p.Dropped) + " of " + itoa(p.Reached) + ") in " + w.previous + "."
		} else if p.Reached <= 0 {
			detail += "; this is new: no journey reached it in " + w.previous + "."
		} else {
			n["previous_reached"], n["min_reached"] = float64(p.Reached), minReached
			detail += "; this is new: in " + w.previous + " only " + itoa(p.Reached) + " reached it, fewer than " +
				itoa(minReached) + " to compare with."
		}
		out = append(out, Insight{Kind: InsightDropOff, Impact: float64(c.Dropped),
			Title:   "Step " + strconv.Quote(best) + " of flow " + strconv.Quote(flow) + " loses " + pct(rate) + " of the journeys that reach it",
			Detail:  detail,
			Numbers: w.numbers(true, n),
			Query:   reportQuery("/v1/analytics/funnel", "flow", flow, "from", w.from, "to", w.to)})
	}
	return out
}

// worseDropOff tells whether a step loses a larger share than b (the same
// share: more journeys).
func worseDropOff(a, b StepCounts) bool {
	// a.Dropped/a.Reached > b.Dropped/b.Reached, in integers.
	l, r := a.Dropped*b.Reached, b.Dropped*a.Reached
	return l > r || l == r && a.Dropped > b.Dropped
}

// struggleInsights lists the largest hot spots of the struggle report.
func struggleInsights(w insightWindow, from, to time.Time, current, previous *Tally) []Insight {
	var out []Insight
	for _, h := range StruggleOf(so.RollupQuery{From: from, To: to}, current).HotSpots {
		if len(out) == maxHotSpots || h.Journeys < minHotSpotJourneys {
			break // sorted by journeys, most first
		}
		if h.ShareOfReached == nil {
			continue
		}
		share := *h.ShareOfReached
		reached := current.Steps(h.Flow, 0)[h.Step].Reached // StruggleOf's sum: the flow's step over every version
		n := map[string]float64{"journeys": float64(h.Journeys), "reached": float64(reached), "share_rate": share}
		detail := "Detected on " + itoa(h.Journeys) + " of the " + itoa(reached) + " journeys that reached the step"
		p := previous.Steps(h.Flow, 0)[h.Step]
		if p.Reached > 0 {
			pn := p.Rules[h.Rule]
			n["previous_journeys"], n["previous_reached"], n["previous_share_rate"] = float64(pn), float64(p.Reached),
				float64(pn)/float64(p.Reached)
			detail += ", against " + itoa(pn) + " of " + itoa(p.Reached) + " (" + pct(float64(pn)/float64(p.Reached)) +
				") in " + w.previous + "."
		} else {
			detail += "; no journey reached it in " + w.previous + "."
		}
		out = append(out, Insight{Kind: InsightStruggle, Impact: float64(h.Journeys),
			Title: "Struggle " + strconv.Quote(h.Rule) + " on step " + strconv.Quote(h.Step) + " of flow " + strconv.Quote(h.Flow) +
				" hits " + pct(share) + " of the journeys that reach it",
			Detail:  detail,
			Numbers: w.numbers(true, n),
			Query:   reportQuery("/v1/analytics/struggle", "flow", h.Flow, "from", w.from, "to", w.to)})
	}
	return out
}

// segmentInsights finds the trait values whose completion trails the rest of
// their flow's journeys with that trait, significantly after a Bonferroni
// correction over the segments tested.
func segmentInsights(w insightWindow, segments []SegmentCompletion) []Insight {
	type key struct{ flow, trait, value string }
	type group struct{ flow, trait string }
	sums, totals := map[key]*SegmentCompletion{}, map[group]*SegmentCompletion{}
	for _, s := range segments {
		k, g := key{s.Flow, s.Trait, s.Value}, group{s.Flow, s.Trait}
		if sums[k] == nil {
			sums[k] = &SegmentCompletion{Flow: s.Flow, Trait: s.Trait, Value: s.Value}
		}
		if totals[g] == nil {
			totals[g] = &SegmentCompletion{Flow: s.Flow, Trait: s.Trait}
		}
		sums[k].Started, sums[k].Completed = sums[k].Started+s.Started, sums[k].Completed+s.Completed
		totals[g].Started, totals[g].Completed = totals[g].Started+s.Started, totals[g].Completed+s.Completed
	}
	type test struct{ seg, rest SegmentCompletion }
	var tests []test
	for _, k := range slices.SortedFunc(maps.Keys(sums), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.flow, b.flow), cmp.Compare(a.trait, b.trait), cmp.Compare(a.value, b.value))
	}) {
		s, t := *sums[k], *totals[group{k.flow, k.trait}]
		rest := SegmentCompletion{Flow: s.Flow, Trait: s.Trait, Started: t.Started - s.Started, Completed: t.Completed - s.Completed}
		if s.Started < minSegmentJourneys || rest.Started < minSegmentJourneys || !possible(s) || !possible(rest) {
			continue
		}
		tests = append(tests, test{s, rest})
	}
	m := len(tests)
	if m == 0 {
		return nil
	}
	confidence := 1 - segmentAlpha/float64(m)
	z := zOf(confidence)
	var out []Insight
	for _, tc := range tests {
		s, r := tc.seg, tc.rest
		d, low, high, ok := newcombe(int(s.Completed), int(s.Started), int(r.Completed), int(r.Started), z)
		if !ok || high >= 0 {
			continue
		}
		sr, rr := float64(s.Completed)/float64(s.Started), float64(r.Completed)/float64(r.Started)
		behind := (rr - sr) * float64(s.Started)
		who := s.Trait + "=" + s.Value
		out = append(out, Insight{Kind: InsightSegment, Impact: behind,
			Title: "Users with " + who + " complete " + strconv.Quote(s.Flow) + " less often: " + pct(sr) + " against " + pct(rr),
			Detail: itoa(s.Completed) + " of " + itoa(s.Started) + " journeys of users with " + who + " completed, against " +
				itoa(r.Completed) + " of " + itoa(r.Started) + " of the flow's journeys with another " + s.Trait + ": " +
				points(d) + " points (interval " + points(low) + " to " + points(high) + " points, significant after correcting for " +
				itoa(int64(m)) + " segments tested), about " + strconv.FormatFloat(math.Round(behind), 'f', 0, 64) + " journeys behind.",
			Numbers: map[string]float64{"segment_started": float64(s.Started), "segment_completed": float64(s.Completed),
				"segment_rate": sr, "rest_started": float64(r.Started), "rest_completed": float64(r.Completed), "rest_rate": rr,
				"difference": d, "low": low, "high": high, "segments_tested": float64(m), "confidence": confidence, "z": z,
				"journeys_behind": behind},
			Query: reportQuery("/v1/analytics/funnel", "flow", s.Flow, "trait."+s.Trait, s.Value, "from", w.from, "to", w.to)})
	}
	return out
}

// possible tells whether a segment's counts can be a proportion.
func possible(s SegmentCompletion) bool {
	return s.Started > 0 && s.Completed >= 0 && s.Completed <= s.Started
}

// interventionInsights lists the groups of help whose journey-completion
// uplift over the holdout may be zero or less.
func interventionInsights(w insightWindow, effects []so.EffectCounts) []Insight {
	var out []Insight
	for _, c := range effects {
		if c.Sent < minSent || c.HeldOut < minHeldOut {
			continue
		}
		e := behaviour.Compare(c.Sent, c.SentJourneyCompleted, c.HeldOut, c.HeldJourneyCompleted)
		if !e.Defined || e.Low > 0 {
			continue
		}
		verdict := " does not beat its holdout: "
		if e.High < 0 {
			verdict = " does worse than its holdout: "
		}
		out = append(out, Insight{Kind: InsightIntervention, Impact: float64(c.Sent),
			Title: strconv.Quote(string(c.Kind)) + " help on step " + strconv.Quote(c.Step) + " of flow " + strconv.Quote(c.Flow) +
				verdict + pct(e.SentRate) + " against " + pct(e.HeldRate) + " journey completion",
			Detail: itoa(int64(c.SentJourneyCompleted)) + " of " + itoa(int64(c.Sent)) + " users sent it completed the journey, against " +
				itoa(int64(c.HeldJourneyCompleted)) + " of " + itoa(int64(c.HeldOut)) + " held out: " + points(e.Difference) +
				" points (" + pct(effectConfidence) + " interval " + points(e.Low) + " to " + points(e.High) + " points).",
			Numbers: map[string]float64{"sent": float64(c.Sent), "sent_completed": float64(c.SentJourneyCompleted),
				"sent_rate": e.SentRate, "held_out": float64(c.HeldOut), "held_completed": float64(c.HeldJourneyCompleted),
				"held_rate": e.HeldRate, "difference": e.Difference, "low": e.Low, "high": e.High, "confidence": effectConfidence},
			Query: reportQuery("/v1/analytics/interventions", "from", w.from, "to", w.to)})
	}
	return out
}

// zOf returns the standard normal quantile of a two-sided interval of the
// given confidence: Φ⁻¹((1 + c)/2) = √2 · erf⁻¹(c).
func zOf(confidence float64) float64 { return math.Sqrt2 * math.Erfinv(confidence) }

// wilsonAt returns a proportion and its Wilson score interval at z (n > 0,
// 0 ≤ k ≤ n), the way behaviour's wilson does at 95%.
func wilsonAt(k, n int, z float64) (p, low, high float64) {
	p, nf, z2 := float64(k)/float64(n), float64(n), z*z
	centre := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return p, max(0, centre-half), min(1, centre+half)
}

// newcombe returns p1 − p2 (k1 of n1 less k2 of n2) with Newcombe's hybrid
// score interval at z, as behaviour.Compare does at 95%; ok is false when a
// group is empty or a count impossible.
func newcombe(k1, n1, k2, n2 int, z float64) (d, low, high float64, ok bool) {
	if n1 <= 0 || n2 <= 0 || k1 < 0 || k2 < 0 || k1 > n1 || k2 > n2 {
		return 0, 0, 0, false
	}
	p1, l1, u1 := wilsonAt(k1, n1, z)
	p2, l2, u2 := wilsonAt(k2, n2, z)
	d = p1 - p2
	return d, d - math.Hypot(p1-l1, u2-p2), d + math.Hypot(u1-p1, p2-l2), true
}

// pct renders a share as a whole percent.
func pct(x float64) string { return strconv.FormatFloat(math.Round(x*100), 'f', 0, 64) + "%" }

// points renders a difference of shares in whole percentage points, signed.
func points(x float64) string {
	r := math.Round(x * 100)
	if r == 0 {
		return "0" // not −0
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}

// reportQuery renders a report's path with its parameters, in the order given
// (name, value, name, value …), each escaped.
func reportQuery(path string, kv ...string) string {
	var b strings.Builder
	b.WriteString(path)
	for i := 0; i+1 < len(kv); i += 2 {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}
