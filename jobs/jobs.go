// Package jobs is the durable job queue's vocabulary: the jobs, their workers
// and the queue's settings. River (github.com/riverqueue/river) runs them on
// either engine; a job inserted in a transaction commits with it, and
// periodic jobs run once per interval however many instances run.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/webhook"
)

// Queue settings: a job is picked up within about 50 ms of its commit.
const (
	FetchCooldown     = 10 * time.Millisecond
	FetchPollInterval = 50 * time.Millisecond
	Workers           = 20
)

// Config is what an engine needs to start its queue.
type Config struct {
	Workers  *river.Workers // nil: an insert-only queue
	Periodic []*river.PeriodicJob
	Logger   *slog.Logger
}

// Options are the queue settings both engines use.
func (c Config) Options() *river.Config {
	logger := c.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = slog.New(warnings{logger.Handler()}) // River reports its routine at info, every few seconds
	rc := &river.Config{Logger: logger, FetchCooldown: FetchCooldown, FetchPollInterval: FetchPollInterval,
		PeriodicJobs: c.Periodic, Workers: c.Workers}
	if c.Workers != nil {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: Workers}}
	}
	return rc
}

// DeliverWebhook sends one stored delivery.
type DeliverWebhook struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind implements river.JobArgs.
func (DeliverWebhook) Kind() string { return "deliver_webhook" }

// InsertOpts gives a delivery the webhook schedule's number of attempts.
func (DeliverWebhook) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: webhook.MaxAttempts}
}

// DeliveryWorker sends deliveries, signed, and records each attempt.
type DeliveryWorker struct {
	river.WorkerDefaults[DeliverWebhook]
	Store  so.WebhookStore
	Client *http.Client
	// Backoff is the wait after the given failed attempt (default webhook.NextAttempt).
	Backoff func(attempt int) time.Duration
}

// NextRetry follows the webhook retry schedule.
func (w *DeliveryWorker) NextRetry(job *river.Job[DeliverWebhook]) time.Time {
	if w.Backoff != nil {
		return time.Now().Add(w.Backoff(job.Attempt))
	}
	d, _ := webhook.NextAttempt(job.Attempt)
	return time.Now().Add(d)
}

// Timeout bounds one attempt: the client's own timeout and a margin.
func (w *DeliveryWorker) Timeout(*river.Job[DeliverWebhook]) time.Duration {
	return webhook.DefaultTimeout + 5*time.Second
}

// Work makes one attempt; an error makes River retry it.
func (w *DeliveryWorker) Work(ctx context.Context, job *river.Job[DeliverWebhook]) error {
	d, hook, err := w.Store.FindDelivery(ctx, job.Args.DeliveryID)
	if so.ErrorCode(err) == so.ENOTFOUND {
		return river.JobCancel(err) // the webhook was deleted
	} else if err != nil {
		return err
	}
	now := so.Now()
	if hook.DisabledAt != nil {
		a := so.DeliveryAttempt{At: now, Error: "the webhook is disabled", Final: true}
		if err := w.Store.RecordAttempt(ctx, d.ID, a, webhook.DisableAfter); err != nil {
			return err
		}
		return river.JobCancel(errors.New(a.Error))
	}
	res := webhook.Deliver(ctx, w.Client, hook.URL, hook.Secret, d.ID, now, d.Payload)
	a := so.DeliveryAttempt{At: now, StatusCode: res.StatusCode, Error: res.Error, Delivered: res.Delivered,
		Final: !res.Delivered && job.Attempt >= job.MaxAttempts}
	if err := w.Store.RecordAttempt(context.WithoutCancel(ctx), d.ID, a, webhook.DisableAfter); err != nil {
		// Not an attempt of the endpoint's: try again without using one up, so
		// the last attempt's outcome is never lost with a discarded job.
		return river.JobSnooze(5 * time.Second)
	}
	if res.Delivered {
		return nil
	}
	return errors.New(res.Error)
}

// PublishScheduled publishes content whose time has come.
type PublishScheduled struct{}

// Kind implements river.JobArgs.
func (PublishScheduled) Kind() string { return "publish_scheduled_content" }

// AbandonIdle abandons journeys idle for too long.
type AbandonIdle struct{}

