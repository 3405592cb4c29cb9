package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"unicode/utf8"

	so "github.com/smartonboarding/smartonboard"
)

// access says who may call a route.
type access int

const (
	anyone       access = iota
	public              // a public key; other principals need read (GET) or write
	read                // secret key or session with the read scope
	write               // … the write scope
	adminScope          // … the admin scope
	accountOrKey        // a session (no project needed) or any secret key
	signedIn            // a dashboard session; no project needed
)

// needs is the scope a non-public principal needs for a route.
func (a access) needs(method string) so.Scope {
	switch a {
	case write:
		return so.ScopeWrite
	case adminScope:
		return so.ScopeAdmin
	case public:
		if method != http.MethodGet && method != http.MethodHead {
			return so.ScopeWrite
		}
	}
	return so.ScopeRead
}

// sessionCookie names the dashboard's session cookie.
const sessionCookie = "so_session"

// principalFrom returns who is calling, set by authenticate.
func principalFrom(ctx context.Context) *so.Principal {
	p, _ := ctx.Value(principalKey).(*so.Principal)
	return p
}

// authenticate finds the principal of a request and checks that it may call
// the route; the request it returns carries the principal.
func (s *Server) authenticate(r *http.Request, who access) (*http.Request, error) {
	p, err := s.principal(r, who)
	if err != nil {
		return r, err
	}
	if err := authorize(p, who, r.Method); err != nil {
		return r, err
	}
	return r.WithContext(withPrincipal(r.Context(), p)), nil
}

// withPrincipal is ctx carrying who is calling (and their key, for APIKeyFrom).
func withPrincipal(ctx context.Context, p *so.Principal) context.Context {
	ctx = context.WithValue(ctx, principalKey, p)
	if p.Key != nil {
		ctx = context.WithValue(ctx, apiKeyKey, p.Key)
	}
	return ctx
}

// principal reads a key (header, or ?key= for beacons) or, without one, the
// session cookie.
func (s *Server) principal(r *http.Request, who access) (*so.Principal, error) {
	if c, err := r.Cookie(sessionCookie); err == nil && r.Header.Get("Authorization") == "" && r.URL.Query().Get("key") == "" {
		return s.sessionPrincipal(r, c.Value, who)
	}
	key, err := presentedKey(r)
	if err != nil {
		return nil, err
	}
	k, err := s.keys.authenticate(r.Context(), s.Projects, key)
	if so.ErrorCode(err) == so.EINTERNAL {
		s.Logger.WarnContext(r.Context(), "cannot check an API key", "err", err, "request_id", requestID(r.Context()))
		return nil, so.Errorf(so.EUNAVAILABLE, "the API key cannot be checked right now; retry")
	} else if err != nil {
		return nil, err
	}
	return so.KeyPrincipal(k), nil
}

// sessionPrincipal checks a dashboard session, its CSRF defences on unsafe
// requests, and its membership of the project named in X-Project.
func (s *Server) sessionPrincipal(r *http.Request, token string, who access) (*so.Principal, error) {
	if s.Accounts == nil {
		return nil, so.Errorf(so.EUNAUTHORIZED, "missing API key: send Authorization: Bearer <key>")
	}
	a, sess, err := s.Accounts.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if err := s.checkCSRF(r, sess); err != nil {
		return nil, err
	}
	project := r.Header.Get("X-Project")
	if project == "" && who != signedIn && who != accountOrKey {
		return nil, so.FieldErrorf(so.EINVALID, "X-Project", "name the project: send X-Project: <project id>")
	}
	if who == signedIn {
		project = ""
	}
	if !utf8.ValidString(project) || len(project) > 64 || !printableASCII(project) {
		return nil, so.FieldErrorf(so.EINVALID, "X-Project", "is not a project id")
	}
	return s.Accounts.SessionPrincipal(r.Context(), a, sess, project)
}

// checkCSRF guards cookie-authenticated unsafe requests twice: the browser's
// Origin and Sec-Fetch-Site must say same origin (or a listed origin), and the
// session's token must come back in X-CSRF-Token, which no other site can read.
func (s *Server) checkCSRF(r *http.Request, sess *so.Session) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := s.crossOrigin.Check(r); err != nil {
		return so.Errorf(so.EFORBIDDEN, "cross-origin request refused: sign-in sessions work only from the dashboard's own origin")
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
		return so.FieldErrorf(so.EFORBIDDEN, "X-CSRF-Token", "missing or wrong CSRF token: send the csrf_token of GET /v1/auth/me as X-CSRF-Token")
	}
	return nil
}

// authorize checks the principal's kind and scopes against the route.
func authorize(p *so.Principal, who access, method string) error {
	switch {
	case who == public && p.Kind == so.PrincipalPublicKey:
		return nil
	case p.Kind == so.PrincipalPublicKey:
		return so.Errorf(so.EFORBIDDEN, "this route needs a secret key (sk_…); public keys may only track users")
	case who == signedIn && p.Kind != so.PrincipalSession:
		return so.Errorf(so.EFORBIDDEN, "this route is for signed-in accounts: sign in with POST /v1/auth/login")
	case who == signedIn, who == accountOrKey && (p.Kind == so.PrincipalSecretKey || p.ProjectID == ""):
		return nil
	}
	need := who.needs(method)
	if p.Can(need) {
		return nil
	}
	if p.Kind == so.PrincipalSession {
		return so.Errorf(so.EFORBIDDEN, "your role in this project (%s) does not allow this: it needs the %s scope", p.Role, need)
	}
	return so.Errorf(so.EFORBIDDEN, "this key lacks the %s scope this route needs", need)
}

// printableASCII tells whether s is printable ASCII, as ids and tokens are.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
