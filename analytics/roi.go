package analytics

import (
	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/behaviour"
)

// Interval is an estimate with its 95% interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// Uplift is the activation rate of users sent help less that of users held
// out, with Newcombe's interval; Defined is false when a group is empty.
type Uplift struct {
	SentRate *float64 `json:"sent_activation_rate"`
	HeldRate *float64 `json:"held_out_activation_rate"`
	Interval
	Defined bool `json:"defined"`
}

// ROIGroup is the return of one kind of intervention on one step.
type ROIGroup struct {
	Flow      string    `json:"flow,omitempty"`
	Step      string    `json:"step,omitempty"`
	Kind      string    `json:"kind,omitempty"`
	Sent      int       `json:"sent"`     // users sent help
	HeldOut   int       `json:"held_out"` // users the holdout kept it from
	Activated int       `json:"sent_activated"`
	HeldAct   int       `json:"held_out_activated"`
	Uplift    Uplift    `json:"uplift"`
	Gained    Interval  `json:"activated_users_gained"` // uplift × users sent help
	Value     *Interval `json:"value"`                  // gained × value per activated user, when set
}

// ROI is what interventions are worth: activation (journey completion) of
// users sent help against the holdout, times the value of an activated user.
type ROI struct {
	From                  string     `json:"from"`
	To                    string     `json:"to"`
	Unit                  string     `json:"unit"`
	ValuePerActivatedUser *float64   `json:"value_per_activated_user"`
	Currency              string     `json:"currency"`
	Total                 ROIGroup   `json:"total"`
	Groups                []ROIGroup `json:"groups"`
}

// ROIOf prices the intervention effects of a window. The total pools the
// groups, so a user sent help on two steps counts in each.
func ROIOf(from, to string, counts []so.EffectCounts, settings so.AnalyticsSettings) ROI {
	r := ROI{From: from, To: to, Unit: "users", ValuePerActivatedUser: settings.ValuePerActivatedUser,
		Currency: settings.CurrencyOr(), Groups: []ROIGroup{}}
	var total so.EffectCounts
	for _, c := range counts {
		r.Groups = append(r.Groups, roiGroup(c, settings.ValuePerActivatedUser))
		total.Sent += c.Sent
		total.SentJourneyCompleted += c.SentJourneyCompleted
		total.HeldOut += c.HeldOut
		total.HeldJourneyCompleted += c.HeldJourneyCompleted
	}
	r.Total = roiGroup(total, settings.ValuePerActivatedUser)
	return r
}

func roiGroup(c so.EffectCounts, value *float64) ROIGroup {
	g := ROIGroup{Flow: c.Flow, Step: c.Step, Kind: string(c.Kind), Sent: c.Sent, HeldOut: c.HeldOut,
		Activated: c.SentJourneyCompleted, HeldAct: c.HeldJourneyCompleted}
	e := behaviour.Compare(c.Sent, c.SentJourneyCompleted, c.HeldOut, c.HeldJourneyCompleted)
	g.Uplift = Uplift{Defined: e.Defined}
	if !e.Defined {
		return g
	}
	g.Uplift.SentRate, g.Uplift.HeldRate = &e.SentRate, &e.HeldRate
	g.Uplift.Interval = Interval{e.Difference, e.Low, e.High}
	n := float64(c.Sent)
	g.Gained = Interval{e.Difference * n, e.Low * n, e.High * n}
	if value != nil {
		g.Value = &Interval{g.Gained.Estimate * *value, g.Gained.Low * *value, g.Gained.High * *value}
	}
	return g
}

// Table renders one row per group, then the total.
func (r ROI) Table() [][]string {
	rows := [][]string{{"flow", "step", "kind", "sent", "held_out", "uplift", "uplift_low", "uplift_high",
		"activated_users_gained", "value", "value_low", "value_high", "currency"}}
	for _, g := range append(append([]ROIGroup{}, r.Groups...), r.Total) {
		flow := g.Flow
		if g.Kind == "" {
			flow = "(total)"
		}
		row := []string{flow, g.Step, g.Kind, itoa(int64(g.Sent)), itoa(int64(g.HeldOut)), "", "", "", "", "", "", "", r.Currency}
		if g.Uplift.Defined {
			row[5], row[6], row[7], row[8] = ftoa(&g.Uplift.Estimate), ftoa(&g.Uplift.Low), ftoa(&g.Uplift.High), ftoa(&g.Gained.Estimate)
		}
		if g.Value != nil {
			row[9], row[10], row[11] = ftoa(&g.Value.Estimate), ftoa(&g.Value.Low), ftoa(&g.Value.High)
		}
		rows = append(rows, row)
	}
	return rows
}
