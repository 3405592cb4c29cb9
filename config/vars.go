package config

import (
	"strconv"
	"strings"
	"time"
)

// Var describes one environment variable, so --help and the README print the same
// table that Load actually reads.
type Var struct {
	Name        string `json:"name"`
	Default     string `json:"default"`
	Description string `json:"description"`
	Secret      bool   `json:"secret"`
	File        bool   `json:"file,omitempty"` // Name_FILE may name a file holding the value
	Flag        string `json:"flag,omitempty"` // the flag that overrides it, if any
}

// setting ties a Var to the Config field it fills; field returns a pointer to it.
type setting struct {
	Var
	field func(c *Config) any
	mask  func(v string) string // how LogValue shows the value; nil shows it in clear
}

// settings is the one table Load, Vars, RegisterFlags and LogValue all read.
var settings = []setting{
	{Var: Var{Name: "SMARTONBOARD_ADDR", Flag: "addr",
		Description: "Address the HTTP server listens on, as host:port; :0 picks a free port."},
		field: func(c *Config) any { return &c.Addr }},
	{Var: Var{Name: "SMARTONBOARD_DATA_DIR", Flag: "data-dir",
		Description: "Directory that holds the embedded SQLite database (smartonboard.db)."},
		field: func(c *Config) any { return &c.DataDir }},
	{Var: Var{Name: "DATABASE_URL", Secret: true, File: true,
		Description: "PostgreSQL URL such as postgres://user:password@host:5432/db?sslmode=verify-full (sslmode defaults to prefer); unset uses embedded SQLite."},
		field: func(c *Config) any { return &c.DatabaseURL }, mask: maskURLValue},
	{Var: Var{Name: "DATABASE_MAX_CONNS",
		Description: "Most PostgreSQL connections one instance opens (1 to 1000)."},
		field: func(c *Config) any { return &c.DatabaseMaxConns }},
	{Var: Var{Name: "DATABASE_CONNECT_TIMEOUT",
		Description: "How long to wait for a database connection (1s to 5m)."},
		field: func(c *Config) any { return &c.DatabaseConnectTimeout }},
	{Var: Var{Name: "DATABASE_IDLE_TIMEOUT",
		Description: "How long an idle pooled connection is kept open (1s to 24h)."},
		field: func(c *Config) any { return &c.DatabaseIdleTimeout }},
	{Var: Var{Name: "DATABASE_SSL_ROOT_CERT",
		Description: "Path to a PEM file of the CA certificates that sign the PostgreSQL server certificate."},
		field: func(c *Config) any { return &c.DatabaseSSLRootCert }},
	{Var: Var{Name: "SMARTONBOARD_ENV", Flag: "env",
		Description: "development, staging or production; production refuses an unencrypted connection to PostgreSQL."},
		field: func(c *Config) any { return &c.Env }},
	{Var: Var{Name: "SMARTONBOARD_ADMIN_KEY", Secret: true, File: true,
		Description: "Secret API key for admin APIs (sk_ and at least 32 characters); unset generates one on first start and prints it once."},
		field: func(c *Config) any { return &c.AdminKey }, mask: maskKey},
	{Var: Var{Name: "SMARTONBOARD_PUBLIC_KEY", File: true,
		Description: "Public API key the browser SDK sends (pk_ and at least 32 characters); unset generates one on first start."},
		field: func(c *Config) any { return &c.PublicKey }, mask: maskKey},
	{Var: Var{Name: "SMARTONBOARD_ALLOWED_ORIGINS",
		Description: "Comma-separated browser origins (scheme://host[:port]) allowed to call the API cross-origin; * allows any origin on the public routes only (identify, events, journeys, next step, stream)."},
		field: func(c *Config) any { return &c.AllowedOrigins }},
	{Var: Var{Name: "SMARTONBOARD_LOG_FORMAT", Flag: "log-format",
		Description: "Log format: text or json."},
		field: func(c *Config) any { return &c.LogFormat }},
	{Var: Var{Name: "SMARTONBOARD_LOG_LEVEL", Flag: "log-level",
		Description: "Least severe level logged: debug, info, warn or error."},
		field: func(c *Config) any { return &c.LogLevel }},
	{Var: Var{Name: "SMARTONBOARD_METRICS_TOKEN", Secret: true, File: true,
		Description: "When set, GET /metrics requires Authorization: Bearer <token>."},
		field: func(c *Config) any { return &c.MetricsToken }, mask: maskSet},
	{Var: Var{Name: "SMARTONBOARD_SHUTDOWN_TIMEOUT",
		Description: "How long in-flight requests get to finish on shutdown (1s to 10m)."},
		field: func(c *Config) any { return &c.ShutdownTimeout }},
	{Var: Var{Name: "SMARTONBOARD_PUBLISH_INTERVAL",
		Description: "How often scheduled content is published (1s to 24h)."},
		field: func(c *Config) any { return &c.PublishInterval }},
	{Var: Var{Name: "SMARTONBOARD_ALERT_INTERVAL",
		Description: "How often the alert rules are evaluated, once across instances (1s to 24h)."},
		field: func(c *Config) any { return &c.AlertInterval }},
	{Var: Var{Name: "SMARTONBOARD_ABANDON_AFTER",
		Description: "How long a journey may be idle before it is marked abandoned (1m to 365 days; durations in hours, e.g. 168h)."},
		field: func(c *Config) any { return &c.AbandonAfter }},
	{Var: Var{Name: "SMARTONBOARD_CONSUMERS",
		Description: "on or off: whether this instance runs the pipeline's durable consumers (the behaviour engine). off makes an instance that only ingests and serves; committed events wait in the log for an instance with on, which resumes from its cursor."},
		field: func(c *Config) any { return &c.Consumers }},
	{Var: Var{Name: "SMARTONBOARD_ROLLUPS",
		Description: "on or off: whether the analytics consumer keeps the report rollups (with SMARTONBOARD_CONSUMERS on). off leaves its cursor where it is; turned on again it catches up from there."},
		field: func(c *Config) any { return &c.Rollups }},
	{Var: Var{Name: "SMARTONBOARD_DEMO", Flag: "demo",
		Description: "on or off: in development, whether serve seeds the demo product's own project (flow, content, a public key) on first start and serves it at /demo. Never in production; its data stay in the demo project."},
		field: func(c *Config) any { return &c.Demo }},
	{Var: Var{Name: "SMARTONBOARD_DEMO_HISTORY",
		Description: "How many simulated users' last four weeks the first start seeds into the new demo project, in the background, before training its first model (0 to 100000; 0 seeds none), so the demo's dashboard has funnels, users and a real prediction to show."},
		field: func(c *Config) any { return &c.DemoHistory }},
	{Var: Var{Name: "SMARTONBOARD_MAX_STREAMS",
		Description: "How many real-time streams (SSE) one instance holds open at most (1 to 1000000); public-key streams may take all but a tenth (1 to 100 places, kept for secret keys); beyond that new ones get 503."},
		field: func(c *Config) any { return &c.MaxStreams }},
	{Var: Var{Name: "SMARTONBOARD_MAX_STREAMS_PER_PROJECT",
		Description: "How many public-key real-time streams one project may hold open on one instance (1 to 1000000), so no tenant can take another's; beyond it 429. A project's limits.streams overrides it."},
		field: func(c *Config) any { return &c.MaxStreamsPerProject }},
	{Var: Var{Name: "SMARTONBOARD_MAX_STREAMS_PER_IP",
		Description: "How many public-key real-time streams one client address (an IPv6 /64) may hold open on one instance (1 to 1000000); beyond it 429."},
		field: func(c *Config) any { return &c.MaxStreamsPerIP }},
	{Var: Var{Name: "SMARTONBOARD_STREAM_LIFETIME",
		Description: "Longest a real-time stream stays open (less up to a tenth, at random) before the server ends it with a reconnect hint (1m to 24h)."},
		field: func(c *Config) any { return &c.StreamLifetime }},
	{Var: Var{Name: "SMARTONBOARD_TRUSTED_PROXIES",
		Description: "Comma-separated CIDRs (or addresses) of the proxies in front of the server; only their X-Forwarded-For names the client address."},
		field: func(c *Config) any { return &c.TrustedProxies }},
	{Var: Var{Name: "SMARTONBOARD_RATE_EVENTS_PER_USER",
		Description: "Event requests per minute one end user may send (0 turns the limit off); a project's settings may override it."},
		field: func(c *Config) any { return &c.RateEventsPerUser }},
	{Var: Var{Name: "SMARTONBOARD_RATE_PER_IP",
		Description: "Requests per minute one client address may send to one instance (0 turns the limit off)."},
		field: func(c *Config) any { return &c.RatePerIP }},
	{Var: Var{Name: "SMARTONBOARD_RATE_PER_PUBLIC_KEY",
		Description: "Requests per minute one public key may send (0, the default, turns the limit off: one key serves every visitor of a site); a project's settings may set a quota."},
		field: func(c *Config) any { return &c.RatePerPublicKey }},
	{Var: Var{Name: "SMARTONBOARD_RATE_ADMIN",
		Description: "Admin requests per minute per secret key or dashboard session (0 turns the limit off)."},
		field: func(c *Config) any { return &c.RateAdmin }},
	{Var: Var{Name: "SMARTONBOARD_IDENTITY_SECRET_GRACE",
		Description: "How long the previous identity secret stays valid after a rotation, so live pages keep working (0s to 30 days)."},
		field: func(c *Config) any { return &c.IdentitySecretGrace }},
	{Var: Var{Name: "SMARTONBOARD_SESSION_IDLE_TIMEOUT",
		Description: "How long a dashboard session may go unused before it expires (1m to 30 days)."},
		field: func(c *Config) any { return &c.SessionIdleTimeout }},
	{Var: Var{Name: "SMARTONBOARD_SESSION_MAX_AGE",
		Description: "Longest a dashboard session lives however much it is used (1m to 90 days)."},
		field: func(c *Config) any { return &c.SessionMaxAge }},
	{Var: Var{Name: "SMARTONBOARD_OWNER_EMAIL",
		Description: "Email of the owner account created at first start (with SMARTONBOARD_OWNER_PASSWORD_FILE) when no account exists."},
		field: func(c *Config) any { return &c.OwnerEmail }},
	{Var: Var{Name: "SMARTONBOARD_OWNER_PASSWORD", Secret: true, File: true,
		Description: "Password of that owner account (at least 12 characters); prefer SMARTONBOARD_OWNER_PASSWORD_FILE."},
		field: func(c *Config) any { return &c.OwnerPassword }, mask: maskSet},
}

// Vars describes every environment variable with its default, so documentation and
// --help are generated from the code instead of drifting from it.
func Vars() []Var {
	def := Default()
	vars := make([]Var, len(settings))
	for i, s := range settings {
		vars[i] = s.Var
		if !s.Secret {
			vars[i].Default = formatValue(s.field(&def))
		}
	}
	return vars
}

// knownNames lists every variable Load reads, _FILE variants included.
func knownNames() []string {
	var names []string
	for _, s := range settings {
		names = append(names, s.Name)
		if s.File {
			names = append(names, s.Name+"_FILE")
		}
	}
	return names
}

// formatValue renders a field the way an operator would write it in the environment.
func formatValue(p any) string {
	switch p := p.(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *time.Duration:
		return formatDuration(*p)
	case *[]string:
		return strings.Join(*p, ",")
	}
	return ""
}

// formatDuration drops Go's trailing zero units: 5m rather than 5m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
