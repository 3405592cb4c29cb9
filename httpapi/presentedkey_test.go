package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestPresentedKey takes the bearer scheme in any case (RFC 7235) and refuses
// keys no server could have issued before any store sees them.
func TestPresentedKey(t *testing.T) {
	t.Parallel()
	good := so.GenerateKey(so.KeySecret)
	for _, c := range []struct {
		header string
		ok     bool
	}{
		{"Bearer " + good, true},
		{"bearer " + good, true},
		{"BEARER  " + good + " ", true},
		{"Basic " + good, false},
		{"Bearer", false},
		{"Bearer sk_" + strings.Repeat("\xff", 30), false},
		{"Bearer sk_" + strings.Repeat("a", 30) + "\x01b", false},
		{"Bearer sk_" + strings.Repeat("é", 20), false},
		{"Bearer " + good + strings.Repeat("a", 300), false},
	} {
		r := httptest.NewRequest("GET", "/v1/users", nil)
		r.Header.Set("Authorization", c.header)
		key, err := presentedKey(r)
		if c.ok && (err != nil || key != good) {
			t.Errorf("%q: %q, %v; want the key", c.header, key, err)
		}
		if !c.ok && so.ErrorCode(err) != so.EUNAUTHORIZED {
			t.Errorf("%q: %q, %v; want unauthorized", c.header, key, err)
		}
	}
}

// TestPathWildcards finds every wildcard of a route pattern.
func TestPathWildcards(t *testing.T) {
	t.Parallel()
	got := strings.Join(pathWildcards("GET /v1/users/{user_id}/journeys/{flow_key}"), ",")
	if got != "user_id,flow_key" || len(pathWildcards("GET /v1/users/{$}")) != 0 || pathWildcards("GET /x/{rest...}")[0] != "rest" {
		t.Fatalf("wildcards = %q", got)
	}
}
