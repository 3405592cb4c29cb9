package predict

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	so "github.com/smartonboarding/smartonboard"
)

// Prediction is one journey's chance of completing, as of At, with the
// model that gave it and why.
type Prediction struct {
	UserID      string         `json:"user_id"`
	Flow        string         `json:"flow"`
	JourneyID   string         `json:"journey_id"`
	Probability float64        `json:"probability"`
	ModelID     string         `json:"model_id"`      // "" for the prior
	Version     string         `json:"model_version"` // "v3", or "prior"
	Prior       bool           `json:"prior"`
	Explanation []Contribution `json:"explanation"`
	At          time.Time      `json:"at"`
}

// explained is how many contributions a prediction lists.
const explained = 3

// Predict scores the user's journey of the flow, or, with flow empty, their
// one journey in progress, with the active model or, without one, the prior.
func (s *Service) Predict(ctx context.Context, projectID, userID, flow string) (*Prediction, error) {
	var open []*History
	var named *History
	journeys := 0
	err := s.Histories(ctx, projectID, userID, func(h *History, j *so.Journey) error {
		journeys++
		if flow != "" && j.FlowKey == flow {
			named = h
		}
		if j.Status == so.JourneyActive || j.Status == so.JourneyPaused {
			open = append(open, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h, err := pick(userID, flow, named, open, journeys)
	if err != nil {
		return nil, err
	}
	return s.score(ctx, projectID, h)
}

// pick chooses the journey a prediction is about.
func pick(userID, flow string, named *History, open []*History, journeys int) (*History, error) {
	switch {
	case flow != "" && named == nil:
		return nil, so.NotFound("journey of user "+userID+" in flow", flow)
	case flow != "":
		return named, nil
	case len(open) == 1:
		return open[0], nil
	case len(open) > 1:
		var flows []string
		for _, h := range open {
			flows = append(flows, h.Flow)
		}
		return nil, so.FieldErrorf(so.EINVALID, "flow", "user %s has %d journeys in progress (%s): name one with ?flow=",
			userID, len(open), strings.Join(flows, ", "))
	case journeys == 0:
		return nil, so.NotFound("journey of user", userID)
	}
	return nil, so.FieldErrorf(so.EINVALID, "flow", "user %s has no journey in progress: name the flow with ?flow=", userID)
}

// score predicts one journey now.
func (s *Service) score(ctx context.Context, projectID string, h *History) (*Prediction, error) {
	now := s.now().UTC()
	out := &Prediction{UserID: h.UserID, Flow: h.Flow, JourneyID: h.JourneyID, At: now}
	if h.Completed {
		out.Probability, out.Version = 1, "outcome"
		out.Explanation = []Contribution{{Feature: "status", Value: 1, Text: "the journey is completed"}}
		return out, nil
	}
	m, p, err := s.Active(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		out.Probability, out.Version, out.Prior = Prior(h, now), "prior", true
		out.Explanation = []Contribution{{Feature: "progress", Value: out.Probability, Text: priorWords}}
		return out, nil
	}
	x := p.Schema.Vector(h, now)
	out.Probability, out.ModelID, out.Version = p.Score(x), m.ID, fmt.Sprintf("v%d", m.Version)
	out.Explanation = p.Explain(x, explained)
	return out, nil
}

// priorWords explain the prior.
var priorWords = fmt.Sprintf("no model is active yet (training needs %d settled journeys, %d of them completed and %d not): "+
	"the prior is the share of the flow done, smoothed as (steps done + 1) ÷ (steps + 2)", MinSettled, MinPerClass, MinPerClass)

// Prior is the documented answer without a model: the journey's share of
// steps done as of now, smoothed so it is never 0 or 1.
func Prior(h *History, now time.Time) float64 {
	b := newBuilder(h, now)
	for i := range h.Events {
		if e := &h.Events[i]; !e.Timestamp.After(now) {
			b.add(e)
		}
	}
	done := len(b.done) + len(b.skipped)
	return float64(done+1) / float64(len(h.Steps)+2)
}

// Success is a journey's predicted chance for its state's predicted_success,
// or nil when it cannot be computed (the error is the caller's to log);
// answers are kept for successTTL per journey revision, so a page polling
// its journey reads the user's history at most that often.
func (s *Service) Success(ctx context.Context, j *so.Journey) (*float64, error) {
	key := j.ID + ":" + strconv.Itoa(j.Revision)
	if v, ok := s.successes().Get(key); ok {
		return &v, nil
	}
	h, err := s.journey(ctx, j.ProjectID, j.UserID, j.ID)
	if err != nil || h == nil {
		return nil, err
	}
	p, err := s.score(ctx, j.ProjectID, h)
	if err != nil {
		return nil, err
	}
	s.successes().Add(key, p.Probability)
	return &p.Probability, nil
}

// Bounds of the predicted_success cache.
const (
	successTTL     = 30 * time.Second
	successEntries = 50_000
)

func (s *Service) successes() *expirable.LRU[string, float64] {
	s.once.Do(func() { s.cache = expirable.NewLRU[string, float64](successEntries, nil, successTTL) })
	return s.cache
}

// ScoreAt is the active model's chance that the journey completes, from its
// events up to at (the behaviour engine asks when a step drags on); false
// when the project has no active model or the journey is not found.
func (s *Service) ScoreAt(ctx context.Context, projectID, userID, journeyID string, at time.Time) (float64, bool, error) {
	_, p, err := s.Active(ctx, projectID)
	if err != nil || p == nil {
		return 0, false, err
	}
	h, err := s.journey(ctx, projectID, userID, journeyID)
	if err != nil || h == nil {
		return 0, false, err
	}
	return p.Score(p.Schema.Vector(h, at)), true, nil
}

// journey is the history of one of the user's journeys, or nil.
func (s *Service) journey(ctx context.Context, projectID, userID, journeyID string) (*History, error) {
	var found *History
	err := s.Histories(ctx, projectID, userID, func(h *History, j *so.Journey) error {
		if j.ID == journeyID {
			found = h
		}
		return nil
	})
	return found, err
}
