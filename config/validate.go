package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/smartonboarding/smartonboard"
)

// maxRootCertSize bounds the CA bundle read; real bundles are a few hundred KiB.
const maxRootCertSize = 4 << 20

// Allowed values of the enumerated settings.
var (
	envs       = []string{EnvDevelopment, EnvStaging, EnvProduction}
	logFormats = []string{"text", "json"}
	logLevels  = []string{"debug", "info", "warn", "error"}
	sslModes   = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
)

// Validate checks every rule and returns every problem at once, not the first, so
// the operator fixes a deployment in one pass; no message or suggestion ever contains
// a secret value.
func (c Config) Validate() Problems {
	checks := []func() Problems{
		c.checkAddr, c.checkEnums, c.checkDatabaseURL, c.checkRootCert, c.checkRanges,
		c.checkKeys, c.checkOrigins, c.checkProduction, c.checkProxies, c.checkOwner,
	}
	var ps Problems
	for _, check := range checks {
		ps = append(ps, check()...)
	}
	return ps
}

func (c Config) checkAddr() Problems {
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return one("SMARTONBOARD_ADDR", fmt.Sprintf("%q is not host:port", c.Addr),
			`use ":8080" to listen on every interface, or "127.0.0.1:8080" for this host only`)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return one("SMARTONBOARD_ADDR", fmt.Sprintf("port %q is not a number from 0 to 65535", port),
			`use a numeric port such as ":8080"`)
	}
	return nil
}

func (c Config) checkEnums() Problems {
	return slices.Concat(
		checkEnum("SMARTONBOARD_ENV", c.Env, envs),
		checkEnum("SMARTONBOARD_LOG_FORMAT", c.LogFormat, logFormats),
		checkEnum("SMARTONBOARD_CONSUMERS", c.Consumers, []string{"on", "off"}),
		checkEnum("SMARTONBOARD_ROLLUPS", c.Rollups, []string{"on", "off"}),
		checkEnum("SMARTONBOARD_DEMO", c.Demo, []string{"on", "off"}),
		checkEnum("SMARTONBOARD_LOG_LEVEL", c.LogLevel, logLevels),
	)
}

