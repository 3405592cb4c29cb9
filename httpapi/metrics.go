package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	so "github.com/smartonboarding/smartonboard"
)

// httpMetrics counts requests and their latency by route, method and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smartonboard_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smartonboard_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *httpMetrics) observe(route, method string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, code).Inc()
	m.latency.WithLabelValues(route, method, code).Observe(d.Seconds())
}

// metricsHandler serves the registry, behind a bearer token when one is configured.
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry})
	if s.MetricsToken == "" {
		return h
	}
	want := (&so.APIKey{Hash: so.HashKey(s.MetricsToken)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !want.Matches(token) {
			s.writeError(w, r, so.Errorf(so.EUNAUTHORIZED, "GET /metrics needs Authorization: Bearer <SMARTONBOARD_METRICS_TOKEN>"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
