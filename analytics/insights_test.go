package analytics_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/behaviour"
)

// The insight tests' window is the 7 days from hour, the previous window the
// 7 days before.
var (
	insightFrom, insightTo = hour, hour.Add(7 * 24 * time.Hour)
	insightPrev            = hour.Add(-7 * 24 * time.Hour)
)

// insightStep is a step fact: "dropped" (reached, started, dropped), "done"
// (completed), "" (never reached); rules are struggle rules detected on it.
func insightStep(key, how string, rules ...string) so.StepFact {
	s := so.StepFact{Key: key, Struggled: len(rules) > 0, Rules: rules}
	switch how {
	case "dropped":
		s.Reached, s.Started, s.Dropped = true, true, true
	case "done":
		s.Reached, s.Started, s.Completed = true, true, true
	}
	return s
}

// insightJourney is a journey of one flow: abandoned when a step dropped,
// completed otherwise.
func insightJourney(id, flow string, at time.Time, steps ...so.StepFact) *so.JourneyFact {
	status := so.JourneyCompleted
	for _, s := range steps {
		if s.Dropped {
			status = so.JourneyAbandoned
		}
	}
	return &so.JourneyFact{ProjectID: "p", JourneyID: id, Flow: flow, Version: 1, StartHour: at, Status: status, Steps: steps}
}

// insightTally is the stored tally of the journeys make returns for i in [0, n).
func insightTally(t *testing.T, n int, make func(i int) *so.JourneyFact) *analytics.Tally {
	t.Helper()
	tl := analytics.NewTally()
	for i := range n {
		tl.Replace(nil, make(i))
	}
	return stored(t, tl)
}