// checkEnum reports a value that is not allowed and suggests the one probably meant.
func checkEnum(name, v string, allowed []string) Problems {
	if slices.Contains(allowed, v) {
		return nil
	}
	suggestion := "set one of " + strings.Join(allowed, ", ")
	if near := closestValue(v, allowed); len(near) > 0 {
		suggestion = "did you mean " + strings.Join(near, " or ") + "?"
	}
	return one(name, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")), suggestion)
}

// checkDatabaseURL checks the shape of DATABASE_URL without ever quoting it: it
// holds the database password.
func (c Config) checkDatabaseURL() Problems {
	if c.DatabaseURL == "" {
		return nil
	}
	u, ok := parseServerURL(c.DatabaseURL)
	switch {
	case !ok || (u.Scheme != "postgres" && u.Scheme != "postgresql"):
		return one("DATABASE_URL", "is not a URL of the form postgres://user:password@host:5432/dbname",
			"start it with postgres:// or postgresql://, and percent-encode any @ : / ? # in the password")
	case u.Host == "" && u.Query().Get("host") == "":
		return one("DATABASE_URL", "has no host", "write the server after //, as in postgres://user:password@db.example.com:5432/dbname")
	}
	mode := u.Query().Get("sslmode")
	if mode == "" {
		mode = "prefer"
	}
	if !slices.Contains(sslModes, mode) {
		return one("DATABASE_URL", "sslmode is not one of "+strings.Join(sslModes, ", "),
			"use sslmode=verify-full, or sslmode=disable for a server on this host")
	}
	return c.checkSSLMode(mode, u.Query().Get("sslrootcert") != "")
}

// checkSSLMode holds production to a connection that is encrypted and whose server is
// authenticated: anything less lets a network attacker read or alter every row.
func (c Config) checkSSLMode(mode string, urlRootCert bool) Problems {
	if c.Env != EnvProduction {
		return nil
	}
	switch mode {
	case "disable", "allow", "prefer":
		return one("DATABASE_URL", "sslmode="+mode+" is not allowed when SMARTONBOARD_ENV=production",
			"use sslmode=verify-full and set DATABASE_SSL_ROOT_CERT")
	case "require":
		return warn("DATABASE_URL", "sslmode=require encrypts but does not verify the server's certificate",
			"use sslmode=verify-full and set DATABASE_SSL_ROOT_CERT")
	}
	if c.DatabaseSSLRootCert == "" && !urlRootCert {
		return warn("DATABASE_SSL_ROOT_CERT", "is not set, so the server's certificate is checked against the system's root certificates",
			"set DATABASE_SSL_ROOT_CERT to your provider's CA bundle (PEM) unless its CA is in the system roots")
	}
	return nil
}

// checkRootCert reads the CA file now, so a wrong path fails the deploy instead of the
// first database connection.
func (c Config) checkRootCert() Problems {
	path := c.DatabaseSSLRootCert
	if path == "" {
		return nil
	}
	data, err := readLimited(path, maxRootCertSize)
	if err != nil {
		return Problems{{Variable: "DATABASE_SSL_ROOT_CERT", File: path,
			Message:    fmt.Sprintf("cannot read %q: %v", path, err),
			Suggestion: "check the path and that the smartonboard user can read the file"}}
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return Problems{{Variable: "DATABASE_SSL_ROOT_CERT", File: path,
			Message:    fmt.Sprintf("%q holds no PEM CERTIFICATE block", path),
			Suggestion: "use your provider's CA bundle in PEM form (-----BEGIN CERTIFICATE-----)"}}
	}
	if c.DatabaseURL == "" {
		return Problems{{Variable: "DATABASE_SSL_ROOT_CERT", File: path, Warning: true,
			Message: "has no effect without DATABASE_URL", Suggestion: "set DATABASE_URL or unset DATABASE_SSL_ROOT_CERT"}}
	}
	return nil
}

func (c Config) checkRanges() Problems {
	var ps Problems
	def := Default()
	if n := c.DatabaseMaxConns; n < 1 || n > 1000 {
		ps = append(ps, Problem{Variable: "DATABASE_MAX_CONNS", Message: fmt.Sprintf("is %d; must be from 1 to 1000", n),
			Suggestion: fmt.Sprintf("the default is %d", def.DatabaseMaxConns)})
	}
	for _, r := range []struct {
		name       string
		v, lo, hi  int
		defaultVal int
	}{
		{"SMARTONBOARD_MAX_STREAMS", c.MaxStreams, 1, 1_000_000, def.MaxStreams},
		{"SMARTONBOARD_MAX_STREAMS_PER_PROJECT", c.MaxStreamsPerProject, 1, 1_000_000, def.MaxStreamsPerProject},
		{"SMARTONBOARD_MAX_STREAMS_PER_IP", c.MaxStreamsPerIP, 1, 1_000_000, def.MaxStreamsPerIP},
		{"SMARTONBOARD_RATE_EVENTS_PER_USER", c.RateEventsPerUser, 0, 100_000_000, def.RateEventsPerUser},
		{"SMARTONBOARD_RATE_PER_IP", c.RatePerIP, 0, 100_000_000, def.RatePerIP},
		{"SMARTONBOARD_RATE_PER_PUBLIC_KEY", c.RatePerPublicKey, 0, 100_000_000, def.RatePerPublicKey},
		{"SMARTONBOARD_RATE_ADMIN", c.RateAdmin, 0, 100_000_000, def.RateAdmin},
		{"SMARTONBOARD_DEMO_HISTORY", c.DemoHistory, 0, 100_000, def.DemoHistory},
	} {
		if r.v < r.lo || r.v > r.hi {
			ps = append(ps, Problem{Variable: r.name, Message: fmt.Sprintf("is %d; must be from %d to %d", r.v, r.lo, r.hi),
				Suggestion: fmt.Sprintf("the default is %d", r.defaultVal)})
		}
	}
	for _, r := range []struct {
		name          string
		v, lo, hi, df time.Duration
	}{
		{"DATABASE_CONNECT_TIMEOUT", c.DatabaseConnectTimeout, time.Second, 5 * time.Minute, def.DatabaseConnectTimeout},
		{"DATABASE_IDLE_TIMEOUT", c.DatabaseIdleTimeout, time.Second, 24 * time.Hour, def.DatabaseIdleTimeout},
		{"SMARTONBOARD_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, time.Second, 10 * time.Minute, def.ShutdownTimeout},
		{"SMARTONBOARD_PUBLISH_INTERVAL", c.PublishInterval, time.Second, 24 * time.Hour, def.PublishInterval},
		{"SMARTONBOARD_ALERT_INTERVAL", c.AlertInterval, time.Second, 24 * time.Hour, def.AlertInterval},
		{"SMARTONBOARD_ABANDON_AFTER", c.AbandonAfter, time.Minute, 365 * 24 * time.Hour, def.AbandonAfter},
		{"SMARTONBOARD_STREAM_LIFETIME", c.StreamLifetime, time.Minute, 24 * time.Hour, def.StreamLifetime},
		{"SMARTONBOARD_IDENTITY_SECRET_GRACE", c.IdentitySecretGrace, 0, 30 * 24 * time.Hour, def.IdentitySecretGrace},
		{"SMARTONBOARD_SESSION_IDLE_TIMEOUT", c.SessionIdleTimeout, time.Minute, 30 * 24 * time.Hour, def.SessionIdleTimeout},
		{"SMARTONBOARD_SESSION_MAX_AGE", c.SessionMaxAge, time.Minute, 90 * 24 * time.Hour, def.SessionMaxAge},
	} {
		if r.v < r.lo || r.v > r.hi {
			ps = append(ps, Problem{Variable: r.name,
				Message:    fmt.Sprintf("is %s; must be from %s to %s", formatDuration(r.v), formatDuration(r.lo), formatDuration(r.hi)),
				Suggestion: "the default is " + formatDuration(r.df)})
		}
	}
	return ps
}

func (c Config) checkKeys() Problems {
	ps := slices.Concat(
		checkKey("SMARTONBOARD_ADMIN_KEY", smartonboard.KeySecret, c.AdminKey),
		checkKey("SMARTONBOARD_PUBLIC_KEY", smartonboard.KeyPublic, c.PublicKey),
		checkNoSpace("SMARTONBOARD_METRICS_TOKEN", c.MetricsToken),
	)
	if c.AdminKey != "" && c.AdminKey == c.PublicKey {
		ps = append(ps, Problem{Variable: "SMARTONBOARD_PUBLIC_KEY", Message: "must differ from SMARTONBOARD_ADMIN_KEY",
			Suggestion: "the public key is embedded in web pages; give it its own pk_ value"})
	}
	return ps
}

// checkKey applies the domain's key rule, whose messages never quote the key.
func checkKey(name string, kind smartonboard.KeyKind, key string) Problems {
	if key == "" {
		return nil
	}
	if ps := checkNoSpace(name, key); ps != nil {
		return ps // the likelier mistake, and the clearer message
	}
	if err := smartonboard.ValidateKey(kind, key); err != nil {
		prefix := smartonboard.SecretKeyPrefix
		if kind == smartonboard.KeyPublic {
			prefix = smartonboard.PublicKeyPrefix
		}
		return one(name, smartonboard.ErrorMessage(err),
			fmt.Sprintf(`generate one with: echo "%s$(openssl rand -hex 24)", or unset it to have one generated`, prefix))
	}
	return nil
}

// checkNoSpace catches a secret pasted with a stray space or line break, which would
// never match what clients send.
func checkNoSpace(name, v string) Problems {
	if strings.IndexFunc(v, unicode.IsSpace) < 0 && strings.IndexFunc(v, unicode.IsControl) < 0 {
		return nil
	}
	return one(name, "contains whitespace or control characters", "remove them; the value is used verbatim")
}

func (c Config) checkOrigins() Problems {
	var ps Problems
	for _, o := range c.AllowedOrigins {
		if msg, suggestion := checkOrigin(o); msg != "" {
			ps = append(ps, Problem{Variable: "SMARTONBOARD_ALLOWED_ORIGINS", Message: msg, Suggestion: suggestion})
		}
	}
	return ps
}

// checkOrigin accepts "*" or what a browser sends in an Origin header:
// scheme://host[:port] with no path, since anything else can never match.
func checkOrigin(o string) (msg, suggestion string) {
	const example = "write scheme://host[:port], such as https://app.example.com"
	if o == "*" {
		return "", ""
	}
	u, err := url.Parse(o)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Sprintf("%q is not an origin", o), example
	case u.Path != "":
		return fmt.Sprintf("%q has a path; an origin has none", o), "use " + u.Scheme + "://" + u.Host
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n > 65535 {
			return fmt.Sprintf("%q has an invalid port", o), example
		}
	}
	return "", ""
}

// checkProduction warns about settings that work but do not suit production.
func (c Config) checkProduction() Problems {
	if c.Env != EnvProduction {
		return nil
	}
	var ps Problems
	if c.DatabaseURL == "" {
		ps = append(ps, warn("DATABASE_URL", "embedded SQLite serves one instance", "set DATABASE_URL to PostgreSQL to scale out")...)
	}
	if c.AdminKey == "" {
		ps = append(ps, warn("SMARTONBOARD_ADMIN_KEY", "is not set, so a generated key is printed once to the terminal",
			"set SMARTONBOARD_ADMIN_KEY (or SMARTONBOARD_ADMIN_KEY_FILE) so the key is managed as a secret")...)
	}
	return ps
}

// checkProxies accepts CIDRs and bare addresses, so a typo cannot silently make
// every client share one rate-limit bucket (or let clients name their own address).
func (c Config) checkProxies() Problems {
	var ps Problems
	for _, p := range c.TrustedProxies {
		if _, err := ParseProxy(p); err != nil {
			ps = append(ps, Problem{Variable: "SMARTONBOARD_TRUSTED_PROXIES", Message: fmt.Sprintf("%q is not an address or CIDR", p),
				Suggestion: "write addresses or CIDRs such as 10.0.0.0/8,192.0.2.7"})
		}
	}
	return ps
}

// ParseProxy reads one SMARTONBOARD_TRUSTED_PROXIES entry: a CIDR, or one address.
func ParseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// checkOwner wants the owner's email and password together, and a password that
// is not trivially guessed.
func (c Config) checkOwner() Problems {
	switch {
	case c.OwnerEmail == "" && c.OwnerPassword == "":
		return nil
	case c.OwnerEmail == "":
		return one("SMARTONBOARD_OWNER_EMAIL", "is required when SMARTONBOARD_OWNER_PASSWORD is set", "set both, or neither")
	case c.OwnerPassword == "":
		return one("SMARTONBOARD_OWNER_PASSWORD", "is required when SMARTONBOARD_OWNER_EMAIL is set",
			"set SMARTONBOARD_OWNER_PASSWORD_FILE to a file holding the password")
	}
	var ps Problems
	if err := smartonboard.CheckEmail("email", c.OwnerEmail); err != nil {
		ps = append(ps, one("SMARTONBOARD_OWNER_EMAIL", smartonboard.ErrorMessage(err), "write an address such as owner@example.com")...)
	}
	if err := smartonboard.CheckPassword(c.OwnerPassword); err != nil {
		ps = append(ps, one("SMARTONBOARD_OWNER_PASSWORD", smartonboard.ErrorMessage(err), "use a long passphrase from a password manager")...)
	}
	return ps
}

func one(variable, msg, suggestion string) Problems {
	return Problems{{Variable: variable, Message: msg, Suggestion: suggestion}}
}

func warn(variable, msg, suggestion string) Problems {
	return Problems{{Variable: variable, Message: msg, Suggestion: suggestion, Warning: true}}
}
