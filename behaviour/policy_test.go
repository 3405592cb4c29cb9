package behaviour

import (
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestOptionsFor offers only what the step's content allows.
func TestOptionsFor(t *testing.T) {
	t.Parallel()
	j := journeyF()
	if got := OptionsFor(j.Steps[0]); got != (Options{true, true, true, true}) {
		t.Fatalf("step a: %+v", got)
	}
	if got := OptionsFor(j.Steps[1]); got != (Options{Human: true}) {
		t.Fatalf("step b: %+v", got)
	}
}

// TestRules picks by trigger and escalates past kinds sent on the step.
func TestRules(t *testing.T) {
	t.Parallel()
	all, noGuide := Options{true, true, true, true}, Options{Tip: true, Simplify: true, Human: true}
	tip, guide, simplify, human := so.InterventionTip, so.InterventionGuide, so.InterventionSimplify, so.InterventionHuman
	rule := func(r so.StruggleRule) Trigger { t := trig("a", "s1", 0); t.Rule = r; return t }
	low := Trigger{Source: so.TriggerLowSuccess, Flow: "f", Step: "a", SessionID: "s1"}
	on := func(kinds ...so.InterventionKind) []Sent {
		var out []Sent
		for i, k := range kinds {
			out = append(out, sent(itoa(int64(i)), k, "a", "s1", 0))
		}
		return out
	}
	cases := map[string]struct {
		t       Trigger
		opts    Options
		history []Sent
		want    so.InterventionKind // "" none
	}{
		"errors: tip":                 {rule(so.RuleErrors), all, nil, tip},
		"hesitation: tip":             {rule(so.RuleHesitation), all, nil, tip},
		"rage: tip":                   {rule(so.RuleRageClick), all, nil, tip},
		"rage: no tip, guide":         {rule(so.RuleRageClick), Options{Guide: true, Human: true}, nil, guide},
		"escalate past tip":           {rule(so.RuleErrors), all, on(tip), guide},
		"escalate past tip and guide": {rule(so.RuleErrors), all, on(guide, tip), simplify},
		"human last":                  {rule(so.RuleErrors), all, on(tip, guide, simplify), human},
		"nothing left":                {rule(so.RuleErrors), all, on(tip, guide, simplify, human), ""},
		"tip on another step":         {rule(so.RuleErrors), all, []Sent{sent("1", tip, "b", "s1", 0)}, tip},
		"tip in another session":      {rule(so.RuleErrors), all, []Sent{sent("1", tip, "a", "s0", 0)}, tip},
		"stuck: guide":                {rule(so.RuleStuck), all, nil, guide},
		"stuck: no guide, simplify":   {rule(so.RuleStuck), noGuide, nil, simplify},
		"step back past guide":        {rule(so.RuleStepBack), all, on(guide), simplify},
		"step back past two":          {rule(so.RuleStepBack), all, on(guide, simplify), tip},
		"only human":                  {rule(so.RuleStuck), Options{Human: true}, nil, human},
		"low success: simplify":       {low, all, nil, simplify},
		"low success: guide":          {low, Options{Guide: true, Tip: true, Human: true}, nil, guide},
		"low success past two":        {low, all, on(simplify, guide), tip},
		"low success never human":     {low, all, on(simplify, guide, tip), ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, reason, ok := Rules{}.Choose(c.t, c.opts, c.history)
			if got != c.want || ok != (c.want != "") || reason == "" {
				t.Fatalf("Choose = %q, %q, %v; want %q", got, reason, ok, c.want)
			}
		})
	}
}