// insightCurrent is the current window:
//
//	setup (profile, invite), 30 journeys:
//	  i 0–4    drop on profile
//	  i 5–14   drop on invite, hesitation on invite
//	  i 15–29  complete; hesitation on invite for i 15–16, rage_click on
//	           profile for i 15–20, hesitation on profile for i 21–25,
//	           rage_click on invite for i 26
//	  profile: reached 30, dropped 5 (17%); invite: reached 25, dropped 10 (40%)
//	  hot spots: invite hesitation 12 of 25 (48%), profile rage_click 6 of 30
//	  (20%), profile hesitation 5 of 30, invite rage_click 1
//	billing (card), 20 journeys:
//	  i 0–7 drop on card (repeated_errors for i 0–4), i 8–19 complete
//	  card: reached 20, dropped 8 (40%); repeated_errors 5 of 20 (25%)
func insightCurrent(t *testing.T) *analytics.Tally {
	t.Helper()
	tl := analytics.NewTally()
	setup := insightTally(t, 30, func(i int) *so.JourneyFact {
		var profile, invite []string
		switch {
		case i >= 5 && i <= 16:
			invite = []string{"hesitation"}
		case i == 26:
			invite = []string{"rage_click"}
		}
		switch {
		case i >= 15 && i <= 20:
			profile = []string{"rage_click"}
		case i >= 21 && i <= 25:
			profile = []string{"hesitation"}
		}
		id := "s" + strconv.Itoa(i)
		switch {
		case i < 5:
			return insightJourney(id, "setup", hour, insightStep("profile", "dropped"), insightStep("invite", ""))
		case i < 15:
			return insightJourney(id, "setup", hour, insightStep("profile", "done"), insightStep("invite", "dropped", invite...))
		default:
			return insightJourney(id, "setup", hour.Add(30*time.Hour), insightStep("profile", "done", profile...),
				insightStep("invite", "done", invite...))
		}
	})
	billing := insightTally(t, 20, func(i int) *so.JourneyFact {
		var rules []string
		if i < 5 {
			rules = []string{"repeated_errors"}
		}
		how := "done"
		if i < 8 {
			how = "dropped"
		}
		return insightJourney("b"+strconv.Itoa(i), "billing", hour.Add(2*time.Hour), insightStep("card", how, rules...))
	})
	for _, o := range []*analytics.Tally{setup, billing} {
		if err := tl.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return stored(t, tl)
}

// insightPrevious is the window before:
//
//	setup, 30 journeys: i 0–4 drop on profile, i 5–9 drop on invite, i 10–29
//	complete, hesitation on invite for i 10–12
//	  invite: reached 25, dropped 5 (20%), hesitation 3 of 25 (12%);
//	  profile: reached 30, no rage_click (0 of 30)
//	billing, 4 journeys: i 0 drops on card, i 1–3 complete
//	  card: reached 4, below 20: its drop-off is new
func insightPrevious(t *testing.T) *analytics.Tally {
	t.Helper()
	tl := insightTally(t, 34, func(i int) *so.JourneyFact {
		at, id := insightPrev, "p"+strconv.Itoa(i)
		switch {
		case i < 5:
			return insightJourney(id, "setup", at, insightStep("profile", "dropped"), insightStep("invite", ""))
		case i < 10:
			return insightJourney(id, "setup", at, insightStep("profile", "done"), insightStep("invite", "dropped"))
		case i < 13:
			return insightJourney(id, "setup", at, insightStep("profile", "done"), insightStep("invite", "done", "hesitation"))
		case i < 30:
			return insightJourney(id, "setup", at, insightStep("profile", "done"), insightStep("invite", "done"))
		case i == 30:
			return insightJourney(id, "billing", at, insightStep("card", "dropped"))
		default:
			return insightJourney(id, "billing", at, insightStep("card", "done"))
		}
	})
	return tl
}

// insightEffects: checklist on profile does not beat its holdout, tip on
// invite does, and guide on invite has too few users to judge.
//
//	tip: 70 of 100 (70%) against 20 of 50 (40%): +30 points; Wilson 95%
//	  70/100 [0.6042, 0.7811], 20/50 [0.2761, 0.5382]; low = 0.30 −
//	  √((0.70−0.6042)² + (0.5382−0.40)²) = 0.30 − 0.1682 = 0.132 > 0: not reported
//	checklist: 30 of 60 (50%) against 9 of 20 (45%): +5 points; Wilson 95%
//	  30/60 [0.3774, 0.6226], 9/20 [0.2582, 0.6579]; low = 0.05 −
//	  √(0.1226² + 0.2079²) = 0.05 − 0.2414 = −0.191 (−19 points), high =
//	  0.05 + √(0.1226² + 0.1918²) = 0.05 + 0.2277 = 0.278 (28 points):
//	  the interval holds 0, reported; impact 60 users sent
//	guide: 10 sent, 0 of 10 completed, against 5 of 10: fewer than 20 sent, not judged
func insightEffects() []so.EffectCounts {
	return []so.EffectCounts{
		{Flow: "setup", Step: "invite", Kind: so.InterventionTip, Sent: 100, SentJourneyCompleted: 70, HeldOut: 50, HeldJourneyCompleted: 20},
		{Flow: "setup", Step: "profile", Kind: "checklist", Sent: 60, SentJourneyCompleted: 30, HeldOut: 20, HeldJourneyCompleted: 9},
		{Flow: "setup", Step: "invite", Kind: so.InterventionGuide, Sent: 10, SentJourneyCompleted: 0, HeldOut: 10, HeldJourneyCompleted: 5},
	}
}

// insightSegments: four segments are tested (free, paid, de, fr: each and its
// rest has 20 journeys or more; team has 10), so the corrected confidence is
// 1 − 0.05/4 = 0.9875 and z = Φ⁻¹(1 − 0.00625) = 2.4977 (against 1.9600 at 95%).
//
//	plan=free: 20 of 100 (20%) against the rest, paid and team, 55 of 110
//	  (50%): −30 points; at z 2.4977 Wilson 20/100 [0.1191, 0.3161], 55/110
//	  [0.3842, 0.6158]; high = −0.30 + √(0.1161² + 0.1158²) = −0.30 + 0.1640 =
//	  −0.136 (−14 points), low = −0.30 − √(0.0809² + 0.1158²) = −0.441 (−44
//	  points): below zero, reported; journeys behind (0.50 − 0.20) × 100 = 30
//	plan=paid: 50 of 100 against 25 of 110: ahead, not reported
//	country=de: 35 of 100 (35%) against fr's 50 of 100 (50%): −15 points. At
//	  95% it would be reported: Wilson 35/100 [0.2636, 0.4475], 50/100
//	  [0.4038, 0.5962], high = −0.15 + √(0.0975² + 0.0962²) = −0.013. At z
//	  2.4977: 35/100 [0.2429, 0.4747], 50/100 [0.3788, 0.6212], high = −0.15 +
//	  √(0.1247² + 0.1212²) = −0.15 + 0.1739 = +0.024: not significant after
//	  the correction, not reported
//	country=fr: ahead of de, not reported
func insightSegments() []analytics.SegmentCompletion {
	return []analytics.SegmentCompletion{
		{Flow: "setup", Trait: "plan", Value: "free", Started: 100, Completed: 20},
		{Flow: "setup", Trait: "plan", Value: "paid", Started: 100, Completed: 50},
		{Flow: "setup", Trait: "plan", Value: "team", Started: 10, Completed: 5},
		{Flow: "setup", Trait: "country", Value: "de", Started: 100, Completed: 35},
		{Flow: "setup", Trait: "country", Value: "fr", Started: 100, Completed: 50},
	}
}

func insightInput(t *testing.T) analytics.InsightInput {
	t.Helper()
	return analytics.InsightInput{From: insightFrom, To: insightTo, PrevFrom: insightPrev, PrevTo: insightFrom,
		Current: insightCurrent(t), Previous: insightPrevious(t), Effects: insightEffects(), Segments: insightSegments()}
}

// The window's times as the queries carry them.
const insightWindowQuery = "from=2026-03-02T10%3A00%3A00.000Z&to=2026-03-09T10%3A00%3A00.000Z"

func TestInsights(t *testing.T) {
	t.Parallel()
	got := analytics.InsightsOf(insightInput(t))
	// Ranked by impact: checklist's 60 users sent, free's 30 journeys behind,
	// invite's 12 hesitating journeys, invite's 10 and card's 8 drop-offs,
	// profile's 6 rage clicks, card's 5 repeated errors. Profile's 5
	// hesitations tie card's but are the fourth hot spot (StruggleOf orders
	// ties by flow: billing first); invite's 1 rage click is below 5.
	want := []struct {
		kind          string
		impact        float64
		title, detail string
		query         string
		numbers       map[string]float64 // some of the numbers
	}{
		{"intervention", 60,
			`"checklist" help on step "profile" of flow "setup" does not beat its holdout: 50% against 45% journey completion`,
			"30 of 60 users sent it completed the journey, against 9 of 20 held out: 5 points (95% interval -19 to 28 points).",
			"/v1/analytics/interventions?" + insightWindowQuery,
			map[string]float64{"sent": 60, "sent_completed": 30, "sent_rate": 0.5, "held_out": 20, "held_completed": 9, "held_rate": 0.45}},
		{"segment", 30,
			`Users with plan=free complete "setup" less often: 20% against 50%`,
			"20 of 100 journeys of users with plan=free completed, against 55 of 110 of the flow's journeys with another plan: " +
				"-30 points (interval -44 to -14 points, significant after correcting for 4 segments tested), about 30 journeys behind.",
			"/v1/analytics/funnel?flow=setup&trait.plan=free&" + insightWindowQuery,
			map[string]float64{"segment_started": 100, "segment_completed": 20, "segment_rate": 0.2, "rest_started": 110,
				"rest_completed": 55, "rest_rate": 0.5, "segments_tested": 4, "confidence": 0.9875}},
		{"struggle", 12,
			`Struggle "hesitation" on step "invite" of flow "setup" hits 48% of the journeys that reach it`,
			"Detected on 12 of the 25 journeys that reached the step, against 3 of 25 (12%) in the previous 7 days.",
			"/v1/analytics/struggle?flow=setup&" + insightWindowQuery,
			map[string]float64{"journeys": 12, "reached": 25, "share_rate": 0.48, "previous_journeys": 3, "previous_reached": 25,
				"previous_share_rate": 0.12, "previous_days": 7}},
		{"drop_off", 10,
			`Step "invite" of flow "setup" loses 40% of the journeys that reach it`,
			"10 of the 25 journeys that reached it dropped off there, up from 20% (5 of 25) in the previous 7 days.",
			"/v1/analytics/funnel?flow=setup&" + insightWindowQuery,
			map[string]float64{"drop_off": 10, "reached": 25, "drop_off_rate": 0.4, "previous_drop_off": 5, "previous_reached": 25,
				"previous_drop_off_rate": 0.2, "previous_days": 7}},
		{"drop_off", 8,
			`Step "card" of flow "billing" loses 40% of the journeys that reach it`,
			"8 of the 20 journeys that reached it dropped off there; this is new: in the previous 7 days only 4 reached it, " +
				"fewer than 20 to compare with.",
			"/v1/analytics/funnel?flow=billing&" + insightWindowQuery,
			map[string]float64{"drop_off": 8, "reached": 20, "drop_off_rate": 0.4, "previous_reached": 4, "min_reached": 20}},
		{"struggle", 6,
			`Struggle "rage_click" on step "profile" of flow "setup" hits 20% of the journeys that reach it`,
			"Detected on 6 of the 30 journeys that reached the step, against 0 of 30 (0%) in the previous 7 days.",
			"/v1/analytics/struggle?flow=setup&" + insightWindowQuery,
			map[string]float64{"journeys": 6, "reached": 30, "share_rate": 0.2, "previous_journeys": 0, "previous_reached": 30}},
		{"struggle", 5,
			`Struggle "repeated_errors" on step "card" of flow "billing" hits 25% of the journeys that reach it`,
			"Detected on 5 of the 20 journeys that reached the step, against 0 of 4 (0%) in the previous 7 days.",
			"/v1/analytics/struggle?flow=billing&" + insightWindowQuery,
			map[string]float64{"journeys": 5, "reached": 20, "share_rate": 0.25, "previous_journeys": 0, "previous_reached": 4}},
	}
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("%s %v %s", g.Kind, g.Impact, g.Title)
		}
		t.Fatalf("%d insights, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || math.Abs(g.Impact-w.impact) > 1e-9 || g.Title != w.title || g.Detail != w.detail || g.Query != w.query {
			t.Errorf("insight %d =\n%s %v\n%s\n%s\n%s\nwant\n%s %v\n%s\n%s\n%s", i, g.Kind, g.Impact, g.Title, g.Detail, g.Query,
				w.kind, w.impact, w.title, w.detail, w.query)
		}
		for name, v := range w.numbers {
			if n, ok := g.Numbers[name]; !ok || math.Abs(n-v) > 1e-9 {
				t.Errorf("insight %d (%s) number %s = %v (present %v), want %v", i, g.Kind, name, n, ok, v)
			}
		}
	}
	// The segment's interval, at the corrected z: −0.441 to −0.136, as worked out above.
	if s := got[1].Numbers; math.Abs(s["low"]+0.4413) > 1e-4 || math.Abs(s["high"]+0.1360) > 1e-4 || math.Abs(s["z"]-2.4977) > 1e-4 {
		t.Errorf("segment interval = %v to %v at z %v; want −0.4413 to −0.1360 at 2.4977", s["low"], s["high"], s["z"])
	}
	for _, g := range got {
		checkQuoted(t, g)
	}
}

