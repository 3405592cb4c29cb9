package main

import (
	"strings"
	"testing"

	"github.com/smartonboarding/smartonboard/config"
)

// TestPreflightProductionWarnings: in production, preflight warns (and still
// passes) when /metrics has no token, when every origin is allowed, and when the
// default project does not verify identities; once fixed, the warnings go.
func TestPreflightProductionWarnings(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EngineSQLite)
	cfg.Env, cfg.Migrate = config.EnvProduction, true
	in := start(t, cfg) // migrates and creates the default project
	env := []string{"SMARTONBOARD_DATA_DIR=" + cfg.DataDir, "SMARTONBOARD_ADDR=127.0.0.1:0", "SMARTONBOARD_ENV=production"}

	code, out, _ := cli(t, append(env, "SMARTONBOARD_ALLOWED_ORIGINS=*"), "preflight", "--json")
	rep := decodeReport(t, out)
	if code != 0 || rep.Status != "warning" {
		t.Fatalf("preflight: %d\n%s", code, out)
	}
	for _, want := range []string{"SMARTONBOARD_METRICS_TOKEN", "SMARTONBOARD_ALLOWED_ORIGINS", "identity verification is off"} {
		if !hasSecurityWarning(rep, want) {
			t.Errorf("no security warning about %s\n%s", want, out)
		}
	}

	if r := in.admin("PATCH", "/v1/project", `{"identity_verification":true}`); r.status != 200 {
		t.Fatalf("turn identity verification on: %d %s", r.status, r.body)
	}
	fixed := append(env, "SMARTONBOARD_ALLOWED_ORIGINS=https://app.example.com", "SMARTONBOARD_METRICS_TOKEN=scrape-token-for-tests")
	code, out, _ = cli(t, fixed, "preflight", "--json")
	rep = decodeReport(t, out)
	if code != 0 {
		t.Fatalf("preflight after the fixes: %d\n%s", code, out)
	}
	for _, is := range rep.Errors {
		if is.Type == "security" {
			t.Errorf("security warning left after the fixes: %+v", is)
		}
	}
}

// hasSecurityWarning finds a security warning naming the variable or saying the text.
func hasSecurityWarning(r report, what string) bool {
	for _, is := range r.Errors {
		if is.Type == "security" && is.Severity == "warning" && (is.Variable == what || strings.Contains(is.Message, what)) {
			return true
		}
	}
	return false
}
