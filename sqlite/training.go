package sqlite

import (
	"context"
	"errors"

	"github.com/riverqueue/river/rivertype"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/jobs"
)

// EnqueueTraining implements smartonboard.TrainingQueue.
func (db *DB) EnqueueTraining(ctx context.Context, projectID string) (*so.TrainingJob, error) {
	if db.queue == nil {
		return nil, errNoQueue
	}
	res, err := db.queue.Insert(ctx, jobs.TrainModel{ProjectID: projectID}, nil)
	if err != nil {
		return nil, err
	}
	return jobs.TrainingJob(res.Job, projectID), nil
}

// FindTrainingJob implements smartonboard.TrainingQueue.
func (db *DB) FindTrainingJob(ctx context.Context, projectID string, id int64) (*so.TrainingJob, error) {
	if db.queue == nil {
		return nil, errNoQueue
	}
	row, err := db.queue.JobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil, so.TrainingJobNotFound(id)
	} else if err != nil {
		return nil, err
	}
	if j := jobs.TrainingJob(row, projectID); j != nil {
		return j, nil
	}
	return nil, so.TrainingJobNotFound(id)
}