// quotedNumber finds the numbers a text quotes, outside quotes and words (a
// "-" before one is its sign).
var quotedNumber = regexp.MustCompile(`(^|[^\w.])(-?\d+(\.\d+)?)`)

// checkQuoted checks an insight has its texts and query, and that every
// number its title and detail quote is one of its numbers: the same, or the
// same in whole percents (points), or rounded.
func checkQuoted(t *testing.T, g analytics.Insight) {
	t.Helper()
	if g.Title == "" || g.Detail == "" || !strings.HasPrefix(g.Query, "/v1/analytics/") || !strings.Contains(g.Query, "from=") {
		t.Errorf("insight without its texts or query: %+v", g)
	}
	for _, text := range []string{g.Title, g.Detail} {
		unquoted := regexp.MustCompile(`"[^"]*"|\w+=\w+`).ReplaceAllString(text, "")
		for _, m := range quotedNumber.FindAllStringSubmatch(unquoted, -1) {
			q, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, v := range g.Numbers {
				found = found || v == q || math.Round(v*100) == q || math.Round(v) == q
			}
			if !found {
				t.Errorf("%q quotes %v, which is not among its numbers %v", text, q, g.Numbers)
			}
		}
	}
}

// TestInsightSegmentIntervalIsCompare: with one segment tested, the
// corrected confidence is 1 − 0.05/1 = 95%, z = Φ⁻¹(0.975) = 1.959964, and
// the segment's interval is behaviour.Compare's.
func TestInsightSegmentIntervalIsCompare(t *testing.T) {
	t.Parallel()
	// free: 20 of 100 (20%); the rest, paid and team (15 each, too few to be
	// tested), 15 of 30 (50%): −30 points, Wilson 95% 20/100 [0.1334,
	// 0.2888], 15/30 [0.3315, 0.6685]; high = −0.30 + √(0.0888² + 0.1685²) =
	// −0.30 + 0.1904 = −0.110 (−11 points), low = −0.30 − √(0.0666² + 0.1685²)
	// = −0.481 (−48 points); 30 journeys behind.
	got := analytics.InsightsOf(analytics.InsightInput{From: insightFrom, To: insightTo, Segments: []analytics.SegmentCompletion{
		{Flow: "setup", Trait: "plan", Value: "free", Started: 100, Completed: 20},
		{Flow: "setup", Trait: "plan", Value: "paid", Started: 15, Completed: 8},
		{Flow: "setup", Trait: "plan", Value: "team", Started: 15, Completed: 7},
	}})
	if len(got) != 1 || got[0].Kind != "segment" {
		t.Fatalf("insights = %+v, want free's segment", got)
	}
	n := got[0].Numbers
	e := behaviour.Compare(100, 20, 30, 15)
	if math.Abs(n["z"]-1.959964) > 1e-6 || n["segments_tested"] != 1 || n["confidence"] != 0.95 {
		t.Errorf("z = %v, m = %v, confidence %v; want 1.959964, 1, 0.95", n["z"], n["segments_tested"], n["confidence"])
	}
	// The same interval: z differs from behaviour's constant in its last bits only.
	for name, pair := range map[string][2]float64{"difference": {n["difference"], e.Difference}, "low": {n["low"], e.Low},
		"high": {n["high"], e.High}, "segment_rate": {n["segment_rate"], e.SentRate}, "rest_rate": {n["rest_rate"], e.HeldRate}} {
		if math.Abs(pair[0]-pair[1]) > 1e-12 {
			t.Errorf("%s = %v, behaviour.Compare's %v", name, pair[0], pair[1])
		}
	}
	if math.Abs(e.Low+0.4812) > 1e-4 || math.Abs(e.High+0.1096) > 1e-4 {
		t.Errorf("Compare = %v to %v, want −0.4812 to −0.1096 by hand", e.Low, e.High)
	}
	if g := got[0]; g.Impact != 30 || g.Title != `Users with plan=free complete "setup" less often: 20% against 50%` ||
		!strings.Contains(g.Detail, "-30 points (interval -48 to -11 points, significant after correcting for 1 segments tested)") {
		t.Errorf("insight = %+v", g)
	}
	checkQuoted(t, got[0])
}

