package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"
)

//go:embed demo
var demoFiles embed.FS

// demoCookie holds the demo visitor's user id, so every page of a browser is one user.
const demoCookie = "so_demo_user"

// demoUserPattern is the shape of ids demoUser makes; any other cookie value is replaced.
var demoUserPattern = regexp.MustCompile(`^demo-[0-9a-f]{16}$`)

// demoPages maps each path of the demo app to its template and title.
var demoPages = map[string]struct{ page, title string }{
	"/demo/":        {"home", "Connect your data"},
	"/demo/items":   {"items", "Items"},
	"/demo/team":    {"team", "Team"},
	"/demo/billing": {"billing", "Billing"},
}

// Demo serves the demo product at /demo/: a few pages of a fake SaaS app with
// the SDK installed by the docs' snippet, on a public key of the demo
// project. Each browser is a demo user of its own (a cookie); /demo/reset
// starts over as a new one.
func Demo(publicKey string) http.Handler {
	pages := map[string]*template.Template{}
	for _, p := range demoPages {
		pages[p.page] = template.Must(template.ParseFS(demoFiles, "demo/layout.html", "demo/"+p.page+".html"))
	}
	integrity, err := Integrity("smartonboard.js")
	if err != nil {
		panic(err) // the SDK is embedded in the binary
	}
	static := http.FileServerFS(demoFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/demo":
			http.Redirect(w, r, "/demo/", http.StatusMovedPermanently)
		case r.URL.Path == "/demo/reset":
			http.SetCookie(w, &http.Cookie{Name: demoCookie, Path: "/demo", MaxAge: -1})
			http.Redirect(w, r, "/demo/", http.StatusSeeOther)
		case strings.HasPrefix(r.URL.Path, "/demo/static/") && !strings.HasSuffix(r.URL.Path, "/"):
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			static.ServeHTTP(w, r)
		default:
			p, ok := demoPages[r.URL.Path]
			if !ok {
				http.Error(w, "no such demo page: the demo starts at /demo/", http.StatusNotFound)
				return
			}
			renderDemo(w, r, pages[p.page], p.page, p.title, publicKey, integrity)
		}
	})
}

// renderDemo writes one page with the init script's hash in its CSP, the
// policy docs/sdk.md tells customers to use.
func renderDemo(w http.ResponseWriter, r *http.Request, t *template.Template, page, title, key, integrity string) {
	user := demoUser(w, r)
	cfg, err := json.Marshal(map[string]string{"key": key, "userId": user})
	if err != nil {
		http.Error(w, "demo: "+err.Error(), http.StatusInternalServerError)
		return
	}
	init := "SmartOnboarding.init(" + string(cfg) + ");"
	sum := sha256.Sum256([]byte(init))
	var buf bytes.Buffer
	err = t.Execute(&buf, map[string]any{"Title": title, "Page": page, "User": user, "Integrity": integrity,
		"Init": template.JS(init)}) // #nosec: built from json.Marshal output only
	if err != nil {
		http.Error(w, "demo: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+
		"'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	_, _ = w.Write(buf.Bytes())
}

// demoUser returns the browser's demo user id, making one on the first visit.
func demoUser(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(demoCookie); err == nil && demoUserPattern.MatchString(c.Value) {
		return c.Value
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := "demo-" + hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: demoCookie, Value: id, Path: "/demo", MaxAge: int((30 * 24 * time.Hour).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return id
}
