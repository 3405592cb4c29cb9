package web

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"
)

//go:embed admin
var adminFiles embed.FS

// adminCSP is the dashboard's policy: its own scripts, styles and API only,
// no inline script or style, and no framing.
const adminCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// snippetOrigin stands for the server's origin in the install snippet; the
// page puts its own origin there (the server may sit behind any proxy).
const snippetOrigin = "ORIGIN"

// adminPage is one page of the dashboard.
type adminPage struct {
	Path, Page, Title string
	Nav               bool     // shows the header: every page but sign-in
	Styles            []string // style sheets besides admin.css (a vendored chart's)
}

// adminPages lists the pages in menu order.
var adminPages = []adminPage{
	{"/admin/", "overview", "Overview", true, nil},
	{"/admin/funnel", "funnel", "Funnel", true, []string{"/admin/static/vendor/uplot/uPlot.min.css"}},
	{"/admin/users", "users", "Users", true, []string{"/admin/static/vendor/uplot/uPlot.min.css"}},
	{"/admin/flows", "flows", "Flows", true, nil},
	{"/admin/content", "content", "Content", true, nil},
	{"/admin/interventions", "interventions", "Interventions", true, nil},
	{"/admin/models", "models", "Models", true, []string{"/admin/static/vendor/uplot/uPlot.min.css"}},
	{"/admin/alerts", "alerts", "Alerts", true, nil},
	{"/admin/keys", "keys", "API keys", true, nil},
	{"/admin/webhooks", "webhooks", "Webhooks", true, nil},
	{"/admin/settings", "settings", "Settings", true, nil},
	{"/admin/login", "login", "Sign in", false, nil},
}

// navLink is one entry of the header's menu.
type navLink struct {
	Path, Title string
	Current     bool
}

// LoginCookie holds the sign-in form's CSRF token: the sign-in page sets it
// and writes the same value into its form, and POST /v1/auth/login from a
// browser must send both, so another site cannot sign a visitor in.
const LoginCookie = "so_login_csrf"

// loginTokenPattern is the shape of the tokens newLoginToken makes.
var loginTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// AdminOptions configures the dashboard.
type AdminOptions struct {
	SecureCookies bool // mark the sign-in cookie Secure (off only in development over plain HTTP)
}

// Admin serves the dashboard at /admin/: server-rendered pages whose ES
// modules call the JSON API with the session cookie (the API enforces
// roles and CSRF; the pages only hide what the role may not use).
func Admin(opts AdminOptions) http.Handler {
	pages := map[string]*template.Template{}
	for _, p := range adminPages {
		pages[p.Path] = template.Must(template.ParseFS(adminFiles, "admin/layout.html", "admin/"+p.Page+".html"))
	}
	integrity, err := Integrity("smartonboard.js")
	if err != nil {
		panic(err) // the SDK is embedded in the binary
	}
	snippet := "<script src=\"" + snippetOrigin + "/sdk/v1/smartonboard.js\"\n        integrity=\"" + integrity +
		"\" crossorigin=\"anonymous\"></script>\n<script>\n  SmartOnboarding.init({ key: \"pk_…\", userId: currentUser.id });\n</script>"
	static := http.FileServerFS(adminFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", adminCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		switch {
		case r.URL.Path == "/admin":
			http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, "/admin/static/") && !strings.HasSuffix(r.URL.Path, "/"):
			h.Set("Cache-Control", "no-cache")
			static.ServeHTTP(w, r)
		default:
			t, ok := pages[r.URL.Path]
			if !ok {
				http.Error(w, "no such dashboard page: the dashboard starts at /admin/", http.StatusNotFound)
				return
			}
			token := ""
			if r.URL.Path == "/admin/login" {
				token = loginToken(w, r, opts.SecureCookies)
			}
			renderAdmin(w, t, r.URL.Path, snippet, token)
		}
	})
}

// loginToken returns the browser's sign-in token, setting a new one unless
// it holds a well-formed one (so two open sign-in tabs share it).
func loginToken(w http.ResponseWriter, r *http.Request, secure bool) string {
	if c, err := r.Cookie(LoginCookie); err == nil && loginTokenPattern.MatchString(c.Value) {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: LoginCookie, Value: token, Path: "/", MaxAge: int((12 * time.Hour).Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	return token
}

// renderAdmin writes one page; pages carry no data but the sign-in token, so
// they are never cached.
func renderAdmin(w http.ResponseWriter, t *template.Template, path, snippet, loginToken string) {
	var page adminPage
	var nav []navLink
	for _, p := range adminPages {
		if p.Path == path {
			page = p
		}
		if p.Nav {
			nav = append(nav, navLink{p.Path, p.Title, p.Path == path})
		}
	}
	data := struct {
		Title, Page, Snippet, LoginToken string
		Styles                           []string
		Nav                              []navLink
	}{page.Title, page.Page, snippet, loginToken, page.Styles, nil}
	if page.Nav {
		data.Nav = nav
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := t.ExecuteTemplate(w, "layout", data); err != nil {
		http.Error(w, "dashboard: "+err.Error(), http.StatusInternalServerError)
	}
}
