package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/behaviour"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/pipeline"
	"github.com/smartonboarding/smartonboard/render"
	"github.com/smartonboarding/smartonboard/stream"
)

// freshTriggers is how recent an event must be for its struggle to send help.
const freshTriggers = 2 * time.Minute

// newPipeline names what runs after each commit: the real-time stages in
// order, then the durable behaviour consumer, and the analytics consumer
// that follows it.
func (m *Main) newPipeline() *pipeline.Pipeline {
	lag := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smartonboard_pipeline_lag_seconds",
		Help:    "Time from an event's arrival to its processing by a durable consumer.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"consumer"})
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smartonboard_pipeline_failures_total",
		Help: "Durable consumer transactions that failed and will be retried."}, []string{"consumer"})
	batches := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smartonboard_pipeline_batch_seconds",
		Help:    "Duration of a durable consumer's transaction, waiting for the writer included.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"consumer"})
	m.registry.MustRegister(lag, failures, batches)
	m.pipelineLag, m.pipelineBatches = lag, batches
	var gap time.Duration
	if m.db.Engine() == config.EngineSQLite {
		gap = 20 * time.Millisecond // one writer: commits under load share a consumer transaction
	}
	p := pipeline.New(m.db, m.Logger, pipeline.Options{Idle: m.Config.Consumers == "off", Gap: gap, OnBatch: func(name string, events []*so.Event, took time.Duration, err error) {
		batches.WithLabelValues(name).Observe(took.Seconds())
		if err != nil {
			failures.WithLabelValues(name).Inc()
			return
		}
		now := time.Now()
		h := lag.WithLabelValues(name)
		for _, ev := range events {
			h.Observe(now.Sub(ev.ReceivedAt).Seconds())
		}
	}})
	p.AddStage("journey caches", func(c pipeline.Commit) { m.engine.Committed(c.Outcome) })
	p.AddStage("live counters", func(c pipeline.Commit) { m.counters.Observe(c.Events, c.Outcome) })
	p.AddStage("journey streams", func(c pipeline.Commit) {
		if c.Outcome != nil && len(c.Outcome.Changed) > 0 {
			m.publisher.enqueue(c.Outcome.Changed)
		}
	})
	p.AddConsumer(&behaviour.Consumer{
		Settings: func(ctx context.Context, projectID string) (so.Behaviour, error) {
			pr, err := m.db.FindProject(ctx, projectID)
			if err != nil {
				return so.Behaviour{}, err
			}
			return pr.Settings.Behaviour.Resolve(), nil
		},
		Version: m.engine.Version,
		Content: m.db.FindContentItem,
		Simpler: func(ctx context.Context, projectID, id string) (*so.ContentItem, error) {
			base, err := m.db.FindContentItem(ctx, projectID, id)
			if err != nil {
				return nil, err
			}
			variants, err := m.db.FindVariants(ctx, projectID, id)
			if err != nil {
				return nil, err
			}
			return so.SimplerVariant(base, variants), nil
		},
		Render: render.Markdown,
		Publish: func(projectID, userID, event string, data any) {
			_ = m.bus.Publish(stream.UserTopic(projectID, userID), event, data)
		},
		Fresh:   freshTriggers,
		Predict: m.scoreAt,
	})
	if m.Config.Rollups == "on" {
		p.AddConsumer(&analytics.Consumer{Version: m.engine.Version})
	}
	for _, name := range p.Consumers() {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smartonboard_pipeline_backlog_events",
			Help:        "Committed events a durable consumer has not processed yet (counted up to 100000).",
			ConstLabels: prometheus.Labels{"consumer": name}}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := p.Lag(ctx, name, 100_000)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return p
}
