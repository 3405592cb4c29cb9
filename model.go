package smartonboard

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// ModelStatus is where a trained model stands in the registry: a candidate
// until activated; activating one retires the active one.
type ModelStatus string

// Model statuses.
const (
	ModelCandidate ModelStatus = "candidate"
	ModelActive    ModelStatus = "active"
	ModelRetired   ModelStatus = "retired"
)

// ModelMetrics are a model's figures on its holdout.
type ModelMetrics struct {
	N        int     `json:"n"`
	AUC      float64 `json:"auc"`
	LogLoss  float64 `json:"log_loss"`
	Brier    float64 `json:"brier"`
	ECE      float64 `json:"ece"`
	BaseRate float64 `json:"base_rate"` // the share of positive labels, for reading the others
}

// Model is one trained success-prediction model of a project.
type Model struct {
	ID        string      `json:"id"`
	ProjectID string      `json:"-"`
	Version   int         `json:"version"` // 1, 2, … per project, in training order
	Kind      string      `json:"kind"`
	Status    ModelStatus `json:"status"`
	// Features is the feature schema: the names of the vector's entries.
	Features []string `json:"features"`
	// Params are the kind's parameters (for "logistic", predict.Params).
	Params json.RawMessage `json:"parameters"`
	// TrainedFrom and TrainedTo bound the starts of the training journeys.
	TrainedFrom time.Time `json:"trained_from"`
	TrainedTo   time.Time `json:"trained_to"`
	// Journeys counts the settled journeys of each split.
	Journeys ModelSplit   `json:"journeys"`
	Metrics  ModelMetrics `json:"metrics"`
	// Calibration is the holdout's calibration plot.
	Calibration json.RawMessage `json:"calibration"`
	// Note says why the model is or is not active (auto-activation's verdict).
	Note string `json:"note"`
	// Health is the monitor's latest reading of the model on recent and
	// newly settled journeys (predict.Health), null until it ran.
	Health      json.RawMessage `json:"health"`
	CreatedAt   time.Time       `json:"created_at"`
	ActivatedAt *time.Time      `json:"activated_at"`
}

// ModelSplit counts journeys by split.
type ModelSplit struct {
	Train     int `json:"train"`
	Calibrate int `json:"calibrate"`
	Holdout   int `json:"holdout"`
}

// MarshalJSON renders timestamps with milliseconds.
func (m Model) MarshalJSON() ([]byte, error) {
	type plain Model
	return json.Marshal(struct {
		plain
		TrainedFrom string  `json:"trained_from"`
		TrainedTo   string  `json:"trained_to"`
		CreatedAt   string  `json:"created_at"`
		ActivatedAt *string `json:"activated_at"`
	}{plain(m), FormatTime(m.TrainedFrom), FormatTime(m.TrainedTo), FormatTime(m.CreatedAt), FormatOptionalTime(m.ActivatedAt)})
}

// ModelNotFound reports an unknown model id.
func ModelNotFound(id string) *Error { return NotFound("model", id) }

// NoActiveModel reports a project without an active model (the prior answers).
func NoActiveModel() *Error { return NotFound("active model", "") }

// ModelStore is the model registry.
type ModelStore interface {
	// SaveModel inserts a model, giving it the project's next version.
	SaveModel(ctx context.Context, m *Model) error
	// ListModels returns a project's models, newest first.
	ListModels(ctx context.Context, projectID string) ([]*Model, error)
	// FindModel returns one model.
	FindModel(ctx context.Context, projectID, id string) (*Model, error)
	// ActiveModels returns every project's active model (for readiness).
	ActiveModels(ctx context.Context) ([]*Model, error)
	// ActiveModel returns the project's active model, or NoActiveModel.
	ActiveModel(ctx context.Context, projectID string) (*Model, error)
	// SaveModelHealth stores the monitor's latest reading of a model.
	SaveModelHealth(ctx context.Context, projectID, id string, health json.RawMessage) error
	// ActivateModel makes the model active and the active one retired, in one
	// transaction; note replaces the model's note.
	ActivateModel(ctx context.Context, projectID, id, note string, at time.Time) (*Model, error)
}

// UserHistory is what success prediction reads of one end user: traits,
// journeys and events in time order (at most MaxHistoryEvents, the earliest).
type UserHistory struct {
	UserID   string
	Traits   json.RawMessage
	Journeys []*Journey
	Events   []Event
}

// MaxHistoryEvents bounds the events read of one user for prediction.
const MaxHistoryEvents = 20_000

// HistoryStore reads the histories training and scoring need.
type HistoryStore interface {
	// VisitHistories calls fn with every user of the project that has a
	// journey (only userID when it is not empty), in user order; fn may keep
	// nothing of the history after it returns.
	VisitHistories(ctx context.Context, projectID, userID string, fn func(*UserHistory) error) error
}

// HistoryBatch is how many users the engines read histories for at a time.
const HistoryBatch = 200

// GroupHistories assembles the histories of users (in that order) from their
// journeys, traits and events (each user's in time order), keeping at most
// MaxHistoryEvents events of a user.
func GroupHistories(users []string, journeys []*Journey, traits map[string]json.RawMessage, events []*Event) []*UserHistory {
	out := make([]*UserHistory, len(users))
	at := make(map[string]*UserHistory, len(users))
	for i, u := range users {
		out[i] = &UserHistory{UserID: u, Traits: traits[u]}
		at[u] = out[i]
	}
	for _, j := range journeys {
		if h := at[j.UserID]; h != nil {
			h.Journeys = append(h.Journeys, j)
		}
	}
	for _, e := range events {
		if h := at[e.UserID]; h != nil && len(h.Events) < MaxHistoryEvents {
			h.Events = append(h.Events, *e)
		}
	}
	return out
}

// TrainingJob is a queued training of a project's model.
type TrainingJob struct {
	ID         int64      `json:"id"`
	State      string     `json:"state"` // the queue's: available, running, completed, cancelled, retryable, …
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// TrainingQueue queues trainings on the job queue every instance works.
type TrainingQueue interface {
	// EnqueueTraining queues a training of the project's model, or returns
	// the one already waiting or running.
	EnqueueTraining(ctx context.Context, projectID string) (*TrainingJob, error)
	// FindTrainingJob returns one of the project's training jobs.
	FindTrainingJob(ctx context.Context, projectID string, id int64) (*TrainingJob, error)
}

// TrainingJobNotFound reports an unknown training job.
func TrainingJobNotFound(id int64) *Error { return NotFound("training job", strconv.FormatInt(id, 10)) }

// VisitHistoryPages is the engines' shared walk of VisitHistories: one named
// user (visited when they have a journey), or every user with journeys in
// pages of HistoryBatch after the last id of the page before.
func VisitHistoryPages(userID string, page func(after string) ([]string, error), load func(users []string) ([]*UserHistory, error),
	fn func(*UserHistory) error) error {
	if userID != "" {
		hs, err := load([]string{userID})
		if err != nil || len(hs) == 0 || len(hs[0].Journeys) == 0 {
			return err
		}
		return fn(hs[0])
	}
	for after := ""; ; {
		users, err := page(after)
		if err != nil || len(users) == 0 {
			return err
		}
		hs, err := load(users)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if err := fn(h); err != nil {
				return err
			}
		}
		if len(users) < HistoryBatch {
			return nil
		}
		after = users[len(users)-1]
	}
}
