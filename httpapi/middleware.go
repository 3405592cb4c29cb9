package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	apiKeyKey
	principalKey
	auditKey
	limitKey
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// APIKeyFrom returns the authenticated key of a request, so handlers know the project.
func APIKeyFrom(ctx context.Context) *so.APIKey {
	k, _ := ctx.Value(apiKeyKey).(*so.APIKey)
	return k
}

// projectID is the project of the authenticated request.
func projectID(r *http.Request) string { return principalFrom(r.Context()).ProjectID }

// withRequestID keeps a sane incoming X-Request-ID (from a proxy) or makes one, and
// echoes it so clients can quote it in a bug report.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < '!' || c > '~' }) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// recoverPanics turns a handler panic into a logged 500 instead of a dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote, for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe logs each request and records it in the metrics by route pattern, so
// label cardinality stays bounded whatever paths clients send.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.observe(route, r.Method, rec.status, elapsed)
		level := slog.LevelInfo
		if route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics" {
			level = slog.LevelDebug
		}
		s.Logger.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path,
			"route", route, "status", rec.status, "duration_ms", elapsed.Milliseconds(),
			"request_id", requestID(r.Context()))
	})
}

// cors answers preflight requests and marks responses readable by the allowed
// origins; other origins get no CORS headers, so browsers block them.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		// A public route's preflight carries no key, so the project's own
		// origins cannot be known yet: any origin may send, and the request
		// itself is refused unless an origin list admits it (checkOrigin).
		if origin != "" && (s.originAllowed(origin, r) || preflight && s.publicRoute(r)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Request-ID")
			if preflight {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-User-Hash, X-Request-ID, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkOrigin applies the origin lists to a public-key call from a web page:
// the server's list or the project's settings.allowed_origins must admit a
// page of another origin, and the answer is then readable by it; anything
// else is refused before it changes anything.
func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || principalFrom(r.Context()).Kind != so.PrincipalPublicKey || sameOrigin(origin, r) || s.originAllowed(origin, r) {
		return nil
	}
	p, err := s.cachedProject(r)
	if err != nil {
		return err
	}
	// The answer is readable either way: a refused page (the SDK) learns why
	// from the body, and does not retry what will never pass.
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "X-Request-ID")
	if !p.Settings.AllowsOrigin(origin) {
		return so.Errorf(so.EFORBIDDEN, "pages of %s may not use this project's key: add the origin to the project's settings.allowed_origins (PATCH /v1/project) or to SMARTONBOARD_ALLOWED_ORIGINS", origin)
	}
	return nil
}

// sameOrigin tells a page of this server (the demo) from another site's.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// originAllowed: listed origins may call every route, "*" only the public ones.
func (s *Server) originAllowed(origin string, r *http.Request) bool {
	return slices.Contains(s.AllowedOrigins, origin) || slices.Contains(s.AllowedOrigins, "*") && s.publicRoute(r)
}

// presentedKey reads the bearer key. POST /v1/events and GET /v1/stream also
// take a public key as ?key=, because navigator.sendBeacon and EventSource
// cannot set headers; a secret key is never accepted in a URL, where proxies
// and logs would keep it.
// The scheme name is case-insensitive (RFC 7235), and a key that could never
// have been issued is refused here, before any store sees its bytes.
func presentedKey(r *http.Request) (string, error) {
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if key = strings.TrimSpace(key); strings.EqualFold(scheme, "Bearer") && key != "" {
		return wellFormed(key)
	}
	if keyInURL(r) {
		if key := r.URL.Query().Get("key"); strings.HasPrefix(key, so.PublicKeyPrefix) {
			return wellFormed(key)
		} else if key != "" {
			return "", so.Errorf(so.EUNAUTHORIZED, "only a public key (pk_…) may be sent as ?key=; send others in the Authorization header")
		}
	}
	return "", so.Errorf(so.EUNAUTHORIZED, "missing API key: send Authorization: Bearer <key>")
}

// keyInURL tells the routes browsers call without headers.
func keyInURL(r *http.Request) bool {
	return r.Pattern == "POST /v1/events" || r.Pattern == "GET /v1/stream"
}

// wellFormed passes a key on only if it has the shape of one this server issues.
func wellFormed(key string) (string, error) {
	if !so.WellFormedKey(key) {
		return "", so.Errorf(so.EUNAUTHORIZED, "invalid API key")
	}
	return key, nil
}
