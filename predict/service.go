package predict

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	so "github.com/smartonboarding/smartonboard"
)

// Store is what the service reads and writes.
type Store interface {
	so.ModelStore
	so.HistoryStore
}

// Versions finds a flow version (the journey engine caches them).
type Versions interface {
	Version(ctx context.Context, projectID, flowID string, version int) (*so.FlowVersion, error)
}

// Service trains a project's models from its stored journeys, keeps the
// registry's rules, and scores users with the active model, which every
// instance reloads within Refresh of a change.
type Service struct {
	Store        Store
	Versions     Versions
	AbandonAfter time.Duration
	// Refresh is how long an instance trusts its copy of a project's active
	// model (default 2 s).
	Refresh time.Duration
	Now     func() time.Time

	mu     sync.Mutex
	active map[string]*cachedModel
	once   sync.Once
	cache  *expirable.LRU[string, float64]
}

// cachedModel is one project's active model (nil: none) as read at `at`.
type cachedModel struct {
	model  *so.Model
	params *Params
	at     time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Histories calls fn with every journey of the project (of one user when
// userID is set) as the feature builder reads it.
func (s *Service) Histories(ctx context.Context, projectID, userID string, fn func(*History, *so.Journey) error) error {
	return s.Store.VisitHistories(ctx, projectID, userID, func(u *so.UserHistory) error {
		traits := decodeTraits(u.Traits)
		for _, j := range u.Journeys {
			v, err := s.Versions.Version(ctx, projectID, j.FlowID, j.FlowVersion)
			if err != nil {
				return fmt.Errorf("journey %s: %w", j.ID, err)
			}
			if err := fn(journeyHistory(u, j, v, traits), j); err != nil {
				return err
			}
		}
		return nil
	})
}

// journeyHistory is one journey of a user's history: the client's events
// that belong to its flow or to no flow (the server's own log entries, such
// as journey_started, are stamped with the server clock and left out).
func journeyHistory(u *so.UserHistory, j *so.Journey, v *so.FlowVersion, traits map[string]string) *History {
	h := &History{JourneyID: j.ID, UserID: u.UserID, Flow: j.FlowKey, Steps: v.Steps, Traits: traits,
		Completed: j.Status == so.JourneyCompleted}
	if j.CompletedAt != nil {
		h.CompletedAt = *j.CompletedAt
	}
	for _, e := range u.Events {
		if !so.ServerEvent(e.Type) && (e.Flow == "" || e.Flow == j.FlowKey) {
			h.Events = append(h.Events, e)
		}
	}
	return h
}

// decodeTraits keeps the string-valued traits, the ones a category can be.
func decodeTraits(raw json.RawMessage) map[string]string {
	var all map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &all) != nil {
		return nil
	}
	out := make(map[string]string, len(all))
	for k, v := range all {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// Trained is what a training run produced and decided.
type Trained struct {
	Model     *so.Model
	Activated bool
	Result    *Result
}

// Train trains a candidate on the project's settled journeys, stores it, and
// activates it when it is no worse than the active model on the candidate's
// holdout (or when there is no active model).
func (s *Service) Train(ctx context.Context, projectID string) (*Trained, error) {
	now := s.now()
	c := NewCollector(Options{Now: now, AbandonAfter: s.AbandonAfter})
	err := s.Histories(ctx, projectID, "", func(h *History, _ *so.Journey) error {
		c.Add(h)
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	r, err := c.Train()
	if err != nil {
		return nil, err
	}
	m, err := newModel(projectID, r, now)
	if err != nil {
		return nil, err
	}
	activate, note, err := s.verdict(ctx, projectID, r)
	if err != nil {
		return nil, err
	}
	m.Note = note
	if err := s.Store.SaveModel(ctx, m); err != nil {
		return nil, err
	}
	if activate {
		if m, err = s.Activate(ctx, projectID, m.ID, note); err != nil {
			return nil, err
		}
	}
	return &Trained{Model: m, Activated: activate, Result: r}, nil
}

// verdict compares the candidate with the active model on the candidate's
// holdout: no worse means an AUC at least the active's and a log loss at
// most the active's.
func (s *Service) verdict(ctx context.Context, projectID string, r *Result) (bool, string, error) {
	active, err := s.Store.ActiveModel(ctx, projectID)
	if so.ErrorCode(err) == so.ENOTFOUND {
		return true, "activated: the project had no active model", nil
	} else if err != nil {
		return false, "", err
	}
	old, err := decodeParams(active.Params)
	if err != nil {
		return false, fmt.Sprintf("not activated: the active model v%d cannot be read to compare (%v)", active.Version, err), nil
	}
	theirs, _ := old.Measure(clone(r.Samples))
	ours := r.Metrics
	if ours.AUC >= theirs.AUC && ours.LogLoss <= theirs.LogLoss {
		return true, fmt.Sprintf("activated: on this holdout AUC %.4f ≥ %.4f and log loss %.4f ≤ %.4f of v%d",
			ours.AUC, theirs.AUC, ours.LogLoss, theirs.LogLoss, active.Version), nil
	}
	return false, fmt.Sprintf("not activated: on this holdout AUC %.4f and log loss %.4f against %.4f and %.4f of the active v%d",
		ours.AUC, ours.LogLoss, theirs.AUC, theirs.LogLoss, active.Version), nil
}

func clone(ss []Sample) []Sample { return append([]Sample(nil), ss...) }

// newModel is the registry's record of a training result.
func newModel(projectID string, r *Result, now time.Time) (*so.Model, error) {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return nil, err
	}
	calibration, err := json.Marshal(r.Calibration)
	if err != nil {
		return nil, err
	}
	names := make([]string, r.Params.Schema.Len())
	for i := range names {
		names[i] = r.Params.Schema.Name(i)
	}
	return &so.Model{ID: so.NewID(), ProjectID: projectID, Kind: KindLogistic, Status: so.ModelCandidate, Features: names,
		Params: params, TrainedFrom: r.From, TrainedTo: r.To, Calibration: calibration, CreatedAt: now.UTC(),
		Journeys: so.ModelSplit{Train: r.Train, Calibrate: r.Calibrate, Holdout: r.Holdout},
		Metrics:  r.Metrics}, nil
}

// CheckModel tells whether a stored model can score (its kind is known and
// its parameters read and agree with their schema).
func CheckModel(m *so.Model) error {
	if m.Kind != KindLogistic {
		return fmt.Errorf("model kind %q is not one this version scores", m.Kind)
	}
	_, err := decodeParams(m.Params)
	return err
}

// decodeParams reads and checks a stored model's parameters.
func decodeParams(raw json.RawMessage) (*Params, error) {
	var p Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("model parameters: %w", err)
	}
	return &p, p.Check()
}

// Activate makes a model active (and the active one retired); this instance
// sees it at once, the others within Refresh.
func (s *Service) Activate(ctx context.Context, projectID, id, note string) (*so.Model, error) {
	m, err := s.Store.FindModel(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	if err := CheckModel(m); err != nil {
		return nil, so.FieldErrorf(so.EINVALID, "id", "model %s cannot score: %v", id, err)
	}
	m, err = s.Store.ActivateModel(ctx, projectID, id, note, s.now().UTC())
	s.forget(projectID)
	return m, err
}

func (s *Service) forget(projectID string) {
	s.mu.Lock()
	delete(s.active, projectID)
	s.mu.Unlock()
}

// Active returns the project's active model and its parameters (nil, nil
// when it has none), reading the registry at most once per Refresh.
func (s *Service) Active(ctx context.Context, projectID string) (*so.Model, *Params, error) {
	refresh := s.Refresh
	if refresh <= 0 {
		refresh = 2 * time.Second
	}
	now := s.now()
	s.mu.Lock()
	c := s.active[projectID]
	s.mu.Unlock()
	if c != nil && now.Sub(c.at) < refresh {
		return c.model, c.params, nil
	}
	m, err := s.Store.ActiveModel(ctx, projectID)
	c = &cachedModel{at: now}
	switch {
	case so.ErrorCode(err) == so.ENOTFOUND:
	case err != nil:
		return nil, nil, err
	default:
		p, err := decodeParams(m.Params)
		if err != nil {
			return nil, nil, fmt.Errorf("active model %s: %w", m.ID, err)
		}
		c.model, c.params = m, p
	}
	s.mu.Lock()
	if s.active == nil {
		s.active = map[string]*cachedModel{}
	}
	s.active[projectID] = c
	s.mu.Unlock()
	return c.model, c.params, nil
}
