package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// minLeakLen is the shortest secret the fuzz target looks for: shorter ones
// turn up by chance in ordinary text ("sk_", "5m").
const minLeakLen = 8

// dsnPassword finds the password of a keyword/value connection string.
var dsnPassword = regexp.MustCompile(`(?:^|\s)(?:ssl)?password\s*=\s*'?([^\s']+)`)

// FuzzLoadValidate protects configuration parsing: Load and Validate never panic
// on any environment, every problem names a variable with a message and a
// suggestion, and no problem, nor the Config printed in any way, shows a secret
// value (the database password, the admin key, the metrics token, the owner
// password, or the value of a misspelt variable).
func FuzzLoadValidate(f *testing.F) {
	for _, env := range [][]string{
		{},
		{"SMARTONBOARD_ADDR=:8080", "SMARTONBOARD_ENV=production", "DATABASE_URL=postgres://app:s3cretpassw0rd@db:5432/app?sslmode=verify-full",
			"SMARTONBOARD_ADMIN_KEY=sk_" + strings.Repeat("a", 40), "SMARTONBOARD_PUBLIC_KEY=pk_" + strings.Repeat("b", 40)},
		{"DATABASE_URL=postgres://app:CANARYz9q@db/x?sslmode=bogus&password=ab&CANARYz9q&options=CANARYz9q",
			"SMARTONBOARD_ADMIN_KEY=pk_abcdefCANARYz9q", "SMARTONBOARD_PUBLIC_KEY=pk_abcdefCANARYz9q",
			"SMARTONBOARD_METRICS_TOKEN=CANARYz9q \t"},
		{"DATABASE_URL=mysql://app:CANARYz9q@db", "SMARTONBOARD_ADMIN_KEY=sk_abcdefCANARYz9q trailing-space-xxxxxxxxxx"},
		{"DATABASE_URL=postgres://app:12?CANARYz9q@db", "SMARTONBOARD_ENV=production"},
		{"DATABASE_URL=postgres://app:12#CANARYz9q@db/x?sslmode=disable", "SMARTONBOARD_ENV=production"},
		{"DATABASE_URL=host=db password=CANARYz9q"},
		{"DATABASE_URL=postgres://db/x?password=CANARYz9q&sslmode=require", "SMARTONBOARD_ENV=production"},
		{"SMARTONBOARD_ADMIN_KEY=CANARYz9q", "SMARTONBOARD_ADMIN_KEY_FILE=sk_abcdefCANARYz9qxxxxxxxxxxxxxxxxxxxxxxxxxx", "SMARTONBOARD_ADMN_KEY=CANARYz9q"},
		{"DATABASE_URL_FILE=postgres://u:CANARYz9q@h:port/db", "DATABASE_SSL_ROOT_CERT=not a certificate"},
		{"SMARTONBOARD_OWNER_EMAIL=owner@example.com", "SMARTONBOARD_OWNER_PASSWORD=short pw"},
		{"SMARTONBOARD_OWNER_PASSWORD_FILE=a long enough passphrase", "SMARTONBOARD_METRICS_TOKEN_FILE="},
		{"SMARTONBOARD_ENV=prod", "SMARTONBOARD_LOG_LEVEL=warning", "SMARTONBOARD_LOG_FORMAT=JSON", "SMARTONBOARD_ADDR=localhost"},
		{"DATABASE_MAX_CONNS=0", "DATABASE_CONNECT_TIMEOUT=10", "DATABASE_IDLE_TIMEOUT=forever", "SMARTONBOARD_MAX_STREAMS=-1",
			"SMARTONBOARD_ABANDON_AFTER=9223372036854775807", "SMARTONBOARD_SESSION_MAX_AGE=1ns"},
		{"SMARTONBOARD_ALLOWED_ORIGINS=*,https://app.example.com,http://x:99999,ftp://x,https://a/b",
			"SMARTONBOARD_TRUSTED_PROXIES=10.0.0.0/8,192.0.2.7,::ffff:1.2.3.4,nonsense"},
		{"SMARTONBOARD_DATABASE_URL=postgres://u:misspeltsecret@h/db", "DATABASE_URI=postgres://u:anothersecret@h/db", "NOEQUALS"},
		{"@2=postgres://u:indexedsecret@h/db", "@8=sk_indexedindexedindexedindexedindexed", "@13=token with space"},
	} {
		f.Add(strings.Join(env, "\n"))
	}
	dir := f.TempDir()
	public := sourceText(f)
	known := knownNames()
	f.Fuzz(func(t *testing.T, input string) {
		env, secrets, publicIn := fuzzEnviron(t, dir, input, known)
		c, ps := Load(env)
		ps = append(ps, c.Validate()...)

		environ := parseEnviron(env)
		for _, p := range ps {
			_, present := environ[p.Variable]
			if p.Variable == "" || !slices.Contains(known, p.Variable) && !present {
				t.Fatalf("problem %+v names no variable of the environment", p)
			}
			if p.Message == "" || p.Suggestion == "" {
				t.Fatalf("problem %+v: want a message and a suggestion", p)
			}
		}
		dumped, _ := json.Marshal(ps)
		printed := fmt.Sprintf("%v %+v %#v %s %d %q", c, c, c, c, c, c)
		shown := map[string]string{"problems": string(dumped), "config": printed}
		if err := ps.Err(); err != nil {
			shown["problems"] += err.Error()
		}
		for _, s := range append(secrets, configSecrets(c)...) {
			if len(s.value) < minLeakLen || strings.Contains(publicIn, s.value) || strings.Contains(public, s.value) {
				continue // not a secret the output could leak: the operator or the code shows it anyway
			}
			for where, out := range shown {
				if where == "config" && !s.inConfig {
					continue
				}
				if i := strings.Index(out, s.value); i >= 0 {
					t.Fatalf("the %s leaks into the %s: %q in …%s…", s.what, where, s.value,
						out[max(0, i-100):min(len(out), i+len(s.value)+100)])
				}
			}
		}
	})
}

