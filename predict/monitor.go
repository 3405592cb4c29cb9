package predict

import (
	"context"
	"fmt"
	"math"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// Monitoring thresholds.
const (
	DriftWindow    = 7 * 24 * time.Hour // recent journeys: started this long before now
	DriftPSI       = 0.25               // a feature's stability index past it is a shift
	LiveAUCDrop    = 0.05               // live AUC this far below the holdout's is decay
	minMonitored   = 100                // journeys a comparison needs
	retrainShare   = 0.25               // new settled journeys, as a share of the model's, that call for a retrain
	reportedDrifts = 5
)

// Health is how the active model does on the project's journeys now: the
// drift of recent journeys' features against training, its AUC on journeys
// settled since it was created, and how many settled journeys it has not seen.
type Health struct {
	At           time.Time      `json:"at"`
	Recent       int            `json:"recent_journeys"` // started within DriftWindow
	MaxPSI       float64        `json:"max_psi"`
	Drift        []FeatureDrift `json:"drift"` // the largest, first
	LiveJourneys int            `json:"live_journeys"`
	LiveAUC      *float64       `json:"live_auc"` // nil with too few
	HoldoutAUC   float64        `json:"holdout_auc"`
	NewSettled   int            `json:"new_settled"` // settled journeys started after the training window
	Retrain      bool           `json:"retrain"`
}

// Monitor computes the project's active model's health in one pass over
// its histories; nil when it has no active model.
func (s *Service) Monitor(ctx context.Context, projectID string) (*so.Model, *Health, error) {
	m, p, err := s.Active(ctx, projectID)
	if err != nil || m == nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	h := &Health{At: now, HoldoutAUC: m.Metrics.AUC}
	var recent [][]float64
	var live []float64
	var liveY []bool
	window := Options{AbandonAfter: s.AbandonAfter}.withDefaults().AbandonAfter
	err = s.Histories(ctx, projectID, "", func(hist *History, _ *so.Journey) error {
		if len(hist.Events) == 0 {
			return ctx.Err()
		}
		start, end := hist.Start(), hist.end(window)
		if now.Sub(start) <= DriftWindow {
			h.Recent++
			for _, d := range Horizons {
				if t := start.Add(d); t.Before(end) && !t.After(now) {
					recent = append(recent, p.Schema.Vector(hist, t))
				}
			}
		}
		if hist.Settled(now, window) && start.After(m.TrainedTo) {
			h.NewSettled++
			if start.After(m.CreatedAt) {
				h.LiveJourneys++
				for _, d := range Horizons {
					if t := start.Add(d); t.Before(end) && !t.After(now) {
						live, liveY = append(live, p.Score(p.Schema.Vector(hist, t))), append(liveY, hist.Completed)
					}
				}
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	if h.Recent >= minMonitored {
		h.Drift = p.Drift(recent)
		if len(h.Drift) > 0 {
			h.MaxPSI = h.Drift[0].PSI
		}
		h.Drift = h.Drift[:min(reportedDrifts, len(h.Drift))]
	}
	if h.LiveJourneys >= minMonitored && bothClasses(liveY) {
		auc := AUC(live, liveY)
		h.LiveAUC = &auc
	}
	total := m.Journeys.Train + m.Journeys.Calibrate + m.Journeys.Holdout
	h.Retrain = h.NewSettled >= max(MinSettled, int(math.Ceil(retrainShare*float64(total))))
	return m, h, nil
}

func bothClasses(y []bool) bool {
	pos := 0
	for _, v := range y {
		if v {
			pos++
		}
	}
	return pos > 0 && pos < len(y)
}

// Checks are the alert rules on a model's health: feature drift and live
// AUC decay, each firing past its threshold.
func Checks(m *so.Model, h *Health) []analytics.Check {
	query := "/v1/models"
	drift := analytics.Check{Key: "model_drift", Rule: "model_drift", Severity: "warning", Query: query,
		Firing:  h.Recent >= minMonitored && h.MaxPSI > DriftPSI,
		Numbers: map[string]float64{"max_psi": h.MaxPSI, "threshold": DriftPSI, "recent_journeys": float64(h.Recent)}}
	if len(h.Drift) > 0 {
		drift.Message = fmt.Sprintf("Recent journeys differ from model v%d's training data: %s has a stability index of %.2f (above %.2f means a shift); retrain on recent journeys",
			m.Version, h.Drift[0].Feature, h.Drift[0].PSI, DriftPSI)
	}
	decay := analytics.Check{Key: "model_auc", Rule: "model_auc", Severity: "warning", Query: query,
		Numbers: map[string]float64{"holdout_auc": h.HoldoutAUC, "live_journeys": float64(h.LiveJourneys)}}
	if h.LiveAUC != nil {
		decay.Numbers["live_auc"] = *h.LiveAUC
		decay.Firing = *h.LiveAUC < h.HoldoutAUC-LiveAUCDrop
		decay.Message = fmt.Sprintf("Model v%d ranks newly settled journeys with AUC %.3f, below its holdout's %.3f; retrain it",
			m.Version, *h.LiveAUC, h.HoldoutAUC)
	}
	return []analytics.Check{drift, decay}
}
