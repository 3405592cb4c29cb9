package sqlite

import (
	"context"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/jobs"
)

// EnqueueTraining implements smartonboard.TrainingQueue.
func (db *DB) EnqueueTraining(ctx context.Context, projectID string) (*so.TrainingJob, error) {
	if db.queue == nil {
		return nil, errNoQueue
	}
	return jobs.EnqueueTraining(ctx, db.queue, projectID)
}

// FindTrainingJob implements smartonboard.TrainingQueue.
func (db *DB) FindTrainingJob(ctx context.Context, projectID string, id int64) (*so.TrainingJob, error) {
	if db.queue == nil {
		return nil, errNoQueue
	}
	return jobs.FindTrainingJob(ctx, db.queue, projectID, id)
}
