package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/predict"
)

// modelsReady is the readiness check of success prediction: the active
// models can be read and score; projects without one answer with the prior.
func (m *Main) modelsReady(ctx context.Context) (string, error) {
	ms, err := m.db.ActiveModels(ctx)
	if err != nil {
		return "", err
	}
	var bad error
	for _, md := range ms {
		if err := predict.CheckModel(md); err != nil {
			bad = errors.Join(bad, fmt.Errorf("active model %s of project %s: %w", md.ID, md.ProjectID, err))
		}
	}
	if bad != nil {
		return "", bad
	}
	if len(ms) == 0 {
		return "no active model: predictions come from the prior", nil
	}
	return fmt.Sprintf("%d active model(s); projects without one are answered by the prior", len(ms)), nil
}

// predictedSuccess fills a journey view's predicted_success; a failure is
// logged and leaves it null.
func (m *Main) predictedSuccess(ctx context.Context, j *so.Journey) *float64 {
	p, err := m.models.Success(ctx, j)
	if err != nil {
		m.Logger.WarnContext(ctx, "predicting success", "journey", j.ID, "err", err)
	}
	return p
}

// scoreAt gives the behaviour engine the active model's chance for a
// journey; a failure is logged and the heuristic answers.
func (m *Main) scoreAt(ctx context.Context, projectID, userID, journeyID string, at time.Time) (float64, bool) {
	p, ok, err := m.models.ScoreAt(ctx, projectID, userID, journeyID, at)
	if err != nil {
		m.Logger.WarnContext(ctx, "scoring a journey for the low-success trigger", "journey", journeyID, "err", err)
	}
	return p, ok
}

// trainModel trains a project's model (the training job's work) and logs the verdict.
func (m *Main) trainModel(ctx context.Context, projectID string) error {
	t, err := m.models.Train(ctx, projectID)
	if errors.Is(err, predict.ErrTooLittleData) {
		return so.Errorf(so.EINVALID, "%v", err)
	} else if err != nil {
		return err
	}
	m.Logger.Info("model trained", "project", projectID, "version", t.Model.Version, "auc", t.Model.Metrics.AUC,
		"ece", t.Model.Metrics.ECE, "activated", t.Activated, "note", t.Model.Note)
	return nil
}

// runTrain runs `smartonboard train [--project ID]`: it trains the project's
// model on the configured database in this process (as the training job
// does), stores it, and prints its holdout figures and the registry's verdict.
func runTrain(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", so.DefaultProjectID, "the project whose model to train")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see smartonboard train -h)", fs.Arg(0))
	}
	cfg, err := loadConfig("train", nil, environ, stderr)
	if err != nil {
		return err
	}
	db, closeDB, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	svc := &predict.Service{Store: db, Versions: &journey.Engine{Flows: db, Journeys: db}, AbandonAfter: cfg.AbandonAfter}
	began := time.Now()
	t, err := svc.Train(ctx, *project)
	if err != nil {
		return err
	}
	md := t.Model
	fmt.Fprintf(stdout, "trained model v%d (%s) in %s on %d settled journeys (train %d, calibrate %d, holdout %d) that started %s to %s\n",
		md.Version, md.ID, time.Since(began).Round(time.Millisecond), md.Journeys.Train+md.Journeys.Calibrate+md.Journeys.Holdout,
		md.Journeys.Train, md.Journeys.Calibrate, md.Journeys.Holdout, so.FormatTime(md.TrainedFrom), so.FormatTime(md.TrainedTo))
	fmt.Fprintf(stdout, "holdout (%d predictions): AUC %.4f, log loss %.4f, Brier %.4f, ECE %.4f\n",
		md.Metrics.N, md.Metrics.AUC, md.Metrics.LogLoss, md.Metrics.Brier, md.Metrics.ECE)
	fmt.Fprintln(stdout, md.Note)
	return nil
}

// monitorEvery is how often models are monitored: a pass reads every
// history of each project with an active model.
const monitorEvery = time.Hour

// monitorModels is the periodic model check: health stored on the model,
// drift and decay alerts reconciled, a retrain queued when due.
func (m *Main) monitorModels(ctx context.Context) error {
	active, err := m.db.ActiveModels(ctx)
	if err != nil {
		return err
	}
	var errs error
	for _, md := range active {
		_, err := m.monitorProject(ctx, m.models, md.ProjectID)
		errs = errors.Join(errs, err)
	}
	return errs
}

// monitorProject checks one project's active model with svc's clock.
func (m *Main) monitorProject(ctx context.Context, svc *predict.Service, projectID string) (*predict.Health, error) {
	md, h, err := svc.Monitor(ctx, projectID)
	if err != nil || md == nil {
		return nil, err
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if err := m.db.SaveModelHealth(ctx, projectID, md.ID, raw); err != nil {
		return nil, err
	}
	opened, err := analytics.ReconcileProject(ctx, m.db, projectID, predict.Checks(md, h), h.At)
	if err != nil {
		return nil, err
	}
	m.logJob("open model alerts", len(opened))
	if h.Retrain {
		if _, err := m.db.EnqueueTraining(ctx, projectID); err != nil {
			return nil, err
		}
		m.Logger.Info("retrain queued", "project", projectID, "new_settled_journeys", h.NewSettled, "model", md.Version)
	}
	return h, nil
}
