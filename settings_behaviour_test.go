package smartonboard

import (
	"errors"
	"testing"
)

func TestBehaviourSettingsResolve(t *testing.T) {
	t.Parallel()
	if got := (BehaviourSettings{}).Resolve(); got != BehaviourDefaults {
		t.Fatalf("empty settings resolve to %+v, want the defaults %+v", got, BehaviourDefaults)
	}
	hes, holdout, per := 8.0, 0.0, 1
	got := BehaviourSettings{HesitationSeconds: &hes, HoldoutPercent: &holdout, PerSession: &per}.Resolve()
	want := BehaviourDefaults
	want.HesitationSeconds, want.HoldoutPercent, want.PerSession = 8, 0, 1
	if got != want {
		t.Fatalf("resolve = %+v, want %+v (a zero is a value, not unset)", got, want)
	}
}

func TestBehaviourSettingsValidate(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	nan := 0.0
	nan /= nan
	for _, c := range []struct {
		name  string
		s     BehaviourSettings
		field string // "" when valid
	}{
		{"defaults", BehaviourSettings{}, ""},
		{"edges", BehaviourSettings{HesitationSeconds: f(0.5), HoldoutPercent: f(50), SuccessThreshold: f(1), PerSession: i(0)}, ""},
		{"hesitation too short", BehaviourSettings{HesitationSeconds: f(0.4)}, "settings.behaviour.hesitation_seconds"},
		{"holdout over half", BehaviourSettings{HoldoutPercent: f(50.1)}, "settings.behaviour.holdout_percent"},
		{"threshold not a number", BehaviourSettings{SuccessThreshold: &nan}, "settings.behaviour.success_threshold"},
		{"one repeated click", BehaviourSettings{RepeatedClicks: i(1)}, "settings.behaviour.repeated_clicks"},
		{"no errors", BehaviourSettings{ErrorsPerStep: i(0)}, "settings.behaviour.errors_per_step"},
		{"negative cap", BehaviourSettings{PerSession: i(-1)}, "settings.behaviour.interventions_per_session"},
	} {
		err := ProjectSettings{Behaviour: c.s}.Validate()
		var e *Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v, want valid", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field || e.Code != EINVALID):
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
}

func TestAnalyticsSettingsValidate(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name  string
		s     AnalyticsSettings
		field string // "" when valid
	}{
		{"unset", AnalyticsSettings{}, ""},
		{"priced", AnalyticsSettings{ValuePerActivatedUser: f(0), Currency: "EUR"}, ""},
		{"negative value", AnalyticsSettings{ValuePerActivatedUser: f(-1)}, "settings.analytics.value_per_activated_user"},
		{"huge value", AnalyticsSettings{ValuePerActivatedUser: f(1e10)}, "settings.analytics.value_per_activated_user"},
		{"lower-case currency", AnalyticsSettings{Currency: "eur"}, "settings.analytics.currency"},
		{"long currency", AnalyticsSettings{Currency: "EURO"}, "settings.analytics.currency"},
		{"digits", AnalyticsSettings{Currency: "E1R"}, "settings.analytics.currency"},
	} {
		err := ProjectSettings{Analytics: c.s}.Validate()
		var e *Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v, want valid", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field || e.Code != EINVALID):
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
	if (AnalyticsSettings{}).CurrencyOr() != "USD" {
		t.Error("the default currency is not USD")
	}
}
