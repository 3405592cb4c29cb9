package main

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/httpapi"
	"github.com/smartonboarding/smartonboard/jobs"
	"github.com/smartonboarding/smartonboard/webhook"
)

// startQueue starts the durable job queue: webhook deliveries, and the
// periodic jobs (publishing scheduled content, abandoning idle journeys),
// which River's elected leader enqueues once per interval for all instances.
func (m *Main) startQueue(ctx context.Context) error {
	workers := river.NewWorkers()
	production := m.Config.Env == config.EnvProduction
	river.AddWorker(workers, &jobs.DeliveryWorker{Store: m.db, Client: webhook.NewClient(production, 0), Backoff: m.WebhookBackoff})
	content := &so.ContentService{Store: m.db}
	river.AddWorker(workers, &jobs.Func[jobs.PublishScheduled]{Run: func(ctx context.Context) error {
		n, err := content.PublishDue(ctx)
		m.logJob("publish scheduled content", n)
		return err
	}})
	river.AddWorker(workers, &jobs.Func[jobs.AbandonIdle]{Run: m.abandonIdle})
	river.AddWorker(workers, &jobs.Func[jobs.EvaluateAlerts]{Run: m.evaluateAlerts})
	river.AddWorker(workers, &jobs.Func[jobs.RefreshInsights]{Run: m.refreshInsights})
	river.AddWorker(workers, &jobs.TrainWorker{Train: m.trainModel})
	river.AddWorker(workers, &jobs.Func[jobs.MonitorModels]{Run: m.monitorModels})
	periodic := []*river.PeriodicJob{jobs.Every(m.Config.PublishInterval, jobs.PublishScheduled{}),
		jobs.Every(abandonEvery(m.Config.AbandonAfter), jobs.AbandonIdle{}),
		jobs.Every(m.Config.AlertInterval, jobs.EvaluateAlerts{}), jobs.Every(insightEvery, jobs.RefreshInsights{}),
		jobs.Every(monitorEvery, jobs.MonitorModels{})}
	if err := m.db.StartQueue(context.WithoutCancel(ctx), jobs.Config{Workers: workers, Periodic: periodic, Logger: m.Logger}); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	return nil
}

// insightEvery is how often insights are recomputed: they read a week of
// hourly rollups and a week of journey facts, and move slowly.
const insightEvery = 15 * time.Minute

// refreshInsights recomputes every project's insights now.
func (m *Main) refreshInsights(ctx context.Context) error {
	n, err := analytics.RefreshInsights(ctx, m.db, time.Now())
	m.logJob("refresh insights", n)
	return err
}

// evaluateAlerts runs the alert rules now.
func (m *Main) evaluateAlerts(ctx context.Context) error {
	opened, err := analytics.EvaluateAlerts(ctx, m.db, time.Now())
	m.logJob("open alerts", len(opened))
	return err
}

func (m *Main) logJob(name string, n int) {
	if n > 0 {
		m.Logger.Info(name, "count", n)
	}
}

// abandonIdle abandons idle journeys, announcing each to webhooks in the same
// transaction, then pushes them to the streams.
func (m *Main) abandonIdle(ctx context.Context) error {
	abandoned, err := m.engine.AbandonIdle(ctx, m.Config.AbandonAfter, announceAbandoned)
	if err != nil {
		return err
	}
	m.logJob("abandon idle journeys", len(abandoned))
	httpapi.PublishJourneys(ctx, m.bus, m.engine, abandoned)
	return nil
}

// announceAbandoned tells each project's webhooks of its abandoned journeys;
// a journey abandoned again after a return is a new announcement.
func announceAbandoned(ctx context.Context, q so.Enqueuer, js []*so.Journey) error {
	as := make([]webhook.Announcement, len(js))
	for i, j := range js {
		as[i] = webhook.Announcement{ProjectID: j.ProjectID, Type: webhook.JourneyAbandoned,
			Subject: fmt.Sprintf("%s@%d", j.ID, j.Revision), At: j.UpdatedAt, Data: j}
	}
	return webhook.Announce(ctx, q, as)
}

// abandonEvery is how often idle journeys are looked for: ten times per
// abandonment window, at most once a minute and at least once a second.
func abandonEvery(after time.Duration) time.Duration {
	return min(time.Minute, max(time.Second, after/10))
}
