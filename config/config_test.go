package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	adminKey  = "sk_" + strings.Repeat("a", 40)
	publicKey = "pk_" + strings.Repeat("b", 40)
)

// expect describes a problem a test wants; empty fields are not compared.
type expect struct {
	variable string
	contains string // substring of the message
	warning  bool
}

// checkProblems fails unless got holds exactly the wanted problems, in order.
func checkProblems(t *testing.T, got Problems, want ...expect) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Variable != w.variable || g.Warning != w.warning || !strings.Contains(g.Message, w.contains) {
			t.Errorf("problem %d = %+v, want %+v", i, g, w)
		}
		if g.Suggestion == "" {
			t.Errorf("problem %d has no suggestion: %+v", i, g)
		}
	}
}

func dump(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String())
		if p.Warning {
			b.WriteString(" (warning)")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSignedPEM makes a CA certificate so the root-cert rule is tested on a real one.
func selfSignedPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestDefaultsAreValid(t *testing.T) {
	c, ps := Load(nil)
	checkProblems(t, ps)
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(nil) = %#v, want Default()", c)
	}
	checkProblems(t, c.Validate())
	if c.Engine() != EngineSQLite || c.SQLitePath() != filepath.Join("data", "smartonboard.db") {
		t.Errorf("Engine() = %q, SQLitePath() = %q", c.Engine(), c.SQLitePath())
	}
}

func TestLoadOverlaysEnvironment(t *testing.T) {
	rootCert := writeFile(t, "ca.pem", selfSignedPEM(t))
	c, ps := Load([]string{
		"SMARTONBOARD_ADDR=127.0.0.1:9000",
		"SMARTONBOARD_DATA_DIR=/var/lib/smartonboard",
		"DATABASE_URL=postgres://app:pw@db.internal:5432/onboard?sslmode=verify-full",
		"DATABASE_MAX_CONNS=25",
		"DATABASE_CONNECT_TIMEOUT=15", // plain integer: seconds
		"DATABASE_IDLE_TIMEOUT=1h30m",
		"DATABASE_SSL_ROOT_CERT=" + rootCert,
		"SMARTONBOARD_ENV=production",
		"SMARTONBOARD_ADMIN_KEY=" + adminKey,
		"SMARTONBOARD_PUBLIC_KEY=" + publicKey,
		"SMARTONBOARD_ALLOWED_ORIGINS= https://app.example.com, http://localhost:3000,,",
		"SMARTONBOARD_LOG_FORMAT=json",
		"SMARTONBOARD_LOG_LEVEL=debug",
		"SMARTONBOARD_METRICS_TOKEN=scrape-token",
		"SMARTONBOARD_SHUTDOWN_TIMEOUT=45s",
		"SMARTONBOARD_PUBLISH_INTERVAL=2m",
		"SMARTONBOARD_ABANDON_AFTER=72h", "SMARTONBOARD_CONSUMERS=off", "SMARTONBOARD_ROLLUPS=off",
		"SMARTONBOARD_MAX_STREAMS=500",
		"SMARTONBOARD_MAX_STREAMS_PER_PROJECT=400",
		"SMARTONBOARD_MAX_STREAMS_PER_IP=30",
		"SMARTONBOARD_STREAM_LIFETIME=30m",
		"SMARTONBOARD_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.7",
		"SMARTONBOARD_RATE_EVENTS_PER_USER=0",
		"SMARTONBOARD_RATE_PER_IP=100",
		"SMARTONBOARD_RATE_PER_PUBLIC_KEY=5000",
		"SMARTONBOARD_RATE_ADMIN=60",
		"SMARTONBOARD_IDENTITY_SECRET_GRACE=1h",
		"SMARTONBOARD_SESSION_IDLE_TIMEOUT=30m",
		"SMARTONBOARD_SESSION_MAX_AGE=24h",
		"SMARTONBOARD_OWNER_EMAIL=owner@example.com",
		"SMARTONBOARD_OWNER_PASSWORD=correct horse battery",
		"SMARTONBOARD_DEMO_HISTORY=50",
		"SMARTONBOARD_ADDR=:1", // repeated: the first wins, as with os.Getenv
		"HOME=/root",
		"not-a-pair",
	})
	checkProblems(t, ps)
	want := Config{
		Addr: "127.0.0.1:9000", DataDir: "/var/lib/smartonboard",
		DatabaseURL:      "postgres://app:pw@db.internal:5432/onboard?sslmode=verify-full",
		DatabaseMaxConns: 25, DatabaseConnectTimeout: 15 * time.Second, DatabaseIdleTimeout: 90 * time.Minute,
		DatabaseSSLRootCert: rootCert, Env: EnvProduction, AdminKey: adminKey, PublicKey: publicKey,
		AllowedOrigins: []string{"https://app.example.com", "http://localhost:3000"},
		LogFormat:      "json", LogLevel: "debug", MetricsToken: "scrape-token",
		ShutdownTimeout: 45 * time.Second, PublishInterval: 2 * time.Minute, AlertInterval: time.Minute, AbandonAfter: 72 * time.Hour, Consumers: "off", Rollups: "off", Demo: "on", DemoHistory: 50,
		MaxStreams: 500, MaxStreamsPerProject: 400, MaxStreamsPerIP: 30, StreamLifetime: 30 * time.Minute,
		TrustedProxies:    []string{"10.0.0.0/8", "192.0.2.7"},
		RateEventsPerUser: 0, RatePerIP: 100, RatePerPublicKey: 5000, RateAdmin: 60,
		IdentitySecretGrace: time.Hour, SessionIdleTimeout: 30 * time.Minute, SessionMaxAge: 24 * time.Hour,
		OwnerEmail: "owner@example.com", OwnerPassword: "correct horse battery",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load = %s\nwant   %s", c, want)
	}
	checkProblems(t, c.Validate())
	if c.Engine() != EnginePostgres {
		t.Errorf("Engine() = %q, want postgres", c.Engine())
	}
}

