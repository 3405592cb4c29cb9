package smartonboard

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// DefaultServerOnlyTraits are the traits admin filters and billing rely on, so a
// browser (holding only the public key) may not set them on its own user.
var DefaultServerOnlyTraits = []string{"role", "plan"}

// ProjectSettings are the per-project overrides of instance-wide defaults; a nil
// field means "use the instance's setting".
type ProjectSettings struct {
	// ServerOnlyTraits lists the traits only a secret key may set; nil means
	// DefaultServerOnlyTraits, an empty list means none.
	ServerOnlyTraits []string `json:"server_only_traits,omitzero"`
	Limits           Limits   `json:"limits,omitzero"`
	// Behaviour tunes struggle detection and interventions.
	Behaviour BehaviourSettings `json:"behaviour,omitzero"`
	// Analytics holds what reports need to know of the business.
	Analytics AnalyticsSettings `json:"analytics,omitzero"`
	// AllowedOrigins are the web origins ("https://app.example.com", or "*")
	// whose pages may call the public-key routes with this project's key,
	// beside the server's SMARTONBOARD_ALLOWED_ORIGINS; a page of another
	// origin is refused. Empty: the server's list alone decides.
	AllowedOrigins []string `json:"allowed_origins,omitzero"`
}

// maxAllowedOrigins bounds a project's origin list.
const maxAllowedOrigins = 50

// AllowsOrigin tells whether the project's list admits a page of origin.
func (s ProjectSettings) AllowsOrigin(origin string) bool {
	return slices.Contains(s.AllowedOrigins, origin) || slices.Contains(s.AllowedOrigins, "*")
}

// validateOrigins checks each origin is exactly scheme://host[:port].
func (s ProjectSettings) validateOrigins() error {
	if len(s.AllowedOrigins) > maxAllowedOrigins {
		return FieldErrorf(EINVALID, "settings.allowed_origins", "at most %d origins", maxAllowedOrigins)
	}
	for i, o := range s.AllowedOrigins {
		field := fmt.Sprintf("settings.allowed_origins[%d]", i)
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.String() != o {
			return FieldErrorf(EINVALID, field, "%q is not an origin: write scheme://host[:port], such as https://app.example.com, with no path or trailing slash", o)
		}
	}
	return nil
}

// AnalyticsSettings put a value on onboarding: the ROI report multiplies
// the users interventions activated by it.
type AnalyticsSettings struct {
	ValuePerActivatedUser *float64 `json:"value_per_activated_user,omitempty"` // in Currency, 0 to 1e9
	Currency              string   `json:"currency,omitempty"`                 // ISO 4217 code, default USD
	// SegmentTraits are the traits insights compare completion by; nil means
	// DefaultServerOnlyTraits (set by the customer's backend, so trustworthy).
	SegmentTraits []string `json:"segment_traits,omitzero"`
}

// maxSegmentTraits bounds the traits insights segment by.
const maxSegmentTraits = 10

// Segments returns the traits to segment by.
func (a AnalyticsSettings) Segments() []string {
	if a.SegmentTraits == nil {
		return DefaultServerOnlyTraits
	}
	return a.SegmentTraits
}

// CurrencyOr returns the currency, USD when none is set.
func (a AnalyticsSettings) CurrencyOr() string {
	if a.Currency == "" {
		return "USD"
	}
	return a.Currency
}

func (a AnalyticsSettings) validate() error {
	if v := a.ValuePerActivatedUser; v != nil && (*v < 0 || *v > 1e9 || *v != *v) {
		return FieldErrorf(EINVALID, "settings.analytics.value_per_activated_user", "must be from 0 to 1000000000")
	}
	if len(a.SegmentTraits) > maxSegmentTraits {
		return FieldErrorf(EINVALID, "settings.analytics.segment_traits", "at most %d traits", maxSegmentTraits)
	}
	for i, t := range a.SegmentTraits {
		if len(t) == 0 || len(t) > 100 || strings.Trim(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return FieldErrorf(EINVALID, fmt.Sprintf("settings.analytics.segment_traits[%d]", i),
				"must be a trait name of letters, digits, _ and -, at most 100")
		}
	}
	if c := a.Currency; c != "" && (len(c) != 3 || strings.ToUpper(c) != c || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return FieldErrorf(EINVALID, "settings.analytics.currency", "must be a three-letter ISO 4217 code such as USD or EUR")
	}
	return nil
}

// BehaviourSettings are a project's struggle thresholds and intervention
// caps; nil takes BehaviourDefaults.
type BehaviourSettings struct {
	HesitationSeconds    *float64 `json:"hesitation_seconds,omitempty"` // one hesitation this long is struggle
	StuckSeconds         *float64 `json:"stuck_seconds,omitempty"`      // this long on a step without progress, with hesitation or repeated clicks
	RepeatedClicks       *int     `json:"repeated_clicks,omitempty"`    // clicks on a step that count as repeated
	ErrorsPerStep        *int     `json:"errors_per_step,omitempty"`    // errors on one step
	StepBacks            *int     `json:"step_backs,omitempty"`         // step_back events on one step
	PerSession           *int     `json:"interventions_per_session,omitempty"`
	StepCooldownSeconds  *float64 `json:"step_cooldown_seconds,omitempty"`  // between two interventions on one step
	HoldoutPercent       *float64 `json:"holdout_percent,omitempty"`        // share of users who get nothing, 0–50
	SuccessThreshold     *float64 `json:"success_threshold,omitempty"`      // predicted success below this triggers help
	OutcomeWindowMinutes *float64 `json:"outcome_window_minutes,omitempty"` // a step completed within this counts for the intervention
}

