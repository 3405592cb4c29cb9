package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ingestMetrics shows how well group commit is working: how many requests and
// events share a transaction, and how long commits take.
type ingestMetrics struct {
	requests, events, seconds prometheus.Histogram
	failures                  prometheus.Counter
	logger                    *slog.Logger
}

func newIngestMetrics(reg prometheus.Registerer, logger *slog.Logger) *ingestMetrics {
	m := &ingestMetrics{
		logger: logger,
		requests: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "smartonboard_ingest_batch_requests",
			Help: "HTTP requests whose events shared one ingestion transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		events: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "smartonboard_ingest_batch_events",
			Help: "Events in one ingestion transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "smartonboard_ingest_commit_seconds",
			Help: "Duration of one ingestion transaction.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "smartonboard_ingest_commit_failures_total",
			Help: "Ingestion transactions that failed (their requests are retried alone or answered with an error)."}),
	}
	reg.MustRegister(m.requests, m.events, m.seconds, m.failures)
	return m
}

func (m *ingestMetrics) observe(requests, events int, took time.Duration, err error) {
	if err != nil {
		m.failures.Inc()
		m.logger.Error("ingestion transaction failed", "requests", requests, "events", events, "err", err)
		return
	}
	m.requests.Observe(float64(requests))
	m.events.Observe(float64(events))
	m.seconds.Observe(took.Seconds())
}