func TestLoadEmptyValueMeansUnset(t *testing.T) {
	c, ps := Load([]string{"DATABASE_URL=", "SMARTONBOARD_ADDR=", "DATABASE_URL_FILE="})
	checkProblems(t, ps)
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load = %s, want defaults", c)
	}
}

func TestLoadParseErrors(t *testing.T) {
	tests := []struct {
		env  string
		want []expect
		get  func(Config) any
		val  any
	}{
		{"DATABASE_MAX_CONNS=ten", []expect{{"DATABASE_MAX_CONNS", `"ten" is not a whole number`, false}},
			func(c Config) any { return c.DatabaseMaxConns }, 10},
		{"DATABASE_MAX_CONNS=2.5", []expect{{"DATABASE_MAX_CONNS", "not a whole number", false}},
			func(c Config) any { return c.DatabaseMaxConns }, 10},
		{"DATABASE_CONNECT_TIMEOUT=10x", []expect{{"DATABASE_CONNECT_TIMEOUT", `"10x" is not a duration`, false}},
			func(c Config) any { return c.DatabaseConnectTimeout }, 10 * time.Second},
		{"DATABASE_IDLE_TIMEOUT=99999999999", []expect{{"DATABASE_IDLE_TIMEOUT", "not a duration", false}},
			func(c Config) any { return c.DatabaseIdleTimeout }, 5 * time.Minute},
		{"SMARTONBOARD_SHUTDOWN_TIMEOUT=90", nil,
			func(c Config) any { return c.ShutdownTimeout }, 90 * time.Second},
		{"SMARTONBOARD_PUBLISH_INTERVAL=1h", nil,
			func(c Config) any { return c.PublishInterval }, time.Hour},
		{"SMARTONBOARD_PUBLISH_INTERVAL=-5", nil, // parses; Validate rejects the range
			func(c Config) any { return c.PublishInterval }, -5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			c, ps := Load([]string{tt.env})
			checkProblems(t, ps, tt.want...)
			if got := tt.get(c); got != tt.val {
				t.Errorf("value = %v, want %v", got, tt.val)
			}
		})
	}
}

