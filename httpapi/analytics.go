package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// activeNow is the span "active users now" covers.
const activeNow = 5 * time.Minute

// maxReportWindow bounds a report's window: a year of hourly rows.
const maxReportWindow = 366 * 24 * time.Hour

// table is a report that also renders as CSV.
type table interface{ Table() [][]string }

// maxTraitFilters bounds the trait.NAME=VALUE filters of one report.
const maxTraitFilters = 5

// traitFilters takes the trait.NAME=VALUE parameters out of the query: a
// report of a segment of users.
func traitFilters(q url.Values) (map[string]string, error) {
	traits := map[string]string{}
	for name, vals := range q {
		trait, ok := strings.CutPrefix(name, "trait.")
		if !ok {
			continue
		}
		if trait == "" || len(trait) > 100 || strings.Trim(trait, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return nil, so.FieldErrorf(so.EINVALID, name, "a trait filter is trait.NAME=VALUE, NAME of letters, digits, _ and -")
		}
		if len(vals) > 1 || vals[0] == "" || len(vals[0]) > 200 {
			return nil, so.FieldErrorf(so.EINVALID, name, "give one value, 1 to 200 characters")
		}
		traits[trait] = vals[0]
		delete(q, name)
	}
	if len(traits) > maxTraitFilters {
		return nil, so.Errorf(so.EINVALID, "at most %d trait filters", maxTraitFilters)
	}
	return traits, nil
}

// segmentQuery reads a report's window, hour-aligned (from floored, to raised
// to the next hour: rollups are hourly), the flow and version filters, and
// the trait filters of a segment.
func segmentQuery(r *http.Request, known ...string) (so.RollupQuery, url.Values, map[string]string, error) {
	raw, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return so.RollupQuery{}, nil, nil, so.Errorf(so.EINVALID, "malformed query string")
	}
	traits, err := traitFilters(raw)
	if err != nil {
		return so.RollupQuery{}, nil, nil, err
	}
	r2 := *r
	u := *r.URL
	u.RawQuery = raw.Encode()
	r2.URL = &u
	rq, q, err := windowQuery(&r2, known...)
	return rq, q, traits, err
}

// windowQuery reads the window and the flow and version filters.
func windowQuery(r *http.Request, known ...string) (so.RollupQuery, url.Values, error) {
	q, err := queryParams(r, append([]string{"from", "to", "flow", "version"}, known...)...)
	if err != nil {
		return so.RollupQuery{}, nil, err
	}
	from, to, err := windowOf(q)
	if err != nil {
		return so.RollupQuery{}, nil, err
	}
	rq := so.RollupQuery{ProjectID: projectID(r), From: from.UTC().Truncate(time.Hour), To: ceilHour(to), Flow: q.Get("flow")}
	if rq.To.Sub(rq.From) > maxReportWindow {
		return rq, nil, so.FieldErrorf(so.EINVALID, "from", "the window may span at most 366 days")
	}
	if v := q.Get("version"); v != "" {
		if rq.Version, err = strconv.Atoi(v); err != nil || rq.Version < 1 {
			return rq, nil, so.FieldErrorf(so.EINVALID, "version", "must be a flow version number (1 or more)")
		}
		if rq.Flow == "" {
			return rq, nil, so.FieldErrorf(so.EINVALID, "version", "needs flow")
		}
	}
	return rq, q, nil
}

func ceilHour(t time.Time) time.Time {
	t = t.UTC()
	if h := t.Truncate(time.Hour); !h.Equal(t) {
		return h.Add(time.Hour)
	}
	return t
}

