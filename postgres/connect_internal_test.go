package postgres

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestWithRootCert(t *testing.T) {
	t.Parallel()
	const ca = `/etc/ssl/my ca's.pem`
	cases := map[string]string{
		"postgres://u@h/db":                           "postgres://u@h/db?sslrootcert=" + url.QueryEscape(ca),
		"postgres://u@h/db?sslmode=verify-full":       "postgres://u@h/db?sslmode=verify-full&sslrootcert=" + url.QueryEscape(ca),
		"postgres://u@h/db?sslrootcert=/other.pem":    "postgres://u@h/db?sslrootcert=/other.pem",
		"host=h dbname=db":                            `host=h dbname=db sslrootcert='/etc/ssl/my ca\'s.pem'`,
		"host=h sslrootcert = '/other.pem' dbname=db": "host=h sslrootcert = '/other.pem' dbname=db",
	}
	for in, want := range cases {
		got, err := withRootCert(in, ca)
		if err != nil || got != want {
			t.Errorf("withRootCert(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got := parseKeywords(cases["host=h dbname=db"])["sslrootcert"]; got != ca {
		t.Errorf("added sslrootcert reads back as %q, want %q", got, ca)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	const pw = `p@ss w:rd/"x"`
	for _, conn := range []string{
		"postgres://" + url.UserPassword("u", pw).String() + "@h/db",
		"postgres://u@h/db?password=" + url.QueryEscape(pw),
		"postgres://u:" + pw + "@h:bad/db", // malformed: url.Parse fails
		"host=h password='p@ss w:rd/\"x\"' dbname=db",
	} {
		text := "parse " + conn + " failed; quoted " + strconv.Quote(pw) + " raw " + pw
		got := scrub(text, secretsOf(conn))
		for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), "p@ss"} {
			if strings.Contains(got, form) {
				t.Errorf("scrub for %q left %q in %q", conn, form, got)
			}
		}
	}
}