func TestLoadFileVariants(t *testing.T) {
	vars := []struct {
		name string
		get  func(Config) string
	}{
		{"DATABASE_URL", func(c Config) string { return c.DatabaseURL }},
		{"SMARTONBOARD_ADMIN_KEY", func(c Config) string { return c.AdminKey }},
		{"SMARTONBOARD_PUBLIC_KEY", func(c Config) string { return c.PublicKey }},
		{"SMARTONBOARD_METRICS_TOKEN", func(c Config) string { return c.MetricsToken }},
	}
	for _, v := range vars {
		t.Run(v.name, func(t *testing.T) {
			file := writeFile(t, "value", "from-file \r\n\n")
			c, ps := Load([]string{v.name + "_FILE=" + file})
			checkProblems(t, ps)
			if got := v.get(c); got != "from-file" {
				t.Errorf("value = %q, want trailing whitespace trimmed", got)
			}

			c, ps = Load([]string{v.name + "=direct", v.name + "_FILE=" + file})
			checkProblems(t, ps, expect{v.name, "both " + v.name + " and " + v.name + "_FILE are set", false})
			if got := v.get(c); got != "" {
				t.Errorf("value = %q with both set, want none", got)
			}

			missing := filepath.Join(t.TempDir(), "missing")
			_, ps = Load([]string{v.name + "_FILE=" + missing})
			checkProblems(t, ps, expect{v.name + "_FILE", "cannot read " + `"` + missing + `": no such file`, false})
			if ps[0].File != missing {
				t.Errorf("File = %q, want %q", ps[0].File, missing)
			}

			_, ps = Load([]string{v.name + "_FILE=" + writeFile(t, "empty", "\n")})
			checkProblems(t, ps, expect{v.name + "_FILE", "is empty", false})
		})
	}
}

func TestLoadRejectsHugeFile(t *testing.T) {
	_, ps := Load([]string{"SMARTONBOARD_ADMIN_KEY_FILE=" + writeFile(t, "big", strings.Repeat("x", maxSecretFileSize+1))})
	checkProblems(t, ps, expect{"SMARTONBOARD_ADMIN_KEY_FILE", "larger than 64 KiB", false})
}