// secret is a value the outputs must not show.
type secret struct {
	what     string
	value    string
	inConfig bool // also never shown by the printed Config
}

// fuzzEnviron turns the fuzz input into an environment, one NAME=value a line. A
// name "@n" stands for the n-th known name, so mutations reach every variable. A
// file variable (NAME_FILE, DATABASE_SSL_ROOT_CERT) gets its value written to a file
// and names that file, so nothing outside dir is ever read. It returns the values
// that are secrets and the text of everything else the operator wrote.
func fuzzEnviron(t *testing.T, dir, input string, known []string) (env []string, secrets []secret, public string) {
	var pub strings.Builder
	pub.WriteString(dir)
	for i, line := range strings.Split(input, "\n") {
		name, value, ok := strings.Cut(line, "=")
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "@")); err == nil && strings.HasPrefix(name, "@") && n >= 0 {
			name = known[n%len(known)]
		}
		if !ok {
			env = append(env, name)
			pub.WriteString(name + "\n")
			continue
		}
		content := value
		if (strings.HasSuffix(name, "_FILE") || name == "DATABASE_SSL_ROOT_CERT") && value != "" {
			value = filepath.Join(dir, strconv.Itoa(i))
			if err := os.WriteFile(value, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			content = strings.TrimRight(content, " \t\r\n") // as Load reads a _FILE
		}
		env = append(env, name+"="+value)
		pub.WriteString(name + "\n")
		if value != content {
			pub.WriteString(value + "\n") // the path of the file holding the value
		}
		base := strings.TrimSuffix(name, "_FILE")
		switch s, isSecret := secretVar(base); {
		case isSecret:
			secrets = append(secrets, secret{what: "value of " + name, value: content})
			if s.Name == "DATABASE_URL" {
				secrets = append(secrets, urlPasswords(content)...)
				pub.WriteString(urlShownParts(content) + "\n")
			}
		case !slices.Contains(known, name) && (strings.HasPrefix(name, "SMARTONBOARD_") || strings.HasPrefix(name, "DATABASE_")):
			secrets = append(secrets, secret{what: "value of the unknown " + name, value: content})
		default:
			pub.WriteString(content + "\n")
		}
	}
	return env, secrets, pub.String()
}

// secretVar finds the secret setting a variable name belongs to.
func secretVar(name string) (setting, bool) {
	for _, s := range settings {
		if s.Name == name && s.Secret {
			return s, true
		}
	}
	return setting{}, false
}

// configSecrets lists the secrets a loaded Config holds: every secret setting in
// full, but of the database URL only its passwords, as LogValue shows the rest.
func configSecrets(c Config) []secret {
	var out []secret
	for _, s := range settings {
		v, ok := s.field(&c).(*string)
		if !s.Secret || !ok {
			continue
		}
		if s.Name == "DATABASE_URL" {
			out = append(out, secret{what: "loaded DATABASE_URL", value: *v})
			for _, p := range urlPasswords(*v) {
				p.inConfig = true
				out = append(out, p)
			}
			continue
		}
		out = append(out, secret{what: "loaded " + s.Name, value: *v, inConfig: true})
	}
	return out
}

// urlShownParts is what a database URL shows by design once masked (user name,
// host, path and the values of connection parameters), so a password the operator
// also wrote into the host is not counted as leaked.
func urlShownParts(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	parts := []string{u.User.Username(), u.Host, u.Path}
	q, _ := url.ParseQuery(u.RawQuery)
	for _, k := range shownQueryParams {
		parts = append(parts, q[k]...)
	}
	return strings.Join(parts, "\n")
}

// urlPasswords finds the passwords a database URL holds, in the user info or in a
// password parameter, raw and decoded, or in a keyword/value string.
func urlPasswords(raw string) []secret {
	var out []secret
	if u, err := url.Parse(raw); err == nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, secret{what: "DATABASE_URL password", value: pw})
			if _, esc, ok := strings.Cut(u.User.String(), ":"); ok {
				out = append(out, secret{what: "DATABASE_URL password (escaped)", value: esc})
			}
		}
		q, _ := url.ParseQuery(u.RawQuery)
		for _, k := range secretQueryParams {
			for _, v := range q[k] {
				out = append(out, secret{what: "DATABASE_URL " + k + " parameter", value: v})
			}
		}
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(raw, -1) {
		out = append(out, secret{what: "DATABASE_URL keyword password", value: m[1]})
	}
	return out
}

// sourceText is the program's own text (this package and the domain package whose
// messages Validate reuses): a "secret" that is part of it, such as "password" in
// an example URL, is no leak.
func sourceText(f *testing.F) string {
	var b strings.Builder
	for _, pattern := range []string{"*.go", "../*.go"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			b.Write(data)
		}
	}
	return b.String()
}
