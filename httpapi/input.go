package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	so "github.com/smartonboarding/smartonboard"
)

// pathWildcards lists the {name} segments of a route pattern, so the route
// wrapper can check every path value before the handler runs.
func pathWildcards(pattern string) []string {
	var names []string
	for seg := range strings.SplitSeq(pattern, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok && strings.HasSuffix(name, "}") {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
			if name != "$" {
				names = append(names, name)
			}
		}
	}
	return names
}

// checkRequestText refuses path and query values (and query names) that are not
// valid UTF-8 or hold NUL, naming the field, so no handler passes such bytes to a
// store: PostgreSQL would fail with a 500 where SQLite stores them.
func checkRequestText(r *http.Request, wildcards []string) error {
	for _, name := range wildcards {
		if err := so.CheckStorableText(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	q, _ := url.ParseQuery(r.URL.RawQuery) // queryParams reports a malformed query
	for name, vals := range q {
		field := strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", "\uFFFD"), "\uFFFD")
		if err := so.CheckStorableText(field, name); err != nil {
			return so.FieldErrorf(so.EINVALID, field, "query parameter name %s", so.ErrorMessage(err))
		}
		for _, v := range vals {
			if err := so.CheckStorableText(field, v); err != nil {
				return err
			}
		}
	}
	return nil
}