// TestInsightsThresholds: too few journeys or users find nothing, and no
// input at all gives an empty list, not null.
func TestInsightsThresholds(t *testing.T) {
	t.Parallel()
	if got := analytics.InsightsOf(analytics.InsightInput{}); got == nil || len(got) != 0 {
		t.Errorf("no input = %#v, want []", got)
	}
	// 19 journeys reach profile and all drop: below 20, no drop-off; 4 of them
	// struggle: below 5, no hot spot.
	small := insightTally(t, 19, func(i int) *so.JourneyFact {
		var rules []string
		if i < 4 {
			rules = []string{"hesitation"}
		}
		return insightJourney("j"+strconv.Itoa(i), "setup", hour, insightStep("profile", "dropped", rules...))
	})
	in := analytics.InsightInput{From: insightFrom, To: insightTo, Current: small,
		Effects: []so.EffectCounts{
			// 0 of 19 against 10 of 10: worse, but fewer than 20 sent.
			{Flow: "setup", Step: "profile", Kind: so.InterventionTip, Sent: 19, HeldOut: 10, HeldJourneyCompleted: 10},
			// 0 of 50 against 9 of 9: fewer than 10 held out.
			{Flow: "setup", Step: "profile", Kind: so.InterventionGuide, Sent: 50, HeldOut: 9, HeldJourneyCompleted: 9},
			// impossible counts
			{Flow: "setup", Step: "profile", Kind: so.InterventionHuman, Sent: 50, SentJourneyCompleted: 60, HeldOut: 50},
		},
		Segments: []analytics.SegmentCompletion{
			// 0 of 19 against 100 of 100: the segment is below 20.
			{Flow: "setup", Trait: "plan", Value: "free", Started: 19, Completed: 0},
			{Flow: "setup", Trait: "plan", Value: "paid", Started: 100, Completed: 100},
			// 0 of 100 against 19 of 19: the rest is below 20.
			{Flow: "setup", Trait: "country", Value: "de", Started: 100, Completed: 0},
			{Flow: "setup", Trait: "country", Value: "fr", Started: 19, Completed: 19},
		}}
	if got := analytics.InsightsOf(in); len(got) != 0 {
		t.Errorf("below the thresholds: %+v", got)
	}
	// One more journey dropping on profile: 20 of 20 (100%), and no previous window to compare with.
	in.Current = insightTally(t, 20, func(i int) *so.JourneyFact {
		return insightJourney("j"+strconv.Itoa(i), "setup", hour, insightStep("profile", "dropped"))
	})
	in.Effects, in.Segments, in.PrevFrom, in.PrevTo = nil, nil, insightPrev, insightFrom.Add(-time.Hour)
	got := analytics.InsightsOf(in)
	if len(got) != 1 || got[0].Title != `Step "profile" of flow "setup" loses 100% of the journeys that reach it` ||
		got[0].Detail != "20 of the 20 journeys that reached it dropped off there; this is new: no journey reached it in the previous 167 hours." {
		t.Errorf("at the threshold = %+v", got)
	}
	for _, g := range got {
		checkQuoted(t, g)
	}
}

