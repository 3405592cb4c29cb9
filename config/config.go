// Package config is the typed configuration of the smartonboard binary: defaults in
// code, environment overrides, a few flags, and a Validate that reports every problem
// at once with a suggestion, so an operator fixes a deployment in one pass instead of
// discovering its mistakes one crash at a time.
package config

import (
	"flag"
	"path/filepath"
	"time"
)

// Environments name where an instance runs; production turns on the strict rules.
const (
	EnvDevelopment = "development"
	EnvStaging     = "staging"
	EnvProduction  = "production"
)

// Engines name the storage backends Engine returns, so callers switch on constants.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Config holds every setting of the binary; it is loaded once in main and passed down
// explicitly so no package reads the environment or keeps a global.
type Config struct {
	Addr                   string        // SMARTONBOARD_ADDR
	DataDir                string        // SMARTONBOARD_DATA_DIR: holds the SQLite file
	DatabaseURL            string        // DATABASE_URL (secret): empty means embedded SQLite
	DatabaseMaxConns       int           // DATABASE_MAX_CONNS
	DatabaseConnectTimeout time.Duration // DATABASE_CONNECT_TIMEOUT
	DatabaseIdleTimeout    time.Duration // DATABASE_IDLE_TIMEOUT
	DatabaseSSLRootCert    string        // DATABASE_SSL_ROOT_CERT: path to a PEM file
	Env                    string        // SMARTONBOARD_ENV
	AdminKey               string        // SMARTONBOARD_ADMIN_KEY (secret)
	PublicKey              string        // SMARTONBOARD_PUBLIC_KEY
	AllowedOrigins         []string      // SMARTONBOARD_ALLOWED_ORIGINS
	LogFormat              string        // SMARTONBOARD_LOG_FORMAT
	LogLevel               string        // SMARTONBOARD_LOG_LEVEL
	MetricsToken           string        // SMARTONBOARD_METRICS_TOKEN (secret)
	ShutdownTimeout        time.Duration // SMARTONBOARD_SHUTDOWN_TIMEOUT
	PublishInterval        time.Duration // SMARTONBOARD_PUBLISH_INTERVAL
	AlertInterval          time.Duration // SMARTONBOARD_ALERT_INTERVAL
	AbandonAfter           time.Duration // SMARTONBOARD_ABANDON_AFTER
	Consumers              string        // SMARTONBOARD_CONSUMERS
	Rollups                string        // SMARTONBOARD_ROLLUPS
	Demo                   string        // SMARTONBOARD_DEMO: on (development only) or off
	DemoHistory            int           // SMARTONBOARD_DEMO_HISTORY: simulated users seeded into a new demo project
	MaxStreams             int           // SMARTONBOARD_MAX_STREAMS
	MaxStreamsPerProject   int           // SMARTONBOARD_MAX_STREAMS_PER_PROJECT
	MaxStreamsPerIP        int           // SMARTONBOARD_MAX_STREAMS_PER_IP
	StreamLifetime         time.Duration // SMARTONBOARD_STREAM_LIFETIME
	TrustedProxies         []string      // SMARTONBOARD_TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed
	RateEventsPerUser      int           // SMARTONBOARD_RATE_EVENTS_PER_USER: event requests per minute per user
	RatePerIP              int           // SMARTONBOARD_RATE_PER_IP: requests per minute per client address
	RatePerPublicKey       int           // SMARTONBOARD_RATE_PER_PUBLIC_KEY: requests per minute per public key
	RateAdmin              int           // SMARTONBOARD_RATE_ADMIN: admin requests per minute per key or session
	IdentitySecretGrace    time.Duration // SMARTONBOARD_IDENTITY_SECRET_GRACE
	SessionIdleTimeout     time.Duration // SMARTONBOARD_SESSION_IDLE_TIMEOUT
	SessionMaxAge          time.Duration // SMARTONBOARD_SESSION_MAX_AGE
	OwnerEmail             string        // SMARTONBOARD_OWNER_EMAIL
	OwnerPassword          string        // SMARTONBOARD_OWNER_PASSWORD (secret, usually _FILE)
	Migrate                bool          // --migrate only: apply pending migrations on start
}

// Default returns the settings a new user gets with no configuration at all: a
// working development instance on embedded SQLite.
func Default() Config {
	return Config{
		Addr:                   ":8080",
		DataDir:                "./data",
		DatabaseMaxConns:       10,
		DatabaseConnectTimeout: 10 * time.Second,
		DatabaseIdleTimeout:    5 * time.Minute,
		Env:                    EnvDevelopment,
		LogFormat:              "text",
		LogLevel:               "info",
		ShutdownTimeout:        30 * time.Second,
		PublishInterval:        30 * time.Second,
		AlertInterval:          time.Minute,
		AbandonAfter:           7 * 24 * time.Hour,
		Consumers:              "on",
		Rollups:                "on",
		Demo:                   "on",
		DemoHistory:            800,
		MaxStreams:             10000,
		MaxStreamsPerProject:   5000,
		MaxStreamsPerIP:        200,
		StreamLifetime:         time.Hour,
		RateEventsPerUser:      1000,
		RatePerIP:              30000,
		RateAdmin:              600,
		IdentitySecretGrace:    24 * time.Hour,
		SessionIdleTimeout:     12 * time.Hour,
		SessionMaxAge:          7 * 24 * time.Hour,
	}
}

// Engine tells which storage backend the settings select, so main opens the right one.
func (c Config) Engine() string {
	if c.DatabaseURL == "" {
		return EngineSQLite
	}
	return EnginePostgres
}

// SQLitePath is where the embedded database lives, derived in one place so every
// command (serve, migrate, preflight) opens the same file.
func (c Config) SQLitePath() string {
	return filepath.Join(c.DataDir, "smartonboard.db")
}

// RegisterFlags binds the non-secret settings to flags whose defaults are the values
// already loaded, so a flag overrides the environment.
//
// Secrets (DATABASE_URL, the keys, the metrics token) deliberately have no flags: a
// command line is readable by every user of the host through ps and
// /proc/<pid>/cmdline, and it lands in shell history and process listings of
// orchestrators. Secrets come only from the environment or from a _FILE.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, s := range settings {
		p, ok := s.field(c).(*string)
		if s.Flag == "" || !ok {
			continue
		}
		fs.StringVar(p, s.Flag, *p, s.Description+" (env "+s.Name+")")
	}
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply pending migrations on start, even in production")
}
