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
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/predict"
	"github.com/smartonboarding/smartonboard/stream"
	"github.com/smartonboarding/smartonboard/web"
)

// DefaultBodyLimit bounds request bodies unless a route says otherwise.
const DefaultBodyLimit = 1 << 20

// Check is one readiness check, such as the database ping.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
	// Detail, when set instead of Run, also says what it found.
	Detail func(ctx context.Context) (string, error)
}

// BuildInfo identifies the running binary in /v1/status.
type BuildInfo struct {
	Version string
	Commit  string
	BuiltAt string
}

// Server holds the dependencies of the handlers; it is built once by main.
type Server struct {
	Projects  so.ProjectStore
	Accounts  *so.AccountService
	Audit     so.AuditStore
	Content   *so.ContentService
	Flows     *so.FlowService
	Users     *so.UserService
	Journeys  *journey.Engine
	Ingest    Ingester
	Behaviour so.BehaviourStore
	Webhooks  so.WebhookStore
	Analytics so.AnalyticsStore
	Alerts    so.AlertStore
	Insights  analytics.InsightSource
	// Eraser runs user erasures (DELETE /v1/users/{user_id}).
	Eraser so.UserEraser
	// Models trains, keeps and serves the success-prediction models.
	Models *predict.Service
	// Training queues trainings (POST /v1/models/train).
	Training so.TrainingQueue
	// Rejections keeps the counts of rejected events FlushRejections writes.
	Rejections so.RejectionStore
	// MaxRejectionKeys bounds the rejection counts held between flushes
	// (0: DefaultMaxRejectionKeys).
	MaxRejectionKeys int
	// WebhookProduction holds webhook endpoints to production rules: https,
	// and public addresses only.
	WebhookProduction bool
	Bus               stream.Bus
	ReadyChecks       []Check
	Build             BuildInfo
	Engine            string
	StartedAt         time.Time
	Logger            *slog.Logger
	Registry          *prometheus.Registry
	AllowedOrigins    []string
	MetricsToken      string
	// TrustedProxies are the proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// MaxStreamsPerProject bounds one project's public-key streams on this
	// instance unless the project's limits.streams says otherwise (0: none).
	MaxStreamsPerProject int
	// MaxStreamsPerIP bounds the public-key streams of one client address
	// (IPv6: one /64) on this instance (0: none).
	MaxStreamsPerIP int
	// StreamLifetime ends each stream after 90 to 100% of it, so clients
	// rebalance across instances (0: never).
	StreamLifetime time.Duration

	// Demo serves the demo product at /demo/ (nil: the demo is off).
	Demo http.Handler

	// Development serves session cookies without Secure, for http://localhost.
	Development bool
	// IdentityGrace is how long a rotated identity secret stays valid.
	IdentityGrace time.Duration
	Limits        RateLimits

	routes      []string
	access      map[string]access // by route pattern
	mux         *http.ServeMux
	crossOrigin *http.CrossOriginProtection
	limiter     limiters
	metrics     *httpMetrics
	rejections  *rejectionCounts
	keys        keyCache
	projects    projectCache
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
	s.rejections = newRejectionCounts(s.Registry, s.MaxRejectionKeys)
	mux := http.NewServeMux()
	s.routes, s.access, s.mux = nil, map[string]access{}, mux
	s.crossOrigin = http.NewCrossOriginProtection()
	s.limiter = newLimiters()
	for _, o := range s.AllowedOrigins {
		if o != "*" {
			_ = s.crossOrigin.AddTrustedOrigin(o) // config.Validate has checked the origins
		}
	}
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
	// Files for browsers, not operations of the API: outside the OpenAPI document.
	mux.Handle("GET /sdk/v1/", web.SDK())
	demo := s.Demo
	if demo == nil {
		demo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the demo is off here: it runs in development with SMARTONBOARD_DEMO=on", http.StatusNotFound)
		})
	}
	mux.Handle("GET /demo", demo)
	mux.Handle("GET /demo/", demo)
	admin := web.Admin(web.AdminOptions{SecureCookies: !s.Development})
	mux.Handle("GET /admin", admin)
	mux.Handle("GET /admin/", admin)

	s.handle(mux, "POST /v1/content-items", write, s.createContent)
	s.handle(mux, "POST /v1/content-preview", write, s.previewContent)
	s.handle(mux, "GET /v1/content-items", read, s.listContent)
	s.handle(mux, "GET /v1/content-items/{id}", read, s.getContent)
	s.handle(mux, "PATCH /v1/content-items/{id}", write, s.updateContent)
	s.handle(mux, "DELETE /v1/content-items/{id}", write, s.deleteContent)

	s.handle(mux, "GET /v1/project", read, s.getProject)
	s.handle(mux, "PATCH /v1/project", adminScope, s.updateProject)
	s.handle(mux, "GET /v1/projects", accountOrKey, s.listProjects)
	s.handle(mux, "POST /v1/projects", signedIn, s.createProject)
	s.handle(mux, "GET /v1/api-keys", read, s.listKeys)
	s.handle(mux, "POST /v1/api-keys", adminScope, s.createKey)
	s.handle(mux, "DELETE /v1/api-keys/{id}", adminScope, s.revokeKey)
	s.handle(mux, "GET /v1/members", read, s.listMembers)
	s.handle(mux, "POST /v1/members", adminScope, s.putMember)
	s.handle(mux, "DELETE /v1/members/{account_id}", adminScope, s.deleteMember)
	s.handle(mux, "GET /v1/audit-log", read, s.listAudit)

	s.handle(mux, "POST /v1/auth/login", anyone, s.login)
	s.handle(mux, "POST /v1/auth/logout", signedIn, s.logout)
	s.handle(mux, "GET /v1/auth/me", signedIn, s.me)

	s.handle(mux, "POST /v1/flows", write, s.createFlow)
	s.handle(mux, "GET /v1/flows", read, s.listFlows)
	s.handle(mux, "GET /v1/flows/{key}", read, s.getFlow)
	s.handle(mux, "PATCH /v1/flows/{key}", write, s.updateFlow)
	s.handle(mux, "POST /v1/flows/{key}/publish", write, s.publishFlow)
	s.handle(mux, "GET /v1/flows/{key}/versions/{version}", read, s.getFlowVersion)

	s.handle(mux, "POST /v1/identify", public, s.identify)
	s.handle(mux, "GET /v1/users", read, s.listUsers)
	s.handle(mux, "GET /v1/users/{user_id}", read, s.getUser)
	s.handle(mux, "DELETE /v1/users/{user_id}", adminScope, s.eraseUser)
	s.handle(mux, "GET /v1/users/{user_id}/prediction", read, s.userPrediction)
	s.handle(mux, "GET /v1/users/{user_id}/detections", read, s.userDetections)
	s.handle(mux, "GET /v1/users/{user_id}/journeys/{flow_key}/engagement", read, s.journeyEngagement)
	s.handle(mux, "GET /v1/models", read, s.listModels)
	s.handle(mux, "POST /v1/models/train", write, s.trainModel)
	s.handle(mux, "GET /v1/models/jobs/{id}", read, s.getTrainingJob)
	s.handle(mux, "POST /v1/models/{id}/activate", write, s.activateModel)
	s.handle(mux, "POST /v1/users/{user_id}/journeys/{flow_key}", public, s.startJourney)
	s.handle(mux, "GET /v1/users/{user_id}/journeys/{flow_key}", public, s.getJourney)
	s.handle(mux, "GET /v1/users/{user_id}/next-step", public, s.nextStep)

	s.handle(mux, "POST /v1/events", public, s.postEvents)
	s.handle(mux, "POST /v1/import", adminScope, s.importHistory)
	s.handle(mux, "GET /v1/stream", public, s.userStream)
	s.handle(mux, "GET /v1/analytics/stream", read, s.analyticsStream)
	s.handle(mux, "GET /v1/analytics/interventions", read, s.interventionEffects)
	s.handle(mux, "GET /v1/analytics/overview", read, s.analyticsOverview)
	s.handle(mux, "GET /v1/analytics/funnel", read, s.analyticsFunnel)
	s.handle(mux, "GET /v1/analytics/time-to-value", read, s.analyticsTimeToValue)
	s.handle(mux, "GET /v1/analytics/engagement", read, s.analyticsEngagement)
	s.handle(mux, "GET /v1/analytics/struggle", read, s.analyticsStruggle)
	s.handle(mux, "GET /v1/analytics/roi", read, s.analyticsROI)
	s.handle(mux, "GET /v1/analytics/insights", read, s.analyticsInsights)
	s.handle(mux, "GET /v1/alerts", read, s.listAlerts)
	s.handle(mux, "POST /v1/alerts/{id}/acknowledge", write, s.acknowledgeAlert)
	s.handle(mux, "POST /v1/alerts/{id}/resolve", write, s.resolveAlert)
	s.handle(mux, "GET /v1/interventions", read, s.listInterventions)
	s.handle(mux, "POST /v1/interventions/{id}/outcome", public, s.postOutcome)
	s.handle(mux, "GET /v1/webhooks", read, s.listWebhooks)
	s.handle(mux, "POST /v1/webhooks", adminScope, s.createWebhook)
	s.handle(mux, "DELETE /v1/webhooks/{id}", adminScope, s.deleteWebhook)
	s.handle(mux, "POST /v1/webhooks/{id}/disable", adminScope, s.disableWebhook)
	s.handle(mux, "POST /v1/webhooks/{id}/enable", adminScope, s.enableWebhook)
	s.handle(mux, "GET /v1/webhooks/{id}/deliveries", read, s.listDeliveries)
}

// admit applies the address limit, authenticates and applies the principal's
// limits; *r becomes the request carrying the principal.
func (s *Server) admit(w http.ResponseWriter, r **http.Request, who access) error {
	if who == anyone {
		return nil
	}
	*r = (*r).WithContext(context.WithValue((*r).Context(), limitKey, &limitState{}))
	if err := s.limitAddress(w, *r); err != nil {
		return err
	}
	var err error
	if *r, err = s.authenticate(*r, who); err != nil {
		return err
	}
	return s.limitPrincipal(w, *r, who)
}

// handlerFunc is a handler that returns its error for writeError to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(mux *http.ServeMux, pattern string, who access, h handlerFunc) {
	s.routes = append(s.routes, pattern)
	s.access[pattern] = who
	wildcards := pathWildcards(pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := s.admit(w, &r, who); err != nil {
			s.writeError(w, r, err)
			return
		}
		if who == public {
			if err := s.checkOrigin(w, r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := checkRequestText(r, wildcards); err != nil {
			s.writeError(w, r, err)
			return
		}
		if audited(who, r.Method) {
			w, r = s.startAudit(w, r)
			defer s.finishAudit(w, r)
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
