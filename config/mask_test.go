package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/onboard?sslmode=verify-full", "postgres://app:xxxxx@db:5432/onboard?sslmode=verify-full"},
		{"postgresql://app@db/onboard", "postgresql://app@db/onboard"},
		{"postgres://db/onboard", "postgres://db/onboard"},
		{"postgres://app:p@ss@db/onboard", "postgres://app:xxxxx@db/onboard"},
		{"postgres://db/onboard?password=s3cret&sslmode=require", "postgres://db/onboard?password=xxxxx&sslmode=require"},
		{"postgres://db/x?sslpassword=s3cret", "postgres://db/x?sslpassword=xxxxx"},
		{"postgres://db/x?password=ab&s3cret&search_path=app", "postgres://db/x?password=xxxxx&search_path=app&xxxxx=xxxxx"},
		{"postgres://db/x?options=-c%20secret%3Ds3cret", "postgres://db/x?xxxxx=xxxxx"},
		{"", "<unparsable>"},
		{"host=db password=s3cret", "<unparsable>"},
		{"app:s3cret@db/onboard", "<unparsable>"},
		{"postgres://app:s3%zzret@db", "<unparsable>"},
		{"postgres://app:12?s3cret@db/onboard", "<unparsable>"},
		{"postgres://app:12/s3cret@db/onboard", "<unparsable>"},
		{"postgres://app:12#s3cret@db", "<unparsable>"},
		{"postgres://app:s3 cret@db", "<unparsable>"},
	}
	for _, tt := range tests {
		if got := MaskURL(tt.in); got != tt.want {
			t.Errorf("MaskURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLogValueShowsEverySettingMasked(t *testing.T) {
	c := Default()
	c.DatabaseURL = "postgres://app:s3cret@db/onboard"
	c.AdminKey, c.PublicKey, c.MetricsToken = "sk_abcdefghijklmnopqrstuvwxyz0123456789", publicKey, "tok"
	c.AllowedOrigins = []string{"https://a.example", "https://b.example"}
	got := map[string]string{}
	for _, a := range c.LogValue().Group() {
		got[a.Key] = a.Value.String()
	}
	if len(got) != len(settings)+2 {
		t.Errorf("LogValue has %d attributes, want every setting plus engine and migrate: %v", len(got), got)
	}
	want := map[string]string{
		"engine": "postgres", "addr": ":8080", "database_url": "postgres://app:xxxxx@db/onboard",
		"admin_key": "sk_abc…", "public_key": "pk_bbb…", "metrics_token": "set",
		"allowed_origins": "https://a.example,https://b.example", "database_connect_timeout": "10s", "database_idle_timeout": "5m",
		"database_max_conns": "10", "migrate": "false", "env": "development",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	unset := Default().LogValue().Group()
	for _, a := range unset {
		if slices.Contains([]string{"database_url", "admin_key", "public_key", "metrics_token"}, a.Key) && a.Value.String() != "unset" {
			t.Errorf("%s = %q with nothing set, want unset", a.Key, a.Value)
		}
	}
	if got := maskKey("sk_short"); got != "sk…" {
		t.Errorf("maskKey of a short key = %q, want at most a quarter shown", got)
	}
}

// TestSecretsNeverLeak feeds a recognisable secret through every variable that holds
// one, valid and broken, and looks for it in every output a secret could reach.
func TestSecretsNeverLeak(t *testing.T) {
	const canary = "CANARYz9q"
	secretFile := writeFile(t, "secret", "sk_abcdef"+canary+strings.Repeat("x", 30))
	environs := [][]string{
		{"DATABASE_URL=postgres://app:" + canary + "@db/x?sslmode=verify-full", "SMARTONBOARD_ENV=production",
			"SMARTONBOARD_ADMIN_KEY=sk_abcdef" + canary + strings.Repeat("x", 30),
			"SMARTONBOARD_METRICS_TOKEN=" + canary, "SMARTONBOARD_PUBLIC_KEY=pk_abcdef" + canary + strings.Repeat("y", 30)},
		{"DATABASE_URL=postgres://app:" + canary + "@db/x?sslmode=bogus&password=ab&" + canary + "&options=" + canary,
			"SMARTONBOARD_ADMIN_KEY=pk_abcdef" + canary, "SMARTONBOARD_PUBLIC_KEY=pk_abcdef" + canary,
			"SMARTONBOARD_METRICS_TOKEN=" + canary + " \t"},
		{"DATABASE_URL=mysql://app:" + canary + "@db", "SMARTONBOARD_ADMIN_KEY=sk_abcdef" + canary + " trailing-space-xxxxxxxxxx"},
		{"DATABASE_URL=postgres://app:12?" + canary + "@db", "SMARTONBOARD_ENV=production"},
		{"DATABASE_URL=postgres://app:12#" + canary + "@db/x?sslmode=disable", "SMARTONBOARD_ENV=production"},
		{"DATABASE_URL=host=db password=" + canary},
		{"DATABASE_URL=postgres://db/x?password=" + canary + "&sslmode=disable", "SMARTONBOARD_ENV=production"},
		{"SMARTONBOARD_ADMIN_KEY=" + canary, "SMARTONBOARD_ADMIN_KEY_FILE=" + secretFile, "SMARTONBOARD_ADMN_KEY=" + canary},
		{"SMARTONBOARD_ADMIN_KEY_FILE=" + secretFile, "SMARTONBOARD_PUBLIC_KEY_FILE=" + secretFile},
		{"DATABASE_URL_FILE=" + writeFile(t, "url", "postgres://u:"+canary+"@h:port/db\n")},
	}
	for i, env := range environs {
		c, ps := Load(env)
		ps = append(ps, c.Validate()...)
		if len(ps) == 0 && i > 0 {
			t.Errorf("environ %d: no problems; the case no longer exercises error paths", i)
		}
		pj, err := json.Marshal(ps)
		if err != nil {
			t.Fatal(err) // an empty output would show no secret and pass
		}
		var logged strings.Builder
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
		outputs := []string{string(pj), dump(ps), logged.String(), c.String(),
			fmt.Sprintf("%v %+v %#v %s %d %q", c, c, c, c, c, c)}
		if err := ps.Err(); err != nil {
			outputs = append(outputs, err.Error())
		}
		for _, out := range outputs {
			if strings.Contains(out, canary) {
				t.Errorf("environ %d: secret leaked into %s", i, out)
			}
		}
	}
}
