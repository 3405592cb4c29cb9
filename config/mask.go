package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maskedPassword replaces a password wherever a URL is shown.
const maskedPassword = "xxxxx"

// shownQueryParams are the libpq and pgx connection parameters whose values MaskURL
// shows: they say how a connection is made and hold no credential. Every other
// parameter (password and sslpassword among them) is masked, and so is the name of
// one MaskURL does not know, because a password with an unescaped "&" spills into
// the names that follow it.
var shownQueryParams = []string{
	"host", "hostaddr", "port", "dbname", "user", "sslmode", "sslrootcert", "sslcert", "sslkey",
	"sslcrl", "sslcrldir", "sslsni", "sslnegotiation", "sslcertmode", "channel_binding",
	"require_auth", "gssencmode", "connect_timeout", "application_name", "target_session_attrs",
	"load_balance_hosts", "keepalives", "keepalives_idle", "keepalives_interval",
	"keepalives_count", "tcp_user_timeout", "search_path", "pool_max_conns", "pool_min_conns",
	"pool_min_idle_conns", "pool_max_conn_lifetime", "pool_max_conn_lifetime_jitter",
	"pool_max_conn_idle_time", "pool_health_check_period", "default_query_exec_mode",
	"statement_cache_capacity", "description_cache_capacity",
}

// secretQueryParams are the parameters libpq and pgx read a credential from; their
// names are shown, their values never.
var secretQueryParams = []string{"password", "sslpassword"}

// MaskURL returns u with its password (in the user info or a password query
// parameter) replaced by "xxxxx", so a database URL can be logged; input it cannot
// read with certainty is returned as "<unparsable>", never echoed.
func MaskURL(u string) string {
	parsed, ok := parseServerURL(u)
	if !ok {
		return "<unparsable>"
	}
	if _, has := parsed.User.Password(); has {
		parsed.User = url.UserPassword(parsed.User.Username(), maskedPassword)
	}
	if parsed.RawQuery != "" {
		parsed.RawQuery = maskQuery(parsed.Query())
	}
	return parsed.String()
}

// maskQuery re-encodes a query with every value not known to be harmless masked.
func maskQuery(q url.Values) string {
	masked := url.Values{}
	for k, vs := range q {
		switch {
		case slices.Contains(shownQueryParams, k):
			masked[k] = vs
		case slices.Contains(secretQueryParams, k):
			masked[k] = []string{maskedPassword}
		default:
			masked.Add(maskedPassword, maskedPassword)
		}
	}
	return masked.Encode()
}

// parseServerURL parses scheme://[user[:password]@]host/... and refuses anything the
// parser may have split wrongly: an unescaped "/", "?" or "#" in a password makes the
// rest of it land in the path, query or fragment (followed by an "@"), where masking
// would miss it.
func parseServerURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Fragment != "" {
		return nil, false
	}
	if !strings.HasPrefix(strings.ToLower(raw), u.Scheme+"://") {
		return nil, false
	}
	if strings.Contains(u.Host+u.EscapedPath()+u.RawQuery, "@") {
		return nil, false
	}
	return u, true
}

// LogValue shows every setting with secrets masked, so logging the configuration at
// start is safe: keys show only their first characters, the database URL hides its
// password, and the metrics token shows only whether it is set.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("engine", c.Engine())}
	for _, s := range settings {
		attrs = append(attrs, s.attr(&c))
	}
	attrs = append(attrs, slog.Bool("migrate", c.Migrate))
	return slog.GroupValue(attrs...)
}

// String renders the masked settings as key=value pairs, a one-line summary that is
// safe to print anywhere.
func (c Config) String() string {
	attrs := c.LogValue().Group()
	parts := make([]string, len(attrs))
	for i, a := range attrs {
		v := a.Value.String()
		if v == "" || strings.ContainsAny(v, " \"=") {
			v = strconv.Quote(v)
		}
		parts[i] = a.Key + "=" + v
	}
	return strings.Join(parts, " ")
}

// Format prints the masked settings for every verb (%v, %+v, %#v, even %d), so no
// way of printing a Config with fmt can leak a secret.
func (c Config) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, c.String())
}

// attr is the log attribute of one setting, keyed by its variable name without the
// SMARTONBOARD_ prefix, in lower case.
func (s setting) attr(c *Config) slog.Attr {
	key := strings.ToLower(strings.TrimPrefix(s.Name, "SMARTONBOARD_"))
	switch p := s.field(c).(type) {
	case *string:
		if s.mask != nil {
			return slog.String(key, s.mask(*p))
		}
		return slog.String(key, *p)
	case *int:
		return slog.Int(key, *p)
	case *time.Duration:
		return slog.String(key, formatDuration(*p))
	case *[]string:
		return slog.String(key, strings.Join(*p, ","))
	}
	return slog.Any(key, nil)
}

// maskKey keeps the prefix and a few characters of a key, enough to tell which key is
// configured, and never more than a quarter of it.
func maskKey(k string) string {
	if k == "" {
		return "unset"
	}
	n := min(6, len(k)/4)
	return strings.ToValidUTF8(k[:n], "") + "…"
}

// maskSet tells only whether a secret is configured.
func maskSet(v string) string {
	if v == "" {
		return "unset"
	}
	return "set"
}

func maskURLValue(v string) string {
	if v == "" {
		return "unset"
	}
	return MaskURL(v)
}