// Behaviour is BehaviourSettings with every value filled.
type Behaviour struct {
	HesitationSeconds    float64
	StuckSeconds         float64
	RepeatedClicks       int
	ErrorsPerStep        int
	StepBacks            int
	PerSession           int
	StepCooldownSeconds  float64
	HoldoutPercent       float64
	SuccessThreshold     float64
	OutcomeWindowMinutes float64
}

// BehaviourDefaults are the earlier system's thresholds and the caps.
var BehaviourDefaults = Behaviour{HesitationSeconds: 5, StuckSeconds: 15, RepeatedClicks: 3, ErrorsPerStep: 3,
	StepBacks: 2, PerSession: 3, StepCooldownSeconds: 60, HoldoutPercent: 10, SuccessThreshold: 0.70,
	OutcomeWindowMinutes: 30}

// Resolve fills the unset values from BehaviourDefaults.
func (b BehaviourSettings) Resolve() Behaviour {
	d := BehaviourDefaults
	orF := func(v *float64, def float64) float64 {
		if v == nil {
			return def
		}
		return *v
	}
	return Behaviour{HesitationSeconds: orF(b.HesitationSeconds, d.HesitationSeconds), StuckSeconds: orF(b.StuckSeconds, d.StuckSeconds),
		RepeatedClicks: Or(b.RepeatedClicks, d.RepeatedClicks), ErrorsPerStep: Or(b.ErrorsPerStep, d.ErrorsPerStep),
		StepBacks: Or(b.StepBacks, d.StepBacks), PerSession: Or(b.PerSession, d.PerSession),
		StepCooldownSeconds: orF(b.StepCooldownSeconds, d.StepCooldownSeconds), HoldoutPercent: orF(b.HoldoutPercent, d.HoldoutPercent),
		SuccessThreshold: orF(b.SuccessThreshold, d.SuccessThreshold), OutcomeWindowMinutes: orF(b.OutcomeWindowMinutes, d.OutcomeWindowMinutes)}
}

// validate checks each value against its range.
func (b BehaviourSettings) validate() error {
	floats := []struct {
		name     string
		v        *float64
		min, max float64
	}{{"hesitation_seconds", b.HesitationSeconds, 0.5, 600}, {"stuck_seconds", b.StuckSeconds, 1, 3600},
		{"step_cooldown_seconds", b.StepCooldownSeconds, 0, 86400}, {"holdout_percent", b.HoldoutPercent, 0, 50},
		{"success_threshold", b.SuccessThreshold, 0, 1}, {"outcome_window_minutes", b.OutcomeWindowMinutes, 1, 10080}}
	for _, f := range floats {
		if f.v != nil && (*f.v < f.min || *f.v > f.max || *f.v != *f.v) {
			return FieldErrorf(EINVALID, "settings.behaviour."+f.name, "must be from %g to %g", f.min, f.max)
		}
	}
	ints := []struct {
		name     string
		v        *int
		min, max int
	}{{"repeated_clicks", b.RepeatedClicks, 2, 100}, {"errors_per_step", b.ErrorsPerStep, 1, 100},
		{"step_backs", b.StepBacks, 1, 100}, {"interventions_per_session", b.PerSession, 0, 100}}
	for _, f := range ints {
		if f.v != nil && (*f.v < f.min || *f.v > f.max) {
			return FieldErrorf(EINVALID, "settings.behaviour."+f.name, "must be from %d to %d", f.min, f.max)
		}
	}
	return nil
}

// Limits are per-project request and stream limits; each is a count per minute
// (streams: open at once), nil takes the instance default and 0 turns it off.
type Limits struct {
	EventsPerUser *int `json:"events_per_user,omitempty"` // event requests per minute per end user
	PerIP         *int `json:"per_ip,omitempty"`          // requests per minute per client address
	PublicKey     *int `json:"public_key,omitempty"`      // requests per minute per public key (a quota)
	Admin         *int `json:"admin,omitempty"`           // admin requests per minute per key or session
	Streams       *int `json:"streams,omitempty"`         // streams open at once on one instance
}

// TraitServerOnly tells whether only a secret key may set the named trait.
func (s ProjectSettings) TraitServerOnly(name string) bool {
	if s.ServerOnlyTraits == nil {
		return slices.Contains(DefaultServerOnlyTraits, name)
	}
	return slices.Contains(s.ServerOnlyTraits, name)
}

// Or returns the project's value of a limit, or def when the project sets none.
func Or(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}

// maxServerOnlyTraits bounds the list a project may declare.
const maxServerOnlyTraits = 50

// Validate checks the settings an admin sends.
func (s ProjectSettings) Validate() error {
	if len(s.ServerOnlyTraits) > maxServerOnlyTraits {
		return FieldErrorf(EINVALID, "settings.server_only_traits", "at most %d traits", maxServerOnlyTraits)
	}
	for i, t := range s.ServerOnlyTraits {
		if err := checkText(fmt.Sprintf("settings.server_only_traits[%d]", i), t, 1, 100); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		name string
		v    *int
	}{{"events_per_user", s.Limits.EventsPerUser}, {"per_ip", s.Limits.PerIP}, {"public_key", s.Limits.PublicKey},
		{"admin", s.Limits.Admin}, {"streams", s.Limits.Streams}} {
		if l.v != nil && (*l.v < 0 || *l.v > 100_000_000) {
			return FieldErrorf(EINVALID, "settings.limits."+l.name, "must be from 0 to 100000000")
		}
	}
	if err := s.Behaviour.validate(); err != nil {
		return err
	}
	if err := s.validateOrigins(); err != nil {
		return err
	}
	return s.Analytics.validate()
}