// writeReport answers with the report as JSON, or as CSV when the client asks
// for text/csv.
func writeReport(w http.ResponseWriter, r *http.Request, name string, report table) error {
	if !wantsCSV(r) {
		writeJSON(w, http.StatusOK, report)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_ = csv.NewWriter(w).WriteAll(report.Table()) // the status is out: a failed write leaves a cut body
	return nil
}

// wantsCSV tells whether the Accept header names text/csv before JSON.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		switch strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) {
		case "text/csv":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// tally loads rows into a fresh tally.
func tally(rows *so.Rollups) (*analytics.Tally, error) {
	t := analytics.NewTally()
	return t, t.Load(rows)
}

func (s *Server) analyticsOverview(w http.ResponseWriter, r *http.Request) error {
	q, _, traits, err := segmentQuery(r)
	if err != nil {
		return err
	}
	if q.Flow != "" {
		if _, err := s.Flows.Find(r.Context(), q.ProjectID, q.Flow); err != nil {
			return err
		}
	}
	// The reads are independent: run at once, the database's work and the
	// decoding overlap.
	var activity analytics.Activity
	var window, recent *analytics.Tally
	var rejected []so.RejectionCount
	var minuteSeries []so.ActivityRollup // short recent windows plot minutes, not hours
	now := so.Now()
	g, ctx := errgroup.WithContext(r.Context())
	g.Go(func() (err error) {
		activity, err = analytics.LoadActivity(ctx, s.Analytics, q)
		return err
	})
	g.Go(func() (err error) {
		if len(traits) > 0 { // a segment's journeys are summed from their facts
			window, err = s.segmentWindow(ctx, q, traits)
			return err
		}
		window, err = analytics.LoadJourneys(ctx, s.Analytics, q)
		return err
	})
	g.Go(func() error {
		recentQ := so.RollupQuery{ProjectID: q.ProjectID, From: now.Add(-activeNow).Truncate(time.Minute), To: now.Add(time.Minute)}
		minutes, err := s.Analytics.ActivityRollups(ctx, recentQ, so.UnitMinute)
		if err == nil {
			recent, err = tally(&so.Rollups{Activity: minutes})
		}
		if err == nil {
			rejected, err = s.Analytics.RejectedEvents(ctx, q)
		}
		if err == nil && q.To.Sub(q.From) <= 24*time.Hour && now.Sub(q.From) <= analytics.MinutesKept {
			minuteSeries, err = s.Analytics.ActivityCounts(ctx, q, so.UnitMinute)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	series := activity.Hours
	if minuteSeries != nil {
		series = minuteSeries
	}
	ov := analytics.OverviewOf(q.From, q.To, recent, activity, window, series, rejected)
	ov.Segment = traits
	return writeReport(w, r, "overview", ov)
}

func (s *Server) analyticsFunnel(w http.ResponseWriter, r *http.Request) error {
	q, params, traits, err := segmentQuery(r, "within_days")
	if err != nil {
		return err
	}
	order, err := s.stepOrder(r, q)
	if err != nil {
		return err
	}
	var within *int
	if v := params.Get("within_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return so.FieldErrorf(so.EINVALID, "within_days", "must be a whole number of days from 1 to 365")
		}
		within = &n
	}
	window, err := s.journeyWindow(r, q, traits)
	if err != nil {
		return err
	}
	return writeReport(w, r, "funnel", analytics.FunnelOf(q, window, order, within))
}

func (s *Server) analyticsTimeToValue(w http.ResponseWriter, r *http.Request) error {
	q, _, traits, err := segmentQuery(r)
	if err != nil {
		return err
	}
	if _, err := s.stepOrder(r, q); err != nil {
		return err
	}
	window, err := s.journeyWindow(r, q, traits)
	if err != nil {
		return err
	}
	return writeReport(w, r, "time-to-value", analytics.TimeToValueOf(q, window))
}

// stepOrder checks the report's flow (required) and returns its steps in the
// order of the version asked for, or of the latest published one.
func (s *Server) stepOrder(r *http.Request, q so.RollupQuery) ([]string, error) {
	if q.Flow == "" {
		return nil, so.FieldErrorf(so.EINVALID, "flow", "is required: the key of the flow to report on")
	}
	f, err := s.Flows.Find(r.Context(), q.ProjectID, q.Flow)
	if err != nil {
		return nil, err
	}
	version := q.Version
	if version == 0 {
		version = f.PublishedVersion
	}
	if version == 0 {
		return nil, nil // never published: no journeys, no steps
	}
	v, err := s.Flows.Version(r.Context(), q.ProjectID, q.Flow, version)
	if err != nil {
		return nil, err
	}
	order := make([]string, len(v.Steps))
	for i, st := range v.Steps {
		order[i] = st.Key
	}
	return order, nil
}

func (s *Server) analyticsEngagement(w http.ResponseWriter, r *http.Request) error {
	q, _, traits, err := segmentQuery(r)
	if err != nil {
		return err
	}
	var order []string
	if q.Flow != "" {
		if order, err = s.stepOrder(r, q); err != nil {
			return err
		}
	}
	window, err := s.journeyWindow(r, q, traits)
	if err != nil {
		return err
	}
	return writeReport(w, r, "engagement", analytics.EngagementOf(q, window, order))
}

func (s *Server) analyticsStruggle(w http.ResponseWriter, r *http.Request) error {
	q, _, traits, err := segmentQuery(r)
	if err != nil {
		return err
	}
	if q.Flow != "" {
		if _, err := s.stepOrder(r, q); err != nil {
			return err
		}
	}
	window, err := s.journeyWindow(r, q, traits)
	if err != nil {
		return err
	}
	return writeReport(w, r, "struggle", analytics.StruggleOf(q, window))
}

// journeyWindow is the tally a journey report sums: the rollups the query
// selects or, for a segment of users, their journey facts summed the same way.
func (s *Server) journeyWindow(r *http.Request, q so.RollupQuery, traits map[string]string) (*analytics.Tally, error) {
	if len(traits) == 0 {
		return s.stepWindow(r, q)
	}
	return s.segmentWindow(r.Context(), q, traits)
}

// segmentWindow sums the journey facts of a segment of users as the rollups
// would count them.
func (s *Server) segmentWindow(ctx context.Context, q so.RollupQuery, traits map[string]string) (*analytics.Tally, error) {
	t := analytics.NewTally()
	err := s.Analytics.EachFact(ctx, q, traits, func(fs []*so.JourneyFact) error {
		for _, f := range fs {
			t.Replace(nil, f)
		}
		return nil
	})
	return t, err
}

// stepWindow loads the journey and step rows the query selects.
func (s *Server) stepWindow(r *http.Request, q so.RollupQuery) (*analytics.Tally, error) {
	journeys, err := s.Analytics.JourneyRollups(r.Context(), q)
	if err != nil {
		return nil, err
	}
	steps, err := s.Analytics.StepRollups(r.Context(), q)
	if err != nil {
		return nil, err
	}
	return tally(&so.Rollups{Journeys: journeys, Steps: steps})
}

func (s *Server) analyticsROI(w http.ResponseWriter, r *http.Request) error {
	from, to, err := reportWindow(r)
	if err != nil {
		return err
	}
	p, err := s.cachedProject(r)
	if err != nil {
		return err
	}
	counts, err := s.Behaviour.InterventionEffects(r.Context(), projectID(r), from, to)
	if err != nil {
		return err
	}
	return writeReport(w, r, "roi", analytics.ROIOf(so.FormatTime(from), so.FormatTime(to), counts, p.Settings.Analytics))
}

// analyticsInsights answers the insight job's latest findings; before the
// job's first run for the project, it computes them on the spot.
func (s *Server) analyticsInsights(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	var report analytics.InsightReport
	doc, _, err := s.Insights.LatestInsights(r.Context(), projectID(r))
	switch {
	case so.ErrorCode(err) == so.ENOTFOUND:
		if report, err = analytics.ComputeInsights(r.Context(), s.Insights, projectID(r), so.Now()); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(doc, &report); err != nil {
			return fmt.Errorf("stored insights: %w", err)
		}
	}
	return writeReport(w, r, "insights", report)
}
