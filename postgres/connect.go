package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Backoff between connection attempts while Open waits for the server.
const (
	firstRetryDelay = 100 * time.Millisecond
	maxRetryDelay   = 2 * time.Second
)

// waitReady pings until the server answers, backing off between attempts, and
// turns the last failure into one message an operator can act on.
func (db *DB) waitReady(ctx context.Context, cfg *pgxpool.Config, connString string, timeout time.Duration) error {
	start := time.Now()
	secrets := append(secretsOf(connString), cfg.ConnConfig.Password)
	target := fmt.Sprintf("%s database %q", hostPort(cfg), cfg.ConnConfig.Database)
	err := db.pingUntil(ctx, timeout, target)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("connecting to PostgreSQL at %s: %w", target, ctx.Err())
	case permanent(err):
		return fmt.Errorf("cannot connect to PostgreSQL at %s: %s%s", target, connectCause(err, secrets), hint(err))
	}
	elapsed := time.Since(start).Round(100 * time.Millisecond)
	return fmt.Errorf("cannot reach PostgreSQL at %s after %s: %s%s", target, elapsed, connectCause(err, secrets), hint(err))
}

// pingUntil retries Ping with exponential backoff for at most timeout, stopping
// early on errors that waiting cannot fix, and returns the most telling error.
func (db *DB) pingUntil(ctx context.Context, timeout time.Duration, target string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for delay, attempt := firstRetryDelay, 1; ; delay, attempt = min(2*delay, maxRetryDelay), attempt+1 {
		err := db.pool.Ping(ctx)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil { // a refusal says more than the deadline that cut a retry short
			last = err
		}
		if ctx.Err() != nil || permanent(err) {
			return last
		}
		db.logger.Debug("PostgreSQL not reachable yet, retrying", "target", target, "attempt", attempt, "retry_in", delay)
		select {
		case <-ctx.Done():
			return last
		case <-time.After(delay):
		}
	}
}

// permanent tells errors that retrying cannot fix: the server answered and said
// no (bad password, unknown database), or TLS cannot be agreed or verified.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code != "57P03" && pgErr.Code != "53300" // starting up, too many clients: worth waiting
	}
	return tlsProblem(err)
}

func tlsProblem(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	return errors.As(err, &verifyErr) || errors.As(err, &unknownCA) || errors.As(err, &badHost) ||
		errors.As(err, &badCert) || strings.Contains(err.Error(), "server refused TLS connection")
}

// hint suggests the fix for the failures operators hit most.
func hint(err error) string {
	switch {
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return " (the server does not offer TLS: enable ssl on the server or use sslmode=disable on a trusted network)"
	case tlsProblem(err):
		return " (the server certificate could not be verified: check sslmode and the root certificate, SSLRootCert or sslrootcert)"
	}
	return ""
}

// connectCause is the driver's reason without pgx's "failed to connect to
// `user=... database=...`" prefix (the caller names the target) and without secrets.
func connectCause(err error, secrets []string) string {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		err = ce.Unwrap()
	}
	return scrub(strings.ReplaceAll(err.Error(), "\n", "; "), secrets)
}

// parseErrorText is pgx's reason for rejecting a connection string, without the
// string itself, which may hold a password.
func parseErrorText(err error, connString string) string {
	s := err.Error()
	if strings.HasPrefix(s, "cannot parse `") {
		if i := strings.LastIndex(s, "`: "); i >= 0 {
			s = s[i+len("`: "):]
		}
	}
	return scrub(s, secretsOf(connString))
}

// invalidURL reports a connection string that cannot be used, naming where it
// points when that much can be read.
func invalidURL(connString, reason string) error {
	if d := Describe(connString); d != unparsable {
		return fmt.Errorf("invalid PostgreSQL URL for %s: %s", d, reason)
	}
	return fmt.Errorf("invalid PostgreSQL URL: %s", reason)
}

func hostPort(cfg *pgxpool.Config) string {
	return net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
}

func describeConfig(cfg *pgxpool.Config) string {
	return hostPort(cfg) + "/" + cfg.ConnConfig.Database
}

// unparsable is what Describe says of a URL it cannot read.
const unparsable = "(unparsable PostgreSQL URL)"

