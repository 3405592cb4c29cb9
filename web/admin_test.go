package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminPages: every page and file carries the strict headers, pages
// load their script from this origin only and are never cached, and an
// unknown page is a 404.
func TestAdminPages(t *testing.T) {
	t.Parallel()
	h := Admin(AdminOptions{})
	for _, c := range []struct {
		path, want string
		status     int
	}{
		{"/admin/", `src="/admin/static/overview.js"`, 200},
		{"/admin/login", `id="login"`, 200},
		{"/admin/models", `id="models"`, 200},
		{"/admin/static/api.js", "export async function api", 200},
		{"/admin/nope", "no such dashboard page", 404},
		{"/admin", "", 301},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		res := rec.Result()
		if res.StatusCode != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d, want %d with %q", c.path, res.StatusCode, c.status, c.want)
		}
		for k, v := range map[string]string{"Content-Security-Policy": adminCSP, "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.path, k, got, v)
			}
		}
		if strings.Contains(rec.Body.String(), "<script>") {
			t.Errorf("%s has an inline script", c.path)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/", nil))
	if rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(rec.Body.String(), "sha384-") {
		t.Errorf("overview: Cache-Control %q; the install snippet should carry the SDK's integrity", rec.Header().Get("Cache-Control"))
	}
	if !strings.Contains(adminCSP, "script-src 'self';") || strings.Contains(adminCSP, "unsafe") {
		t.Errorf("CSP %q is not strict", adminCSP)
	}
}