// TestInsightDropOffMoves: the previous rate is named up, down or unchanged
// by whole percents.
func TestInsightDropOffMoves(t *testing.T) {
	t.Parallel()
	// dropped of 20 reaching profile, the rest complete.
	window := func(dropped int) *analytics.Tally {
		return insightTally(t, 20, func(i int) *so.JourneyFact {
			how := "done"
			if i < dropped {
				how = "dropped"
			}
			return insightJourney("j"+strconv.Itoa(i), "setup", hour, insightStep("profile", how))
		})
	}
	for _, c := range []struct {
		now, before int
		want        string
	}{
		{4, 2, "4 of the 20 journeys that reached it dropped off there, up from 10% (2 of 20) in the previous day."},
		{2, 4, "2 of the 20 journeys that reached it dropped off there, down from 20% (4 of 20) in the previous day."},
		{3, 3, "3 of the 20 journeys that reached it dropped off there, unchanged from 15% (3 of 20) in the previous day."},
	} {
		got := analytics.InsightsOf(analytics.InsightInput{From: insightFrom, To: insightFrom.Add(24 * time.Hour),
			PrevFrom: insightFrom.Add(-24 * time.Hour), PrevTo: insightFrom, Current: window(c.now), Previous: window(c.before)})
		if len(got) != 1 || got[0].Detail != c.want || got[0].Impact != float64(c.now) {
			t.Errorf("%d against %d = %+v, want %q", c.now, c.before, got, c.want)
		}
	}
}

