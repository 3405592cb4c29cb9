package main

import (
	"context"
	"errors"
	"fmt"

	so "github.com/smartonboarding/smartonboard"
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
		if _, _, err := m.models.Active(ctx, md.ProjectID); err != nil {
			bad = errors.Join(bad, err)
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
