package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/httpapi"
)

// documentedOperations lists every operation of the OpenAPI document with its
// x-access, so a new route joins the matrix by being documented.
func documentedOperations(t *testing.T) []httpapi.Operation {
	t.Helper()
	ops, err := httpapi.Operations()
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// caller is one kind of principal of the matrix; decorate prepares a request.
type caller struct {
	name     string
	decorate func(r *http.Request)
	// may tells whether this caller may use an operation of the given access
	// with the given method; otherProject marks the other project's key.
	may          func(access, method string) bool
	otherProject bool
	// fresh signs in anew, for POST /v1/auth/logout, which ends the session.
	fresh func() func(*http.Request)
}

func bearer(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

// sessionOf signs in and returns a decorator sending the cookie, X-Project and
// (unless noCSRF) the CSRF token with a same-origin Origin.
func sessionOf(t *testing.T, in *instance, email, password, project string, noCSRF bool) func(*http.Request) {
	t.Helper()
	b := newBrowser(t, in)
	b.client.Jar = nil
	body, err := json.Marshal(map[string]string{"email": email, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	r := b.signIn(string(body))
	m := decode[me](t, r, 200)
	cookie := strings.SplitN(r.header.Get("Set-Cookie"), ";", 2)[0]
	return func(req *http.Request) {
		req.Header.Set("Cookie", cookie)
		req.Header.Set("X-Project", project)
		req.Header.Set("Origin", in.url)
		if !noCSRF {
			req.Header.Set("X-CSRF-Token", m.CSRFToken)
		}
	}
}

// scopesMay is the rule for a principal holding scopes: a public route needs
// read to GET and write otherwise; admin routes need their scope.
func scopesMay(scopes ...string) func(access, method string) bool {
	return func(access, method string) bool {
		need := access
		switch access {
		case "anyone", "accountOrKey":
			return true
		case "signedIn":
			return false
		case "public":
			need = "write"
			if method == "GET" {
				need = "read"
			}
		}
		return slices.Contains(scopes, need)
	}
}

// sessionMay is scopesMay for a member's role, plus the session-only routes.
func sessionMay(role so.Role, csrf bool) func(access, method string) bool {
	var scopes []string
	for _, s := range role.Scopes() {
		scopes = append(scopes, string(s))
	}
	keyRule := scopesMay(scopes...)
	return func(access, method string) bool {
		if !csrf && method != "GET" && access != "anyone" {
			return false
		}
		return access == "signedIn" || keyRule(access, method)
	}
}

// TestAuthorizationMatrix sends every documented operation as every kind of
// caller and holds each answer to what the operation's x-access allows: 401 or
// 403 when it may not, neither (and never 5xx) when it may. The other project's
// key must never read or change this project's data.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, ownerConfig(t, engine))
		fx := newMatrixFixture(t, in)
		ops := documentedOperations(t)
		for _, op := range ops {
			path := fx.concrete(t, op.Method, op.Path)
			for _, c := range fx.callers {
				decorate := c.decorate
				if op.Path == "/v1/auth/logout" && c.fresh != nil {
					decorate = c.fresh()
				}
				status, body := fx.send(t, op.Method, path, decorate)
				allowed := status != 401 && status != 403
				want := op.Access == "anyone" || c.may(op.Access, op.Method)
				if op.Access == "" {
					t.Fatalf("%s %s has no x-access in openapi.json: declare who may call it", op.Method, op.Path)
				}
				switch {
				case status >= 500:
					t.Errorf("%s %s as %s: %d %s", op.Method, path, c.name, status, body)
				case allowed != want:
					t.Errorf("%s %s as %s: %d, want %s (%s)", op.Method, path, c.name, status, map[bool]string{true: "allowed", false: "401/403"}[want], body)
				case c.otherProject && status < 300 && op.Access != "anyone":
					fx.checkNoLeak(t, op, status, body)
				}
			}
		}
		fx.checkUnchanged(t)
	})
}

// matrixFixture is project A (default) with data of every kind, and the
// callers of the matrix.
type matrixFixture struct {
	in      *instance
	content item
	markers []string // strings only project A's data holds
	callers []caller
}

func newMatrixFixture(t *testing.T, in *instance) *matrixFixture {
	t.Helper()
	fx := &matrixFixture{in: in}
	setupFlow(t, in)
	fx.content = decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"article","title":"A-only-title","status":"draft"}`), 201)
	if r := in.publicCall("POST", "/v1/identify", `{"user_id":"user-of-project-a","traits":{"experience":"expert"}}`); r.status != 200 {
		t.Fatalf("identify: %d %s", r.status, r.body)
	}
	owner := newBrowser(t, in)
	owner.login(ownerEmail, ownerPassword)
	for _, m := range []string{`{"email":"editor@example.com","role":"editor","password":"editor password 1"}`,
		`{"email":"viewer@example.com","role":"viewer","password":"viewer password 1"}`} {
		if r := owner.do("POST", "/v1/members", "default", m); r.status != 200 {
			t.Fatalf("member: %d %s", r.status, r.body)
		}
	}
	b := decode[struct{ ID string }](t, owner.do("POST", "/v1/projects", "", `{"name":"Project B"}`), 201)
	if _, err := in.m.accounts.CreateAccount(t.Context(), "outsider@example.com", "outsider password"); err != nil {
		t.Fatal(err)
	}
	if r := owner.do("POST", "/v1/members", b.ID, `{"email":"outsider@example.com","role":"owner"}`); r.status != 200 {
		t.Fatalf("outsider: %d %s", r.status, r.body)
	}
	keys := map[string]createdKey{}
	for name, body := range map[string]string{"read": `{"kind":"secret","name":"r","scopes":["read"]}`,
		"write": `{"kind":"secret","name":"w","scopes":["write"]}`, "admin": `{"kind":"secret","name":"a","scopes":["admin"]}`,
		"revoked": `{"kind":"secret","name":"gone","scopes":["read","write","admin"]}`} {
		keys[name] = owner.createKey("default", body)
		fx.markers = append(fx.markers, keys[name].ID)
	}
	if r := owner.do("DELETE", "/v1/api-keys/"+keys["revoked"].ID, "default", ""); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	other := owner.createKey(b.ID, `{"kind":"secret","name":"b","scopes":["read","write","admin"]}`)
	fx.markers = append(fx.markers, fx.content.ID, "A-only-title", "user-of-project-a", "Welcome tour", "Connect your account")

	none := func(access, method string) bool { return false }
	fx.callers = []caller{
		{name: "no key", decorate: func(*http.Request) {}, may: none},
		{name: "malformed key", decorate: bearer("sk_\xff\xfe" + strings.Repeat("x", 40)), may: none},
		{name: "unknown key", decorate: bearer(so.GenerateKey(so.KeySecret)), may: none},
		{name: "revoked key", decorate: bearer(keys["revoked"].Key), may: none},
		{name: "public key", decorate: bearer(in.public), may: func(access, _ string) bool { return access == "public" }},
		{name: "secret read", decorate: bearer(keys["read"].Key), may: scopesMay("read")},
		{name: "secret write", decorate: bearer(keys["write"].Key), may: scopesMay("write")},
		{name: "secret admin", decorate: bearer(keys["admin"].Key), may: scopesMay("admin")},
		{name: "other project's key", decorate: bearer(other.Key), may: scopesMay("read", "write", "admin"), otherProject: true},
	}
	for _, s := range []struct {
		name, email, password string
		noCSRF                bool
		may                   func(access, method string) bool
	}{
		{"owner session", ownerEmail, ownerPassword, false, sessionMay(so.RoleOwner, true)},
		{"editor session", "editor@example.com", "editor password 1", false, sessionMay(so.RoleEditor, true)},
		{"viewer session", "viewer@example.com", "viewer password 1", false, sessionMay(so.RoleViewer, true)},
		{"non-member session", "outsider@example.com", "outsider password", false, func(access, _ string) bool { return access == "signedIn" }},
		{"owner session without CSRF token", ownerEmail, ownerPassword, true, sessionMay(so.RoleOwner, false)},
	} {
		fresh := func() func(*http.Request) { return sessionOf(t, in, s.email, s.password, "default", s.noCSRF) }
		fx.callers = append(fx.callers, caller{name: s.name, decorate: fresh(), may: s.may, fresh: fresh})
	}
	return fx
}

// concrete fills an operation's path parameters with project A's ids; ids of
// things a caller could destroy are ones that do not exist.
func (fx *matrixFixture) concrete(t *testing.T, method, path string) string {
	t.Helper()
	values := map[string]string{"{id}": fx.content.ID, "{key}": "getting-started", "{version}": "1",
		"{user_id}": "user-of-project-a", "{flow_key}": "getting-started", "{account_id}": so.NewID()}
	if strings.HasPrefix(path, "/v1/api-keys/") || method == "DELETE" {
		values["{id}"] = so.NewID()
	}
	for p, v := range values {
		path = strings.ReplaceAll(path, p, v)
	}
	if strings.Contains(path, "{") {
		t.Fatalf("the matrix has no value for a parameter of %s: add it to matrixFixture.concrete", path)
	}
	return path
}

// send makes one request without a body; an event stream is closed once its
// status is known.
func (fx *matrixFixture) send(t *testing.T, method, path string, decorate func(*http.Request)) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, fx.in.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	decorate(req)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, ""
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, string(body)
}

// checkNoLeak fails when another project's successful answer holds project A's
// data (an error may quote the id the caller sent, which is not a leak).
func (fx *matrixFixture) checkNoLeak(t *testing.T, op httpapi.Operation, status int, body string) {
	t.Helper()
	for _, m := range fx.markers {
		if strings.Contains(body, m) {
			t.Errorf("%s %s with the other project's key (%d) shows project A's %q: %s", op.Method, op.Path, status, m, body)
		}
	}
}

// checkUnchanged holds project A's data to what the fixture made.
func (fx *matrixFixture) checkUnchanged(t *testing.T) {
	t.Helper()
	r := fx.in.admin("GET", "/v1/content-items/"+fx.content.ID, "")
	got := decode[item](t, r, 200)
	if got.Version != fx.content.Version || got.Title != "A-only-title" {
		t.Errorf("project A's content after the matrix: %d %s", r.status, r.body)
	}
	keys := decode[struct {
		Items []struct {
			Name      string  `json:"name"`
			RevokedAt *string `json:"revoked_at"`
		}
	}](t, fx.in.admin("GET", "/v1/api-keys", ""), 200)
	for _, k := range keys.Items {
		if (k.RevokedAt != nil) != (k.Name == "gone") {
			t.Errorf("key %q revoked_at %v after the matrix", k.Name, k.RevokedAt)
		}
	}
}