// TestInsightsDeterministic: the order of effects and segments does not
// change the insights, and a query escapes what it carries.
func TestInsightsDeterministic(t *testing.T) {
	t.Parallel()
	in := insightInput(t)
	want := analytics.InsightsOf(in)
	r := rand.New(rand.NewPCG(1, 2))
	for range 10 {
		in.Effects, in.Segments = slices.Clone(in.Effects), slices.Clone(in.Segments)
		r.Shuffle(len(in.Effects), func(i, j int) { in.Effects[i], in.Effects[j] = in.Effects[j], in.Effects[i] })
		r.Shuffle(len(in.Segments), func(i, j int) { in.Segments[i], in.Segments[j] = in.Segments[j], in.Segments[i] })
		if got := analytics.InsightsOf(in); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffled input gives\n%+v\nwant\n%+v", got, want)
		}
	}
	got := analytics.InsightsOf(analytics.InsightInput{From: insightFrom, To: insightTo, Segments: []analytics.SegmentCompletion{
		{Flow: "set up", Trait: "plan&tier", Value: "free/trial", Started: 100, Completed: 10},
		{Flow: "set up", Trait: "plan&tier", Value: "paid", Started: 100, Completed: 60},
	}})
	if len(got) != 1 || got[0].Query != "/v1/analytics/funnel?flow=set+up&trait.plan%26tier=free%2Ftrial&"+insightWindowQuery {
		t.Errorf("escaped query = %+v", got)
	}
}