func TestLoadUnknownVariables(t *testing.T) {
	tests := []struct {
		env        string
		want       []expect
		suggestion string
	}{
		{"SMARTONBOARD_LOG_LEVLE=debug", []expect{{"SMARTONBOARD_LOG_LEVLE", "not a known variable", true}},
			"did you mean SMARTONBOARD_LOG_LEVEL?"},
		{"SMARTONBOARD_ADMINKEY=x", []expect{{"SMARTONBOARD_ADMINKEY", "not a known variable", true}},
			"did you mean SMARTONBOARD_ADMIN_KEY?"},
		{"SMARTONBOARD_ADMIN_KEY_FIEL=x", []expect{{"SMARTONBOARD_ADMIN_KEY_FIEL", "not a known variable", true}},
			"did you mean SMARTONBOARD_ADMIN_KEY_FILE?"},
		{"SMARTONBOARD_DATABASE_URL=x", []expect{{"SMARTONBOARD_DATABASE_URL", "not a known variable", true}},
			"did you mean DATABASE_URL?"},
		{"SMARTONBOARD_TELEMETRY=1", []expect{{"SMARTONBOARD_TELEMETRY", "not a known variable", true}},
			"remove it, or see config/README.md for the known variables"},
		{"SMARTONBOARD_LOG=debug", []expect{{"SMARTONBOARD_LOG", "not a known variable", true}},
			"remove it, or see config/README.md for the known variables"},
		{"DATABASE_URI=x", []expect{{"DATABASE_URI", "not a known variable", true}}, "did you mean DATABASE_URL?"},
		{"DATABASE_USER=app", nil, ""}, // another tool's variable, not a typo of ours
		{"PATH=/usr/bin", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, ps := Load([]string{tt.env})
			checkProblems(t, ps, tt.want...)
			if len(ps) > 0 && ps[0].Suggestion != tt.suggestion {
				t.Errorf("suggestion = %q, want %q", ps[0].Suggestion, tt.suggestion)
			}
		})
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []expect
	}{
		{"addr without port", func(c *Config) { c.Addr = "localhost" },
			[]expect{{"SMARTONBOARD_ADDR", `"localhost" is not host:port`, false}}},
		{"addr named port", func(c *Config) { c.Addr = ":http" },
			[]expect{{"SMARTONBOARD_ADDR", `port "http" is not a number`, false}}},
		{"addr port too big", func(c *Config) { c.Addr = "0.0.0.0:65536" },
			[]expect{{"SMARTONBOARD_ADDR", "port", false}}},
		{"addr port zero", func(c *Config) { c.Addr = "127.0.0.1:0" }, nil},
		{"env", func(c *Config) { c.Env = "prod" },
			[]expect{{"SMARTONBOARD_ENV", `"prod" is not one of development, staging, production`, false}}},
		{"log format", func(c *Config) { c.LogFormat = "xml" },
			[]expect{{"SMARTONBOARD_LOG_FORMAT", `"xml" is not one of text, json`, false}}},
		{"log level", func(c *Config) { c.LogLevel = "verbose" },
			[]expect{{"SMARTONBOARD_LOG_LEVEL", `"verbose" is not one of debug, info, warn, error`, false}}},
		{"database url scheme", func(c *Config) { c.DatabaseURL = "mysql://u:p@h/db" },
			[]expect{{"DATABASE_URL", "is not a URL of the form postgres://", false}}},
		{"database url keyword dsn", func(c *Config) { c.DatabaseURL = "host=db user=app" },
			[]expect{{"DATABASE_URL", "is not a URL", false}}},
		{"database url unescaped password", func(c *Config) { c.DatabaseURL = "postgres://u:12?x@h/db" },
			[]expect{{"DATABASE_URL", "is not a URL", false}}},
		{"database url no host", func(c *Config) { c.DatabaseURL = "postgres:///onboard" },
			[]expect{{"DATABASE_URL", "has no host", false}}},
		{"database url socket host", func(c *Config) { c.DatabaseURL = "postgresql:///onboard?host=/run/postgresql" }, nil},
		{"database url sslmode", func(c *Config) { c.DatabaseURL = "postgres://h/db?sslmode=on" },
			[]expect{{"DATABASE_URL", "sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full", false}}},
		{"max conns low", func(c *Config) { c.DatabaseMaxConns = 0 },
			[]expect{{"DATABASE_MAX_CONNS", "is 0; must be from 1 to 1000", false}}},
		{"max conns high", func(c *Config) { c.DatabaseMaxConns = 1001 },
			[]expect{{"DATABASE_MAX_CONNS", "is 1001", false}}},
		{"connect timeout low", func(c *Config) { c.DatabaseConnectTimeout = 500 * time.Millisecond },
			[]expect{{"DATABASE_CONNECT_TIMEOUT", "is 500ms; must be from 1s to 5m", false}}},
		{"connect timeout high", func(c *Config) { c.DatabaseConnectTimeout = 6 * time.Minute },
			[]expect{{"DATABASE_CONNECT_TIMEOUT", "is 6m", false}}},
		{"idle timeout", func(c *Config) { c.DatabaseIdleTimeout = 25 * time.Hour },
			[]expect{{"DATABASE_IDLE_TIMEOUT", "is 25h; must be from 1s to 24h", false}}},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 11 * time.Minute },
			[]expect{{"SMARTONBOARD_SHUTDOWN_TIMEOUT", "must be from 1s to 10m", false}}},
		{"publish interval", func(c *Config) { c.PublishInterval = 0 },
			[]expect{{"SMARTONBOARD_PUBLISH_INTERVAL", "is 0s; must be from 1s to 24h", false}}},
		{"admin key prefix", func(c *Config) { c.AdminKey = "xx_" + strings.Repeat("a", 40) },
			[]expect{{"SMARTONBOARD_ADMIN_KEY", `must start with "sk_"`, false}}},
		{"admin key short", func(c *Config) { c.AdminKey = "sk_short" },
			[]expect{{"SMARTONBOARD_ADMIN_KEY", "at least 32 characters", false}}},
		{"admin key whitespace", func(c *Config) { c.AdminKey = adminKey + "\nsecond-line" },
			[]expect{{"SMARTONBOARD_ADMIN_KEY", "whitespace", false}}},
		{"public key prefix", func(c *Config) { c.PublicKey = adminKey },
			[]expect{{"SMARTONBOARD_PUBLIC_KEY", `must start with "pk_"`, false}}},
		{"keys equal", func(c *Config) { c.AdminKey, c.PublicKey = adminKey, adminKey },
			[]expect{{"SMARTONBOARD_PUBLIC_KEY", `must start with "pk_"`, false},
				{"SMARTONBOARD_PUBLIC_KEY", "must differ from SMARTONBOARD_ADMIN_KEY", false}}},
		{"keys valid", func(c *Config) { c.AdminKey, c.PublicKey = adminKey, publicKey }, nil},
		{"metrics token whitespace", func(c *Config) { c.MetricsToken = "tok en" },
			[]expect{{"SMARTONBOARD_METRICS_TOKEN", "whitespace", false}}},
		{"origins valid", func(c *Config) {
			c.AllowedOrigins = []string{"*", "https://app.example.com", "http://localhost:3000", "https://[::1]:8443"}
		}, nil},
		{"origin trailing slash", func(c *Config) { c.AllowedOrigins = []string{"https://app.example.com/"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", `"https://app.example.com/" has a path`, false}}},
		{"origin path", func(c *Config) { c.AllowedOrigins = []string{"https://app.example.com/app"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", "has a path", false}}},
		{"origin scheme", func(c *Config) { c.AllowedOrigins = []string{"ftp://files.example.com"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", `"ftp://files.example.com" is not an origin`, false}}},
		{"origin bare host", func(c *Config) { c.AllowedOrigins = []string{"app.example.com"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", "is not an origin", false}}},
		{"origin query", func(c *Config) { c.AllowedOrigins = []string{"https://app.example.com?x=1"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", "is not an origin", false}}},
		{"origin port", func(c *Config) { c.AllowedOrigins = []string{"https://app.example.com:99999"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", "invalid port", false}}},
		{"every bad origin", func(c *Config) { c.AllowedOrigins = []string{"a", "*", "b"} },
			[]expect{{"SMARTONBOARD_ALLOWED_ORIGINS", `"a"`, false}, {"SMARTONBOARD_ALLOWED_ORIGINS", `"b"`, false}}},
		{"root cert missing", func(c *Config) { c.DatabaseURL, c.DatabaseSSLRootCert = "postgres://h/db", "/nonexistent/ca.pem" },
			[]expect{{"DATABASE_SSL_ROOT_CERT", `cannot read "/nonexistent/ca.pem": no such file`, false}}},
		{"production without database", func(c *Config) { c.Env, c.AdminKey = EnvProduction, adminKey },
			[]expect{{"DATABASE_URL", "embedded SQLite serves one instance", true}}},
		{"production without admin key", func(c *Config) {
			c.Env, c.DatabaseURL, c.DatabaseSSLRootCert = EnvProduction, "postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem", ""
		}, []expect{{"SMARTONBOARD_ADMIN_KEY", "a generated key is printed once to the terminal", true}}},
		{"staging is lenient", func(c *Config) { c.Env, c.DatabaseURL = EnvStaging, "postgres://h/db?sslmode=disable" }, nil},
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.300", "::1"} },
			[]expect{{"SMARTONBOARD_TRUSTED_PROXIES", `"10.0.0.300" is not an address or CIDR`, false}}},
		{"owner without password", func(c *Config) { c.OwnerEmail = "o@example.com" },
			[]expect{{"SMARTONBOARD_OWNER_PASSWORD", "is required when SMARTONBOARD_OWNER_EMAIL is set", false}}},
		{"owner short password", func(c *Config) { c.OwnerEmail, c.OwnerPassword = "o@example.com", "short" },
			[]expect{{"SMARTONBOARD_OWNER_PASSWORD", "at least 12 characters", false}}},
		{"owner bad email", func(c *Config) { c.OwnerEmail, c.OwnerPassword = "Owner <o@example.com>", "long enough password" },
			[]expect{{"SMARTONBOARD_OWNER_EMAIL", "is not an email address", false}}},
		{"rate limit negative", func(c *Config) { c.RatePerIP = -1 },
			[]expect{{"SMARTONBOARD_RATE_PER_IP", "is -1; must be from 0 to 100000000", false}}},
		{"rate limits off", func(c *Config) { c.RatePerIP, c.RateAdmin, c.RateEventsPerUser = 0, 0, 0 }, nil},
		{"stream lifetime too short", func(c *Config) { c.StreamLifetime = time.Second },
			[]expect{{"SMARTONBOARD_STREAM_LIFETIME", "must be from 1m to 24h", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			checkProblems(t, c.Validate(), tt.want...)
		})
	}
}

func TestValidateSuggestsIntendedValue(t *testing.T) {
	tests := []struct {
		mutate     func(c *Config)
		suggestion string
	}{
		{func(c *Config) { c.Env = "Production" }, "did you mean production?"},
		{func(c *Config) { c.Env = "prod" }, "did you mean production?"},
		{func(c *Config) { c.Env = "dev" }, "did you mean development?"},
		{func(c *Config) { c.LogLevel = "warning" }, "did you mean warn?"},
		{func(c *Config) { c.LogFormat = "jsno" }, "did you mean json?"},
		{func(c *Config) { c.LogFormat = "yaml" }, "set one of text, json"},
	}
	for _, tt := range tests {
		c := Default()
		tt.mutate(&c)
		ps := c.Validate()
		if len(ps) != 1 || ps[0].Suggestion != tt.suggestion {
			t.Errorf("got %v, want one problem suggesting %q", ps, tt.suggestion)
		}
	}
}

func TestValidateRootCert(t *testing.T) {
	const url = "postgres://h/db?sslmode=verify-full"
	tests := []struct {
		name, url, content string
		want               []expect
	}{
		{"self-signed CA", url, selfSignedPEM(t), nil},
		{"not PEM", url, "hello\n", []expect{{"DATABASE_SSL_ROOT_CERT", "holds no PEM CERTIFICATE block", false}}},
		{"private key only", url, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
			[]expect{{"DATABASE_SSL_ROOT_CERT", "holds no PEM CERTIFICATE block", false}}},
		{"without database", "", selfSignedPEM(t), []expect{{"DATABASE_SSL_ROOT_CERT", "no effect without DATABASE_URL", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.DatabaseURL, c.DatabaseSSLRootCert = tt.url, writeFile(t, "ca.pem", tt.content)
			ps := c.Validate()
			checkProblems(t, ps, tt.want...)
			if len(ps) > 0 && ps[0].File != c.DatabaseSSLRootCert {
				t.Errorf("File = %q, want the cert path", ps[0].File)
			}
		})
	}
}

func TestValidateProductionSSLMode(t *testing.T) {
	rootCert := writeFile(t, "ca.pem", selfSignedPEM(t))
	tests := []struct {
		url, rootCert string
		want          []expect
	}{
		{"postgres://u:p@h/db?sslmode=disable", "", []expect{{"DATABASE_URL", "sslmode=disable is not allowed", false}}},
		{"postgres://u:p@h/db?sslmode=allow", "", []expect{{"DATABASE_URL", "sslmode=allow is not allowed", false}}},
		{"postgres://u:p@h/db?sslmode=prefer", "", []expect{{"DATABASE_URL", "sslmode=prefer is not allowed", false}}},
		{"postgres://u:p@h/db", "", []expect{{"DATABASE_URL", "sslmode=prefer is not allowed", false}}},
		{"postgres://u:p@h/db?sslmode=require", rootCert, []expect{{"DATABASE_URL", "does not verify", true}}},
		{"postgres://u:p@h/db?sslmode=verify-ca", "", []expect{{"DATABASE_SSL_ROOT_CERT", "system's root certificates", true}}},
		{"postgres://u:p@h/db?sslmode=verify-full", "", []expect{{"DATABASE_SSL_ROOT_CERT", "system's root certificates", true}}},
		{"postgres://u:p@h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem", "", nil},
		{"postgres://u:p@h/db?sslmode=verify-full", rootCert, nil},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.rootCert, func(t *testing.T) {
			c := Default()
			c.Env, c.AdminKey, c.DatabaseURL, c.DatabaseSSLRootCert = EnvProduction, adminKey, tt.url, tt.rootCert
			checkProblems(t, c.Validate(), tt.want...)
		})
	}

	c := Default()
	c.Env, c.AdminKey, c.DatabaseURL = EnvProduction, adminKey, "postgres://u:p@h/db?sslmode=disable"
	want := Problem{Variable: "DATABASE_URL", Message: "sslmode=disable is not allowed when SMARTONBOARD_ENV=production",
		Suggestion: "use sslmode=verify-full and set DATABASE_SSL_ROOT_CERT"}
	if ps := c.Validate(); len(ps) != 1 || ps[0] != want {
		t.Errorf("Validate() = %+v, want exactly %+v", ps, want)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c, ps := Load([]string{
		"SMARTONBOARD_ADDR=nope", "SMARTONBOARD_ENV=production", "SMARTONBOARD_LOG_FORMAT=xml",
		"SMARTONBOARD_LOG_LEVEL=loud", "DATABASE_URL=postgres://u:p@h/db?sslmode=disable",
		"DATABASE_MAX_CONNS=0", "DATABASE_CONNECT_TIMEOUT=0", "DATABASE_IDLE_TIMEOUT=48h",
		"DATABASE_SSL_ROOT_CERT=/nonexistent", "SMARTONBOARD_ADMIN_KEY=sk_short", "SMARTONBOARD_PUBLIC_KEY=pk_short",
		"SMARTONBOARD_ALLOWED_ORIGINS=example.com", "SMARTONBOARD_SHUTDOWN_TIMEOUT=1h",
		"SMARTONBOARD_PUBLISH_INTERVAL=forever", "SMARTONBOARD_COLOUR=1", "SMARTONBOARD_MAX_STREAMS=0",
	})
	ps = append(ps, c.Validate()...)
	var got []string
	for _, p := range ps {
		got = append(got, p.Variable)
	}
	want := []string{"SMARTONBOARD_PUBLISH_INTERVAL", "SMARTONBOARD_COLOUR", "SMARTONBOARD_ADDR",
		"SMARTONBOARD_LOG_FORMAT", "SMARTONBOARD_LOG_LEVEL", "DATABASE_URL", "DATABASE_SSL_ROOT_CERT", "DATABASE_MAX_CONNS",
		"SMARTONBOARD_MAX_STREAMS", "DATABASE_CONNECT_TIMEOUT", "DATABASE_IDLE_TIMEOUT", "SMARTONBOARD_SHUTDOWN_TIMEOUT",
		"SMARTONBOARD_ADMIN_KEY", "SMARTONBOARD_PUBLIC_KEY", "SMARTONBOARD_ALLOWED_ORIGINS"}
	if !slices.Equal(got, want) {
		t.Errorf("problems for %v\nwant %v\n%s", got, want, dump(ps))
	}
	if n := len(ps.Errors()); n != len(want)-1 || len(ps.Warnings()) != 1 {
		t.Errorf("%d errors and %d warnings, want %d and 1", n, len(ps.Warnings()), len(want)-1)
	}
	lines := strings.Split(ps.Err().Error(), "\n")
	if len(lines) != len(want)-1 || lines[1] != `SMARTONBOARD_ADDR: "nope" is not host:port; use ":8080" to listen on every interface, or "127.0.0.1:8080" for this host only` {
		t.Errorf("Err() lines = %q", lines)
	}
}

func TestProblemsErr(t *testing.T) {
	ps := Problems{
		{Variable: "A", Message: "is bad", Suggestion: "fix it"},
		{Variable: "B", Message: "is odd", Suggestion: "look", Warning: true},
		{Variable: "C", Message: "is worse"},
	}
	if err := ps.Warnings().Err(); err != nil {
		t.Errorf("Err() with only warnings = %v, want nil", err)
	}
	if err := Problems(nil).Err(); err != nil {
		t.Errorf("Err() with no problems = %v, want nil", err)
	}
	if got, want := ps.Err().Error(), "A: is bad; fix it\nC: is worse"; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
	if len(ps.Errors()) != 2 || len(ps.Warnings()) != 1 || ps.Warnings()[0].Variable != "B" {
		t.Errorf("Errors() = %v, Warnings() = %v", ps.Errors(), ps.Warnings())
	}
}

func TestProblemJSON(t *testing.T) {
	b, err := json.Marshal(Problems{
		{Variable: "A", Message: "m", Suggestion: "s"},
		{Variable: "B", Message: "m", Suggestion: "s", Warning: true, File: "/f"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"variable":"A","message":"m","suggestion":"s"},` +
		`{"variable":"B","message":"m","suggestion":"s","warning":true,"file":"/f"}]`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestRegisterFlags(t *testing.T) {
	c, problems := Load([]string{"SMARTONBOARD_ADDR=:9000", "SMARTONBOARD_LOG_LEVEL=debug", "SMARTONBOARD_ENV=staging"})
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.RegisterFlags(fs)
	err := fs.Parse([]string{"--addr", ":7000", "--env=production", "--data-dir", "/srv", "--log-format", "json", "--migrate"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7000" || c.Env != EnvProduction || c.DataDir != "/srv" || c.LogFormat != "json" ||
		c.LogLevel != "debug" || !c.Migrate {
		t.Errorf("after flags: %s", c)
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	want := []string{"addr", "data-dir", "demo", "env", "log-format", "log-level", "migrate"}
	if !slices.Equal(names, want) {
		t.Errorf("flags = %v, want %v (never a secret)", names, want)
	}
	if f := fs.Lookup("log-level"); f.DefValue != "debug" {
		t.Errorf("--log-level default = %q, want the loaded value", f.DefValue)
	}
}
