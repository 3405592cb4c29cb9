package smartonboard

import "slices"

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
