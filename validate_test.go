package smartonboard_test

import (
	"encoding/json"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestCheckJSONObjectNUL refuses a real \u0000 escape and accepts the text
// \u0000, which is an escaped backslash followed by "u0000".
func TestCheckJSONObjectNUL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{`{"a":"\u0000"}`, false},
		{`{"a":"x\\\u0000"}`, false}, // an escaped backslash, then a real NUL
		{`{"a":"\\u0000"}`, true},    // the six characters \u0000
		{`{"a":"\\\\u0000"}`, true},  // two backslashes, then u0000
		{`{"\u0000":1}`, false},
		{`{"a":"\ud83d\ude00 \\ud800"}`, true},
		{`{"a":"\ud800"}`, false},
	} {
		err := so.CheckJSONObject("p", json.RawMessage(c.raw), 1024)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok %v", c.raw, err, c.ok)
		}
	}
}

// TestValidateKeyCharacters refuses a configured key that could never
// authenticate, because presented keys are checked for the same characters.
func TestValidateKeyCharacters(t *testing.T) {
	t.Parallel()
	good := so.GenerateKey(so.KeySecret)
	if err := so.ValidateKey(so.KeySecret, good); err != nil || !so.WellFormedKey(good) {
		t.Fatalf("generated key refused: %v", err)
	}
	for _, k := range []string{good + "é", good + " ", good + "\x00", "sk_" + string(make([]byte, 40))} {
		if so.ValidateKey(so.KeySecret, k) == nil || so.WellFormedKey(k) {
			t.Errorf("%q accepted", k)
		}
	}
}
