package analytics

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// InsightWindow is how much recent history insights cover (and the window
// before it they compare with).
const InsightWindow = 7 * 24 * time.Hour

// InsightSource is what computing insights reads and writes.
type InsightSource interface {
	so.AnalyticsStore
	so.InsightStore
	FindProject(ctx context.Context, id string) (*so.Project, error)
	ActiveProjects(ctx context.Context, since time.Time) ([]string, error)
	InterventionEffects(ctx context.Context, projectID string, from, to time.Time) ([]so.EffectCounts, error)
}

// InsightReport is a project's insights as the API answers them.
type InsightReport struct {
	ComputedAt string    `json:"computed_at"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Insights   []Insight `json:"insights"`
}

// Table renders one row per insight, by rank.
func (r InsightReport) Table() [][]string {
	rows := [][]string{{"rank", "kind", "impact", "title", "detail", "query"}}
	for i, in := range r.Insights {
		rows = append(rows, []string{strconv.Itoa(i + 1), in.Kind, strconv.FormatFloat(in.Impact, 'f', -1, 64), in.Title,
			in.Detail, in.Query})
	}
	return rows
}

// ComputeInsights computes a project's insights over the last week (through
// the current hour) against the week before.
func ComputeInsights(ctx context.Context, db InsightSource, projectID string, now time.Time) (InsightReport, error) {
	to := now.UTC().Truncate(time.Hour).Add(time.Hour)
	in := InsightInput{From: to.Add(-InsightWindow), To: to, PrevFrom: to.Add(-2 * InsightWindow), PrevTo: to.Add(-InsightWindow)}
	var err error
	if in.Current, err = journeyTally(ctx, db, so.RollupQuery{ProjectID: projectID, From: in.From, To: in.To}); err != nil {
		return InsightReport{}, err
	}
	if in.Previous, err = journeyTally(ctx, db, so.RollupQuery{ProjectID: projectID, From: in.PrevFrom, To: in.PrevTo}); err != nil {
		return InsightReport{}, err
	}
	if in.Effects, err = db.InterventionEffects(ctx, projectID, in.From, in.To); err != nil {
		return InsightReport{}, err
	}
	p, err := db.FindProject(ctx, projectID)
	if err != nil {
		return InsightReport{}, err
	}
	counts, err := db.SegmentCounts(ctx, projectID, in.From, in.To, p.Settings.Analytics.Segments())
	if err != nil {
		return InsightReport{}, err
	}
	for _, c := range counts {
		in.Segments = append(in.Segments, SegmentCompletion(c))
	}
	return InsightReport{ComputedAt: so.FormatTime(now), From: so.FormatTime(in.From), To: so.FormatTime(in.To),
		Insights: InsightsOf(in)}, nil
}

// journeyTally loads the journey and step rows a query selects.
func journeyTally(ctx context.Context, db so.AnalyticsStore, q so.RollupQuery) (*Tally, error) {
	journeys, err := db.JourneyRollups(ctx, q)
	if err != nil {
		return nil, err
	}
	steps, err := db.StepRollups(ctx, q)
	if err != nil {
		return nil, err
	}
	t := NewTally()
	return t, t.Load(&so.Rollups{Journeys: journeys, Steps: steps})
}

// RefreshInsights recomputes and stores the insights of every project with
// journeys in the last two windows, and returns how many it refreshed.
func RefreshInsights(ctx context.Context, db InsightSource, now time.Time) (int, error) {
	projects, err := db.ActiveProjects(ctx, now.Add(-2*InsightWindow))
	if err != nil {
		return 0, err
	}
	for i, p := range projects {
		r, err := ComputeInsights(ctx, db, p, now)
		if err != nil {
			return i, err
		}
		doc, err := json.Marshal(r)
		if err != nil {
			return i, err
		}
		if err := db.SaveInsights(ctx, p, now, doc); err != nil {
			return i, err
		}
	}
	return len(projects), nil
}
