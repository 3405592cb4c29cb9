// Package httpapi is the JSON-over-HTTP API: routing, authentication, decoding,
// and the one place where errors become HTTP statuses.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/stream"
)

// DefaultBodyLimit bounds request bodies unless a route says otherwise.
const DefaultBodyLimit = 1 << 20

// Check is one readiness check, such as the database ping.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// BuildInfo identifies the running binary in /v1/status.
type BuildInfo struct {
	Version string
	Commit  string
	BuiltAt string
}

// Server holds the dependencies of the handlers; it is built once by main.
type Server struct {
	Projects       so.ProjectStore
	Content        *so.ContentService
	Flows          *so.FlowService
	Users          *so.UserService
	Journeys       *journey.Engine
	Ingest         Ingester
	Bus            stream.Bus
	ReadyChecks    []Check
	Build          BuildInfo
	Engine         string
	StartedAt      time.Time
	Logger         *slog.Logger
	Registry       *prometheus.Registry
	AllowedOrigins []string
	MetricsToken   string
	// TrustedProxies are the proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix

	routes   []string
	access   map[string]access // by route pattern
	mux      *http.ServeMux
	metrics  *httpMetrics
	keys     keyCache
	projects projectCache
}

// Routes lists every "METHOD /path" pattern the server registered, so a test can
// hold it against the OpenAPI document.
func (s *Server) Routes() []string { return s.routes }

// Handler builds the complete HTTP handler with its middleware.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.metrics = newHTTPMetrics(s.Registry)
	mux := http.NewServeMux()
	s.routes, s.access, s.mux = nil, map[string]access{}, mux
	s.register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, so.Errorf(so.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	})
	return s.withRequestID(s.recoverPanics(s.observe(s.cors(mux))))
}

// register lists every operation; the OpenAPI test compares this list with the
// published document.
func (s *Server) register(mux *http.ServeMux) {
	s.handle(mux, "GET /healthz", anyone, s.healthz)
	s.handle(mux, "GET /readyz", anyone, s.readyz)
	s.handle(mux, "GET /v1/status", anyone, s.status)
	s.handle(mux, "GET /v1/openapi.json", anyone, s.openapi)
	mux.Handle("GET /metrics", s.metricsHandler())
	s.routes = append(s.routes, "GET /metrics")

	s.handle(mux, "POST /v1/content-items", admin, s.createContent)
	s.handle(mux, "GET /v1/content-items", admin, s.listContent)
	s.handle(mux, "GET /v1/content-items/{id}", admin, s.getContent)
	s.handle(mux, "PATCH /v1/content-items/{id}", admin, s.updateContent)
	s.handle(mux, "DELETE /v1/content-items/{id}", admin, s.deleteContent)

	s.handle(mux, "GET /v1/project", admin, s.getProject)
	s.handle(mux, "PATCH /v1/project", admin, s.updateProject)

	s.handle(mux, "POST /v1/flows", admin, s.createFlow)
	s.handle(mux, "GET /v1/flows", admin, s.listFlows)
	s.handle(mux, "GET /v1/flows/{key}", admin, s.getFlow)
	s.handle(mux, "PATCH /v1/flows/{key}", admin, s.updateFlow)
	s.handle(mux, "POST /v1/flows/{key}/publish", admin, s.publishFlow)
	s.handle(mux, "GET /v1/flows/{key}/versions/{version}", admin, s.getFlowVersion)

	s.handle(mux, "POST /v1/identify", public, s.identify)
	s.handle(mux, "GET /v1/users", admin, s.listUsers)
	s.handle(mux, "GET /v1/users/{user_id}", admin, s.getUser)
	s.handle(mux, "POST /v1/users/{user_id}/journeys/{flow_key}", public, s.startJourney)
	s.handle(mux, "GET /v1/users/{user_id}/journeys/{flow_key}", public, s.getJourney)
	s.handle(mux, "GET /v1/users/{user_id}/next-step", public, s.nextStep)

	s.handle(mux, "POST /v1/events", public, s.postEvents)
	s.handle(mux, "GET /v1/stream", public, s.userStream)
	s.handle(mux, "GET /v1/analytics/stream", admin, s.analyticsStream)
}

// handlerFunc is a handler that returns its error for writeError to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call a route.
type access int

const (
	anyone access = iota
	public        // a public or a secret key
	admin         // a secret key
)

func (s *Server) handle(mux *http.ServeMux, pattern string, who access, h handlerFunc) {
	s.routes = append(s.routes, pattern)
	s.access[pattern] = who
	wildcards := pathWildcards(pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if who != anyone {
			var err error
			if r, err = s.authenticate(r, who); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := checkRequestText(r, wildcards); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// publicRoute tells whether a request, or for a CORS preflight the request it
// announces, goes to a route a public key may call: SMARTONBOARD_ALLOWED_ORIGINS=*
// opens only those to every origin, never the admin routes.
func (s *Server) publicRoute(r *http.Request) bool {
	if m := r.Header.Get("Access-Control-Request-Method"); r.Method == http.MethodOptions && m != "" {
		r = r.WithContext(r.Context()) // a shallow copy, to route as the announced method
		r.Method = m
	}
	_, pattern := s.mux.Handler(r)
	who, ok := s.access[pattern]
	return ok && who == public
}
