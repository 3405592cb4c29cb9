package smartonboard

import (
	"fmt"
	"slices"
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
	return nil
}
