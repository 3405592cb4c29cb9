package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/web"
)

const (
	ownerEmail    = "owner@example.com"
	ownerPassword = "correct horse battery staple"
)

// browser is a dashboard user: a cookie jar, and the CSRF token of its session.
type browser struct {
	t      *testing.T
	in     *instance
	client *http.Client
	csrf   string
	origin string // sent as Origin on unsafe requests, as browsers do
}

func newBrowser(t *testing.T, in *instance) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, in: in, client: &http.Client{Jar: jar, Timeout: hangGuard}, origin: in.url}
}

// do sends a request with the session cookie; project "" sends no X-Project.
func (b *browser) do(method, path, project, body string, header ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.in.url+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if project != "" {
		req.Header.Set("X-Project", project)
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", b.origin)
		if b.csrf != "" {
			req.Header.Set("X-CSRF-Token", b.csrf)
		}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// me is the body of a login or GET /v1/auth/me.
type me struct {
	Account struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"account"`
	CSRFToken string `json:"csrf_token"`
	Projects  []struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	} `json:"projects"`
}

// login signs in and keeps the CSRF token.
func (b *browser) login(email, password string) me {
	b.t.Helper()
	body, err := json.Marshal(map[string]string{"email": email, "password": password})
	if err != nil {
		b.t.Fatal(err)
	}
	m := decode[me](b.t, b.signIn(string(body)), 200)
	if m.CSRFToken == "" || m.Account.Email != email {
		b.t.Fatalf("login answered %+v", m)
	}
	b.csrf = m.CSRFToken
	return m
}

// signInForm is what the sign-in page hands a browser: the form's token and
// the Set-Cookie header carrying it.
type signInForm struct{ token, setCookie string }

var signInToken = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]+)">`)

// signIn posts credentials as the sign-in page does: with the page's token in
// its cookie and in X-CSRF-Token.
func (b *browser) signIn(body string) response {
	b.t.Helper()
	form := b.signInPage()
	return b.do("POST", "/v1/auth/login", "", body, "Cookie", web.LoginCookie+"="+form.token, "X-CSRF-Token", form.token)
}

// signInPage loads the sign-in page as a browser would before signing in.
func (b *browser) signInPage() signInForm {
	b.t.Helper()
	r := b.do("GET", "/admin/login", "", "")
	found := signInToken.FindSubmatch(r.body)
	if r.status != 200 || found == nil {
		b.t.Fatalf("sign-in page: %d, no token in %s", r.status, truncate(r.body))
	}
	return signInForm{string(found[1]), r.header.Get("Set-Cookie")}
}

func ownerConfig(t *testing.T, engine string) config.Config {
	cfg := testConfig(t, engine)
	cfg.OwnerEmail, cfg.OwnerPassword = ownerEmail, ownerPassword
	return cfg
}

// createdKey is the answer to POST /v1/api-keys.
type createdKey struct {
	ID     string   `json:"id"`
	Key    string   `json:"key"`
	Kind   string   `json:"kind"`
	Scopes []string `json:"scopes"`
}

func (b *browser) createKey(project, body string) createdKey {
	b.t.Helper()
	k := decode[createdKey](b.t, b.do("POST", "/v1/api-keys", project, body), 201)
	if k.Key == "" || k.ID == "" {
		b.t.Fatalf("create key answered %+v", k)
	}
	return k
}

// TestOwnerWalk is the "done when", tried as a new user would: the owner
// signs in, makes a second project and its keys, and nothing of one project is
// visible or changeable with the other's keys or sessions.
func TestOwnerWalk(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, ownerConfig(t, engine))
		setupFlow(t, in)
		first := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"article","title":"Only in default","status":"draft"}`), 201)

		owner := newBrowser(t, in)
		m := owner.login(ownerEmail, ownerPassword)
		if len(m.Projects) != 1 || m.Projects[0].ID != "default" || m.Projects[0].Role != "owner" {
			t.Fatalf("owner's projects: %+v", m.Projects)
		}
		r := owner.do("POST", "/v1/projects", "", `{"name":"Second"}`)
		second := decode[struct{ ID string }](t, r, 201)

		// A signed-in admin is the customer's own side: it may set server-only traits.
		if r := owner.do("POST", "/v1/identify", "default", `{"user_id":"u-dash","traits":{"role":"admin"}}`); r.status != 200 {
			t.Errorf("identify from the dashboard: %d %s", r.status, r.body)
		}
		// Only the operator's project makes new accounts: an admin of any other
		// project could otherwise claim a colleague's email with a password of
		// its own choosing. Existing accounts may be added anywhere.
		r = owner.do("POST", "/v1/members", second.ID, `{"email":"newhire@victim.example","role":"viewer","password":"chosen by someone else"}`)
		if r.status != 403 || r.apiErr(t).Field != "password" {
			t.Errorf("new account from another project: %d %s", r.status, r.body)
		}
		if r := owner.signIn(`{"email":"newhire@victim.example","password":"chosen by someone else"}`); r.status != 401 {
			t.Errorf("the refused account signs in: %d %s", r.status, r.body)
		}
		if r := owner.do("POST", "/v1/members", "default", `{"email":"colleague@example.com","role":"viewer","password":"colleague password"}`); r.status != 200 {
			t.Fatalf("new account from the default project: %d %s", r.status, r.body)
		}
		colleague := decode[struct {
			AccountID string `json:"account_id"`
		}](t, owner.do("POST", "/v1/members", second.ID, `{"email":"colleague@example.com","role":"editor"}`), 200)
		// Text PostgreSQL cannot store is a 400 before any lookup.
		for _, c := range []struct{ path, project, body string }{
			{"/v1/auth/login", "", `{"email":"a\u0000@example.com","password":"whatever it is"}`},
			{"/v1/members", second.ID, `{"email":"a\u0000@example.com","role":"viewer"}`},
			{"/v1/projects", "", `{"name":"a\u0000b"}`},
		} {
			if r := owner.do("POST", c.path, c.project, c.body); r.status != 400 {
				t.Errorf("POST %s with a NUL: %d %s", c.path, r.status, r.body)
			}
		}
		if r := owner.do("PATCH", "/v1/project", second.ID, `{"name":"a\u0000b"}`); r.status != 400 {
			t.Errorf("PATCH /v1/project with a NUL: %d %s", r.status, r.body)
		}
		full := owner.createKey(second.ID, `{"kind":"secret","name":"ci","scopes":["read","write","admin"]}`)
		reader := owner.createKey(second.ID, `{"kind":"secret","name":"reporting","scopes":["read"]}`)
		pub := owner.createKey(second.ID, `{"kind":"public","name":"web"}`)

		// The second project's keys see none of the first's data.
		if r := in.request("GET", "/v1/content-items/"+first.ID, full.Key, "", nil); r.status != 404 {
			t.Errorf("other project's item by id: %d %s", r.status, r.body)
		}
		if r := in.request("GET", "/v1/content-items", full.Key, "", nil); r.status != 200 || strings.Contains(string(r.body), first.ID) {
			t.Errorf("other project's list: %d %s", r.status, r.body)
		}
		if r := in.request("POST", "/v1/users/u1/journeys/getting-started", pub.Key, "", nil); r.status != 404 {
			t.Errorf("other project's flow with its public key: %d %s", r.status, r.body)
		}
		if r := in.request("DELETE", "/v1/content-items/"+first.ID, full.Key, "", nil); r.status != 404 {
			t.Errorf("deleting the other project's item: %d %s", r.status, r.body)
		}
		if r := in.admin("GET", "/v1/content-items/"+first.ID, ""); r.status != 200 {
			t.Errorf("the item after the other project's delete: %d %s", r.status, r.body)
		}
		// A read-scoped key reads but cannot write.
		if r := in.request("GET", "/v1/flows", reader.Key, "", nil); r.status != 200 {
			t.Errorf("read key reading: %d %s", r.status, r.body)
		}
		if r := in.request("POST", "/v1/content-items", reader.Key, "application/json",
			strings.NewReader(`{"kind":"article","title":"x","status":"draft"}`)); r.status != 403 {
			t.Errorf("read key writing: %d %s", r.status, r.body)
		}
		// A revoked key answers 401 at once on the instance that revoked it.
		if r := in.request("GET", "/v1/flows", reader.Key, "", nil); r.status != 200 {
			t.Fatalf("before revoke: %d", r.status)
		}
		if r := owner.do("DELETE", "/v1/api-keys/"+reader.ID, second.ID, ""); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		r = in.request("GET", "/v1/flows", reader.Key, "", nil)
		if r.status != 401 || r.apiErr(t).Code != "unauthorized" || !strings.Contains(string(r.body), "revoked") {
			t.Errorf("revoked key: %d %s", r.status, r.body)
		}
		// The audit log names who did what, without secrets.
		r = owner.do("GET", "/v1/audit-log", second.ID, "")
		if r.status != 200 {
			t.Fatalf("audit log: %d %s", r.status, r.body)
		}
		audit := decode[struct {
			Items []struct {
				Actor, Action, Target string
				Changes               []string
			}
		}](t, r, 200)
		var actions []string
		for _, e := range audit.Items {
			actions = append(actions, e.Action+" "+e.Target)
			if e.Actor != "account:"+m.Account.ID {
				t.Errorf("audit actor %q, want the owner's account", e.Actor)
			}
		}
		want := []string{"DELETE /v1/api-keys/{id} /v1/api-keys/" + reader.ID, "POST /v1/api-keys /v1/api-keys/" + pub.ID,
			"POST /v1/api-keys /v1/api-keys/" + reader.ID, "POST /v1/api-keys /v1/api-keys/" + full.ID,
			"POST /v1/members /v1/members/" + colleague.AccountID, "POST /v1/projects /v1/projects/" + second.ID}
		if !slices.Equal(actions, want) {
			t.Errorf("audit log:\n got %q\nwant %q", actions, want)
		}
		for _, secret := range []string{full.Key, reader.Key, pub.Key, ownerPassword} {
			if strings.Contains(string(r.body), secret) {
				t.Errorf("audit log holds a secret")
			}
		}
		// The first project's audit log holds none of that.
		r = in.admin("GET", "/v1/audit-log", "")
		if r.status != 200 || strings.Contains(string(r.body), second.ID) {
			t.Errorf("default project's audit log: %d %s", r.status, r.body)
		}
	})
}

// TestSessionDefences covers sign-in: cookie attributes, CSRF, throttling,
// roles, non-members and sign-out.
func TestSessionDefences(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := ownerConfig(t, engine)
		cfg.Env, cfg.Migrate = config.EnvStaging, true // cookies are Secure outside development
		in := start(t, cfg)
		owner := newBrowser(t, in)
		owner.client.Jar = nil // a plain-HTTP jar would drop a Secure cookie; read it by hand
		form := owner.signInPage()
		for _, attr := range []string{web.LoginCookie + "=" + form.token, "HttpOnly", "Secure", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(form.setCookie, attr) {
				t.Errorf("sign-in page's Set-Cookie %q lacks %s", form.setCookie, attr)
			}
		}
		credentials := `{"email":"OWNER@example.com","password":"` + ownerPassword + `"}`
		signInCookie := web.LoginCookie + "=" + form.token
		for name, h := range map[string][]string{
			"no token":           {"Cookie", signInCookie},
			"no cookie":          {"X-CSRF-Token", form.token},
			"another's token":    {"Cookie", web.LoginCookie + "=" + strings.Repeat("A", 43), "X-CSRF-Token", form.token},
			"from another site":  {"Cookie", signInCookie, "X-CSRF-Token", form.token, "Origin", "https://evil.example"},
			"fetched cross-site": {"Cookie", signInCookie, "X-CSRF-Token", form.token, "Sec-Fetch-Site", "cross-site"},
		} {
			if r := owner.do("POST", "/v1/auth/login", "", credentials, h...); r.status != 403 || r.header.Get("Set-Cookie") != "" {
				t.Errorf("browser sign-in with %s: %d %s", name, r.status, r.body)
			}
		}
		r := owner.do("POST", "/v1/auth/login", "", credentials, "Cookie", signInCookie, "X-CSRF-Token", form.token)
		if r.status != 200 {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		cookie := r.header.Get("Set-Cookie")
		for _, attr := range []string{"so_session=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("Set-Cookie %q lacks %s", cookie, attr)
			}
		}
		m := decode[me](t, r, 200)
		session := strings.SplitN(strings.TrimPrefix(cookie, "so_session="), ";", 2)[0]
		call := func(method, path, project, csrf, origin, body string) response {
			h := []string{"Cookie", "so_session=" + session}
			if csrf != "" {
				h = append(h, "X-CSRF-Token", csrf)
			}
			b := &browser{t: t, in: in, client: httpClient, origin: origin}
			return b.do(method, path, project, body, h...)
		}
		if r := call("GET", "/v1/auth/me", "", "", "", ""); r.status != 200 {
			t.Fatalf("me: %d %s", r.status, r.body)
		}
		if r := call("POST", "/v1/projects", "", "", in.url, `{"name":"No token"}`); r.status != 403 {
			t.Errorf("unsafe request without the CSRF token: %d %s", r.status, r.body)
		}
		if r := call("POST", "/v1/projects", "", "wrong", in.url, `{"name":"Wrong token"}`); r.status != 403 {
			t.Errorf("wrong CSRF token: %d %s", r.status, r.body)
		}
		if r := call("POST", "/v1/projects", "", m.CSRFToken, "https://evil.example", `{"name":"Cross origin"}`); r.status != 403 {
			t.Errorf("cross-origin request with the token: %d %s", r.status, r.body)
		}
		if r := call("GET", "/v1/flows", "", "", "", ""); r.status != 400 {
			t.Errorf("project route without X-Project: %d %s", r.status, r.body)
		}
		if r := call("GET", "/v1/flows", "nope", "", "", ""); r.status != 403 {
			t.Errorf("a project the account is not in: %d %s", r.status, r.body)
		}

		// A viewer reads but cannot write; a non-member sees nothing.
		r = call("POST", "/v1/members", "default", m.CSRFToken, in.url,
			`{"email":"viewer@example.com","role":"viewer","password":"viewer password 123"}`)
		if r.status != 200 {
			t.Fatalf("add viewer: %d %s", r.status, r.body)
		}
		viewer := newBrowser(t, in)
		viewer.client.Jar = nil
		r = viewer.signIn(`{"email":"viewer@example.com","password":"viewer password 123"}`)
		if r.status != 200 {
			t.Fatalf("viewer login: %d %s", r.status, r.body)
		}
		vm := decode[me](t, r, 200)
		vs := strings.SplitN(strings.TrimPrefix(r.header.Get("Set-Cookie"), "so_session="), ";", 2)[0]
		vcall := func(method, path, body string) response {
			b := &browser{t: t, in: in, client: httpClient, origin: in.url}
			return b.do(method, path, "default", body, "Cookie", "so_session="+vs, "X-CSRF-Token", vm.CSRFToken)
		}
		if r := vcall("GET", "/v1/flows", ""); r.status != 200 {
			t.Errorf("viewer reading: %d %s", r.status, r.body)
		}
		if r := vcall("POST", "/v1/content-items", `{"kind":"article","title":"x","status":"draft"}`); r.status != 403 {
			t.Errorf("viewer writing: %d %s", r.status, r.body)
		}
		r = vcall("GET", "/v1/project", "")
		if r.status != 200 || strings.Contains(string(r.body), "identity_secret") {
			t.Errorf("viewer reading the project: %d %s", r.status, r.body)
		}
		// The last owner cannot be removed.
		if r := call("DELETE", "/v1/members/"+m.Account.ID, "default", m.CSRFToken, in.url, ""); r.status != 409 {
			t.Errorf("removing the last owner: %d %s", r.status, r.body)
		}

		// Sign-out revokes the session at once.
		if r := call("POST", "/v1/auth/logout", "", m.CSRFToken, in.url, ""); r.status != 204 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r := call("GET", "/v1/auth/me", "", "", "", ""); r.status != 401 {
			t.Errorf("me after logout: %d %s", r.status, r.body)
		}

		// Guessing passwords is throttled per account: 10 attempts a minute,
		// the owner's own sign-in above included unless the bucket has won
		// that attempt back since. It refills one attempt every 6 s, so a
		// slow run (the race detector on a busy machine, argon2id each time)
		// earns one more per 6 s it takes.
		guesser := newBrowser(t, in)
		var statuses []int
		started := time.Now()
		for len(statuses) < 14 && !slices.Contains(statuses, 429) {
			statuses = append(statuses, guesser.signIn(`{"email":"owner@example.com","password":"wrong password!"}`).status)
		}
		refilled := int(time.Since(started) / (6 * time.Second))
		if n := len(statuses) - 1; statuses[n] != 429 || slices.ContainsFunc(statuses[:n], func(s int) bool { return s != 401 }) ||
			n < 9 || n > 10+refilled {
			t.Errorf("wrong passwords answered %v; want 401 nine or ten times (%d more for the %v the run took), then 429",
				statuses, refilled, time.Since(started).Round(time.Millisecond))
		}
	})
}

// TestRotatedBootstrapKey restarts on the same database with a new
// SMARTONBOARD_ADMIN_KEY: the old key answers 401, the new one works, and the
// start-up log says which key was revoked.
func TestRotatedBootstrapKey(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		oldKey, newKey := "sk_"+strings.Repeat("a", 40), "sk_"+strings.Repeat("b", 40)
		cfg.AdminKey = oldKey
		in := start(t, cfg)
		if r := in.request("GET", "/v1/flows", oldKey, "", nil); r.status != 200 {
			t.Fatalf("configured key: %d %s", r.status, r.body)
		}
		if err := in.m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		cfg.AdminKey = newKey
		in2, logs := startLogged(t, cfg)
		r := in2.request("GET", "/v1/flows", oldKey, "", nil)
		if r.status != 401 || !strings.Contains(string(r.body), "revoked") {
			t.Errorf("old key after rotation: %d %s", r.status, r.body)
		}
		if r := in2.request("GET", "/v1/flows", newKey, "", nil); r.status != 200 {
			t.Errorf("new key: %d %s", r.status, r.body)
		}
		if !strings.Contains(logs.String(), "revoked the key a changed bootstrap variable replaced") ||
			!strings.Contains(logs.String(), "SMARTONBOARD_ADMIN_KEY: sk_aaaaaaaa") {
			t.Errorf("start-up log does not name the revoked key:\n%s", logs)
		}
	})
}

// TestAdminCreate runs `smartonboard admin create` and signs in with the account.
func TestAdminCreate(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, config.EngineSQLite)
	in := start(t, cfg)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("a long enough password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"SMARTONBOARD_DATA_DIR=" + cfg.DataDir}
	var out, errOut strings.Builder
	if code := run(t.Context(), []string{"admin", "create", "--email", "Ops@Example.com", "--password-file", pw, "--role", "editor"},
		env, &out, &errOut); code != 0 {
		t.Fatalf("admin create: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "created account ops@example.com") || !strings.Contains(out.String(), "editor") {
		t.Errorf("admin create said %q", out.String())
	}
	if code := run(t.Context(), []string{"admin", "create", "--email", "ops@example.com", "--password-file", pw}, env, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "already exists") {
		t.Errorf("second admin create: exit %d: %s", code, errOut.String())
	}
	b := newBrowser(t, in)
	m := b.login("ops@example.com", "a long enough password")
	if len(m.Projects) != 1 || m.Projects[0].Role != "editor" {
		t.Errorf("projects: %+v", m.Projects)
	}
}

// TestAuditLogPages filters the audit log and walks it page by page.
func TestAuditLogPages(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		for i := range 5 {
			if r := in.admin("POST", "/v1/content-items", `{"kind":"article","title":"T`+strconv.Itoa(i)+`","status":"draft"}`); r.status != 201 {
				t.Fatalf("content: %d %s", r.status, r.body)
			}
		}
		if r := in.admin("PATCH", "/v1/project", `{"name":"Renamed"}`); r.status != 200 {
			t.Fatalf("rename: %d %s", r.status, r.body)
		}
		if r := in.admin("POST", "/v1/content-items", `{"kind":"nope"}`); r.status != 400 {
			t.Fatalf("bad content: %d", r.status) // a refused change is not audited
		}
		type page struct {
			Items []struct {
				ID, Action, Actor string
				Status            int
				Changes           []string
			}
			NextCursor *string `json:"next_cursor"`
		}
		var all []string
		cursor := ""
		for range 10 {
			r := in.admin("GET", "/v1/audit-log?limit=2&action="+urlQuery("POST /v1/content-items")+cursor, "")
			if r.status != 200 {
				t.Fatalf("audit page: %d %s", r.status, r.body)
			}
			p := decode[page](t, r, 200)
			for _, e := range p.Items {
				all = append(all, e.ID)
				if e.Action != "POST /v1/content-items" || e.Status != 201 || !strings.HasPrefix(e.Actor, "key:") ||
					!slices.Equal(e.Changes, []string{"kind", "status", "title"}) {
					t.Errorf("entry %+v", e)
				}
			}
			if p.NextCursor == nil {
				break
			}
			cursor = "&cursor=" + urlQuery(*p.NextCursor)
		}
		if len(all) != 5 || !slices.IsSortedFunc(all, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("pages held %d entries %v, want 5 newest first", len(all), all)
		}
		r := in.admin("GET", "/v1/audit-log?action="+urlQuery("PATCH /v1/project"), "")
		p := decode[page](t, r, 200)
		if len(p.Items) != 1 || !slices.Equal(p.Items[0].Changes, []string{"name"}) {
			t.Errorf("settings change: %d %s", r.status, r.body)
		}
		if r := in.admin("GET", "/v1/audit-log?since=yesterday", ""); r.status != 400 {
			t.Errorf("bad since: %d", r.status)
		}
	})
}

// TestGeneratedOwner: a first start with no owner configured makes one and
// prints its password once; the account signs in as owner, and a restart
// neither prints nor makes another.
func TestGeneratedOwner(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		in := start(t, cfg)
		out := in.stdout.String()
		found := regexp.MustCompile(`(?m)^  email:    (\S+)\n  password: (\S+)$`).FindStringSubmatch(out)
		if found == nil {
			t.Fatalf("first start printed no owner account:\n%s", out)
		}
		if found[1] != in.m.GeneratedOwner.Email || found[2] != in.m.GeneratedOwner.Password || len(found[2]) < 20 {
			t.Fatalf("printed %q / %q, made %+v", found[1], found[2], in.m.GeneratedOwner)
		}
		b := newBrowser(t, in)
		if r := b.signIn(`{"email":"` + found[1] + `","password":"not the password"}`); r.status != 401 {
			t.Errorf("a wrong password: %d %s", r.status, r.body)
		}
		m := b.login(found[1], found[2])
		if len(m.Projects) != 1 || m.Projects[0].ID != "default" || m.Projects[0].Role != "owner" {
			t.Errorf("the generated owner's projects: %+v", m.Projects)
		}
		if err := in.m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		again := start(t, cfg)
		if strings.Contains(again.stdout.String(), "password") || again.m.GeneratedOwner.Email != "" {
			t.Errorf("a second start made or printed an owner again:\n%s", again.stdout)
		}
		newBrowser(t, again).login(found[1], found[2])
	})
}

// TestConfiguredOwnerIsNotGenerated: with SMARTONBOARD_OWNER_EMAIL set, the
// first start makes that account and prints no password.
func TestConfiguredOwnerIsNotGenerated(t *testing.T) {
	t.Parallel()
	in := start(t, ownerConfig(t, config.EngineSQLite))
	if strings.Contains(in.stdout.String(), "password:") || in.m.GeneratedOwner.Email != "" {
		t.Errorf("a configured owner's start printed a generated one:\n%s", in.stdout)
	}
}