// Kind implements river.JobArgs.
func (AbandonIdle) Kind() string { return "abandon_idle_journeys" }

// RefreshInsights recomputes every project's insights.
type RefreshInsights struct{}

// Kind implements river.JobArgs.
func (RefreshInsights) Kind() string { return "refresh_insights" }

// EvaluateAlerts runs the alert rules over every project.
type EvaluateAlerts struct{}

// Kind implements river.JobArgs.
func (EvaluateAlerts) Kind() string { return "evaluate_alerts" }

// Func is a worker that runs a function, for the periodic jobs.
type Func[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	Run func(ctx context.Context) error
}

// Work implements river.Worker.
func (f *Func[T]) Work(ctx context.Context, _ *river.Job[T]) error { return f.Run(ctx) }

// Every is a periodic job of args every interval, run at start too. Only the
// elected leader enqueues it, and never while one is still waiting or
// running, so a slow run cannot pile up and a failover cannot double it.
func Every(interval time.Duration, args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
		}, &river.PeriodicJobOpts{RunOnStart: true})
}

// unfinished are the states in which a job still counts as the same job.
var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// warnings passes on warnings and errors only.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(as []slog.Attr) slog.Handler { return warnings{w.Handler.WithAttrs(as)} }

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }

// TrainModel trains a project's success-prediction model (POST
// /v1/models/train, and the periodic retrain).
type TrainModel struct {
	ProjectID string `json:"project_id"`
}

// Kind implements river.JobArgs.
func (TrainModel) Kind() string { return "train_model" }

// InsertOpts keeps one training per project waiting or running: asking
// again meanwhile answers the same job.
func (TrainModel) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// TrainWorker runs TrainModel jobs; a refusal for want of data is final.
type TrainWorker struct {
	river.WorkerDefaults[TrainModel]
	Train func(ctx context.Context, projectID string) error
}

// Timeout implements river.Worker: 100,000 journeys train in well under it.
func (w *TrainWorker) Timeout(*river.Job[TrainModel]) time.Duration { return 15 * time.Minute }

// Work implements river.Worker.
func (w *TrainWorker) Work(ctx context.Context, job *river.Job[TrainModel]) error {
	err := w.Train(ctx, job.Args.ProjectID)
	if so.ErrorCode(err) == so.EINVALID {
		return river.JobCancel(err)
	}
	return err
}

// TrainingJob is a training job as the API shows it, or nil when the row is
// not a training job of the project.
func TrainingJob(row *rivertype.JobRow, projectID string) *so.TrainingJob {
	var args TrainModel
	if row == nil || row.Kind != (TrainModel{}).Kind() || json.Unmarshal(row.EncodedArgs, &args) != nil || args.ProjectID != projectID {
		return nil
	}
	j := &so.TrainingJob{ID: row.ID, State: string(row.State), CreatedAt: row.CreatedAt.UTC(), FinishedAt: row.FinalizedAt}
	if n := len(row.Errors); n > 0 {
		j.Error = row.Errors[n-1].Error
	}
	return j
}

// MonitorModels measures every active model's drift and live AUC (opening
// alerts past their thresholds) and queues a retrain where enough new
// settled journeys exist.
type MonitorModels struct{}

// Kind implements river.JobArgs.
func (MonitorModels) Kind() string { return "monitor_models" }

// EnqueueTraining queues a project's training on an engine's queue client.
func EnqueueTraining[TTx any](ctx context.Context, queue *river.Client[TTx], projectID string) (*so.TrainingJob, error) {
	res, err := queue.Insert(ctx, TrainModel{ProjectID: projectID}, nil)
	if err != nil {
		return nil, err
	}
	return TrainingJob(res.Job, projectID), nil
}

// FindTrainingJob reads one of a project's training jobs from an engine's
// queue client; another project's job, or another kind, is not found.
func FindTrainingJob[TTx any](ctx context.Context, queue *river.Client[TTx], projectID string, id int64) (*so.TrainingJob, error) {
	row, err := queue.JobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil, so.TrainingJobNotFound(id)
	} else if err != nil {
		return nil, err
	}
	if j := TrainingJob(row, projectID); j != nil {
		return j, nil
	}
	return nil, so.TrainingJobNotFound(id)
}
