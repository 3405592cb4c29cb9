package analytics_test

import (
	"math"
	"strconv"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

func TestROI(t *testing.T) {
	t.Parallel()
	counts := []so.EffectCounts{
		// 30 of 100 sent users activated, 4 of 20 held out: 0.3 − 0.2 = 0.1, 10 users gained.
		{Flow: "setup", Step: "connect", Kind: so.InterventionTip, Sent: 100, SentJourneyCompleted: 30, HeldOut: 20, HeldJourneyCompleted: 4},
		// 10 of 50 against 1 of 10: 0.2 − 0.1 = 0.1, 5 gained.
		{Flow: "setup", Step: "invite", Kind: so.InterventionGuide, Sent: 50, SentJourneyCompleted: 10, HeldOut: 10, HeldJourneyCompleted: 1},
		// Nobody held out: no comparison.
		{Flow: "setup", Step: "launch", Kind: so.InterventionHuman, Sent: 5, SentJourneyCompleted: 5},
	}
	value := 50.0
	r := analytics.ROIOf("f", "t", counts, so.AnalyticsSettings{ValuePerActivatedUser: &value, Currency: "EUR"})
	if r.Currency != "EUR" || r.Unit != "users" || len(r.Groups) != 3 {
		t.Fatalf("report = %+v", r)
	}
	close := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	g := r.Groups[0]
	if !g.Uplift.Defined || !close(*g.Uplift.SentRate, 0.3) || !close(*g.Uplift.HeldRate, 0.2) || !close(g.Uplift.Estimate, 0.1) ||
		!close(g.Gained.Estimate, 10) || g.Value == nil || !close(g.Value.Estimate, 500) {
		t.Errorf("connect = %+v", g)
	}
	if !(g.Uplift.Low < g.Uplift.Estimate && g.Uplift.Estimate < g.Uplift.High) || !close(g.Value.Low, g.Gained.Low*50) ||
		!close(g.Value.High, g.Gained.High*50) || !close(g.Gained.Low, g.Uplift.Low*100) {
		t.Errorf("connect's intervals are not the uplift's scaled: %+v", g)
	}
	if g := r.Groups[2]; g.Uplift.Defined || g.Value != nil || g.Uplift.SentRate != nil {
		t.Errorf("a group without holdout has an effect: %+v", g)
	}
	// Pooled: 45 of 155 against 5 of 30.
	tot := r.Total
	if tot.Sent != 155 || tot.HeldOut != 30 || !close(tot.Uplift.Estimate, 45.0/155-5.0/30) ||
		!close(tot.Gained.Estimate, (45.0/155-5.0/30)*155) || !close(tot.Value.Estimate, (45.0/155-5.0/30)*155*50) {
		t.Errorf("total = %+v", tot)
	}
	rows := r.Table()
	v, err := strconv.ParseFloat(rows[1][9], 64)
	if len(rows) != 5 || rows[4][0] != "(total)" || rows[3][5] != "" || err != nil || !close(math.Round(v*1e6)/1e6, 500) {
		t.Errorf("table = %q", rows)
	}
	unpriced := analytics.ROIOf("f", "t", counts, so.AnalyticsSettings{})
	if unpriced.Currency != "USD" || unpriced.Total.Value != nil || unpriced.ValuePerActivatedUser != nil {
		t.Errorf("without a value: %+v", unpriced.Total)
	}
}