// Describe returns host:port/database for a connection string, never its user or
// password, so logs and error messages can say where the server is.
func Describe(connString string) string {
	var host, port, dbname string
	if isURL(connString) {
		u, err := url.Parse(connString)
		if err != nil {
			return unparsable
		}
		q := u.Query()
		host, port, dbname = u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/")
		if strings.Contains(u.Host, ",") { // several hosts: show them as given
			host, port = u.Host, ""
		}
		host, port, dbname = or(q.Get("host"), host), or(q.Get("port"), port), or(q.Get("dbname"), dbname)
	} else {
		kv := parseKeywords(connString)
		host, port, dbname = kv["host"], kv["port"], kv["dbname"]
	}
	if strings.Contains(host, ",") {
		return host + "/" + dbname
	}
	return net.JoinHostPort(or(host, "localhost"), or(port, "5432")) + "/" + dbname
}

// or returns v, or fallback when v is the zero value.
func or[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// withRootCert adds sslrootcert to a connection string that names none, so pgx
// builds the TLS configuration for every sslmode itself.
func withRootCert(connString, rootCert string) (string, error) {
	if rootCert == "" {
		return connString, nil
	}
	if !isURL(connString) {
		if _, ok := parseKeywords(connString)["sslrootcert"]; ok {
			return connString, nil
		}
		quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(rootCert)
		return connString + " sslrootcert='" + quoted + "'", nil
	}
	u, err := url.Parse(connString)
	if err != nil {
		return "", invalidURL(connString, scrub(err.Error(), secretsOf(connString)))
	}
	if u.Query().Has("sslrootcert") {
		return connString, nil
	}
	base, fragment, hasFragment := strings.Cut(connString, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	out := base + sep + "sslrootcert=" + url.QueryEscape(rootCert)
	if hasFragment {
		out += "#" + fragment
	}
	return out, nil
}

// parseKeywords reads a key=value connection string (values may be 'quoted').
func parseKeywords(s string) map[string]string {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var val string
		val, s = keywordValue(strings.TrimLeft(rest, " \t\n"))
		out[strings.TrimSpace(key)] = val
	}
	return out
}

func keywordValue(s string) (val, rest string) {
	if !strings.HasPrefix(s, "'") {
		if end := strings.IndexAny(s, " \t\n"); end >= 0 {
			return s[:end], s[end:]
		}
		return s, ""
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '\'':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}

var urlSecretParam = regexp.MustCompile(`(?:^|[?&])(?:ssl)?password=([^&#]*)`)

// secretsOf lists the passwords in a connection string, even a malformed one, so
// they can be scrubbed from any error text.
func secretsOf(connString string) []string {
	if !isURL(connString) {
		kv := parseKeywords(connString)
		return []string{kv["password"], kv["sslpassword"]}
	}
	var out []string
	for _, m := range urlSecretParam.FindAllStringSubmatch(connString, -1) {
		out = append(out, m[1])
	}
	if u, err := url.Parse(connString); err == nil {
		pw, _ := u.User.Password()
		return append(out, pw)
	}
	// url.Parse rejects the string, so guess generously: whatever sits between the
	// first ':' after the scheme and the last '@' may be a password.
	rest := connString[strings.Index(connString, "://")+3:]
	if at := strings.LastIndex(rest, "@"); at > 0 {
		if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
			out = append(out, pw)
		}
	}
	return out
}

// scrub replaces every secret, raw or in any escaped form a URL or a quoted error
// may show it in, with xxxxx.
func scrub(text string, secrets []string) string {
	var forms []string
	for _, s := range secrets {
		bases := []string{s}
		if un, err := url.PathUnescape(s); err == nil {
			bases = append(bases, un)
		}
		if un, err := url.QueryUnescape(s); err == nil {
			bases = append(bases, un)
		}
		for _, b := range bases {
			forms = append(forms, b, url.QueryEscape(b), url.PathEscape(b),
				strings.TrimPrefix(url.UserPassword("", b).String(), ":"), strings.Trim(strconv.Quote(b), `"`))
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		if f != "" {
			text = strings.ReplaceAll(text, f, "xxxxx")
		}
	}
	return text
}
