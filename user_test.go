package smartonboard_test

import (
	"encoding/json"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestCheckClientTraits refuses the server-only traits (role and plan unless the
// project says otherwise), even set to null, and lets the others through.
func TestCheckClientTraits(t *testing.T) {
	t.Parallel()
	custom := so.ProjectSettings{ServerOnlyTraits: []string{"tier"}}
	none := so.ProjectSettings{ServerOnlyTraits: []string{}}
	for _, c := range []struct {
		settings so.ProjectSettings
		traits   string
		field    string
	}{
		{so.ProjectSettings{}, `{"role":"admin"}`, "traits.role"},
		{so.ProjectSettings{}, `{"goals":["x"],"plan":"enterprise"}`, "traits.plan"},
		{so.ProjectSettings{}, `{"role":null}`, "traits.role"},
		{so.ProjectSettings{}, `{"goals":["x"],"experience":"expert"}`, ""},
		{so.ProjectSettings{}, `{}`, ""},
		{custom, `{"role":"admin"}`, ""},
		{custom, `{"tier":"gold"}`, "traits.tier"},
		{none, `{"role":"admin","plan":"x"}`, ""},
	} {
		err := so.CheckClientTraits(c.settings, json.RawMessage(c.traits))
		if c.field == "" && err != nil || c.field != "" && (so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field) {
			t.Errorf("%v %s: err = %v, want field %q", c.settings.ServerOnlyTraits, c.traits, err, c.field)
		}
	}
}
