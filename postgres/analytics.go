package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// LoadFacts implements smartonboard.AnalyticsTx.
func (t *consumerTx) LoadFacts(ctx context.Context, projectID string, journeyIDs []string) (map[string]*so.JourneyFact, error) {
	// By journey alone, as Struggles: the project's own indexes would read
	// every fact it has.
	rows, _ := t.tx.Query(ctx, `SELECT fact FROM journey_facts WHERE journey_id = ANY ($1)`, journeyIDs)
	out := map[string]*so.JourneyFact{}
	var doc string
	_, err := pgx.ForEachRow(rows, []any{&doc}, func() error {
		f, err := so.DecodeFact([]byte(doc))
		if err != nil {
			return err
		}
		if f.ProjectID == projectID {
			out[f.JourneyID] = f
		}
		return nil
	})
	return out, mapError(err, "journey facts")
}

// SaveFacts implements smartonboard.AnalyticsTx.
func (t *consumerTx) SaveFacts(ctx context.Context, facts []*so.JourneyFact) error {
	return saveFacts(ctx, t.tx, facts)
}

func saveFacts(ctx context.Context, tx pgx.Tx, facts []*so.JourneyFact) error {
	b := &pgx.Batch{}
	for _, f := range facts {
		doc, err := so.EncodeFact(f)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO journey_facts (journey_id, project_id, user_id, flow, version, start_hour, status, fact)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (journey_id) DO UPDATE SET fact = excluded.fact,
			start_hour = excluded.start_hour, status = excluded.status`, f.JourneyID, f.ProjectID, f.UserID, f.Flow, f.Version,
			f.StartHour, string(f.Status), string(doc))
	}
	return mapError(tx.SendBatch(ctx, b).Close(), "journey facts")
}

// Struggles implements smartonboard.AnalyticsTx.
func (t *consumerTx) Struggles(ctx context.Context, projectID string, journeyIDs []string) (map[string]map[string][]string, error) {
	// By journey alone: with the project in the WHERE the planner may pick
	// the project's time index and read every detection the project has.
	rows, _ := t.tx.Query(ctx, `SELECT DISTINCT project_id, journey_id, step, rule FROM struggle_detections
		WHERE journey_id = ANY ($1) ORDER BY journey_id, step, rule`, journeyIDs)
	out := map[string]map[string][]string{}
	var project, journey, step, rule string
	_, err := pgx.ForEachRow(rows, []any{&project, &journey, &step, &rule}, func() error {
		if project != projectID {
			return nil // ids are unique; the check keeps tenants apart anyway
		}
		if out[journey] == nil {
			out[journey] = map[string][]string{}
		}
		out[journey][step] = append(out[journey][step], rule)
		return nil
	})
	return out, mapError(err, "struggle detections")
}

// Engagement implements smartonboard.AnalyticsTx.
func (t *consumerTx) Engagement(ctx context.Context, projectID string, journeyIDs []string) (map[string]float64, error) {
	rows, _ := t.tx.Query(ctx, `SELECT journey_id, score FROM journey_engagement WHERE journey_id = ANY ($1) AND project_id = $2`,
		journeyIDs, projectID)
	out := map[string]float64{}
	var journey string
	var score float64
	_, err := pgx.ForEachRow(rows, []any{&journey, &score}, func() error {
		out[journey] = score
		return nil
	})
	return out, mapError(err, "journey engagement")
}

// FirstSeen implements smartonboard.AnalyticsTx.
func (t *consumerTx) FirstSeen(ctx context.Context, projectID string, userIDs []string) (map[string]time.Time, error) {
	rows, _ := t.tx.Query(ctx, `SELECT user_id, first_seen_at FROM end_users WHERE project_id = $1 AND user_id = ANY ($2)`,
		projectID, userIDs)
	out := map[string]time.Time{}
	var user string
	var at time.Time
	_, err := pgx.ForEachRow(rows, []any{&user, &at}, func() error {
		out[user] = at.UTC()
		return nil
	})
	return out, mapError(err, "users")
}

// PruneMinutes implements smartonboard.AnalyticsTx.
func (t *consumerTx) PruneMinutes(ctx context.Context, before time.Time) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM analytics_activity WHERE unit = 'minute' AND start < $1`, before)
	return mapError(err, "analytics")
}

const (
	activityColumns = `project_id, unit, start, events, users, abandoned`
	journeyColumns  = `project_id, hour, flow, version, started, completed, abandoned, complete_seconds, value_seconds`
	stepColumns     = `project_id, hour, flow, version, step, reached, started, completed, skipped, dropped, struggled, seconds,
		engagement, rules`
)

// LoadRollups implements smartonboard.AnalyticsTx: one keyed read per row,
// all in one round trip.
func (t *consumerTx) LoadRollups(ctx context.Context, keys *so.Rollups) (*so.Rollups, error) {
	b := &pgx.Batch{}
	out := &so.Rollups{}
	for _, k := range keys.Activity {
		b.Queue(`SELECT `+activityColumns+` FROM analytics_activity WHERE project_id = $1 AND unit = $2 AND start = $3`,
			k.ProjectID, string(k.Unit), k.Start).Query(func(rows pgx.Rows) error { return scanActivity(rows, &out.Activity) })
	}
	for _, table := range []struct {
		name string
		keys []so.JourneyRollup
		out  *[]so.JourneyRollup
	}{{"analytics_journeys", keys.Journeys, &out.Journeys}, {"analytics_journey_days", keys.JourneyDays, &out.JourneyDays}} {
		for _, k := range table.keys {
			b.Queue(`SELECT `+journeyColumns+` FROM `+table.name+` WHERE project_id = $1 AND hour = $2 AND flow = $3
				AND version = $4`, k.ProjectID, k.Hour, k.Flow, k.Version).Query(func(rows pgx.Rows) error {
				return scanJourneyRollups(rows, table.out)
			})
		}
	}
	for _, k := range keys.Steps {
		b.Queue(`SELECT `+stepColumns+` FROM analytics_steps WHERE project_id = $1 AND hour = $2 AND flow = $3
			AND version = $4 AND step = $5`, k.ProjectID, k.Hour, k.Flow, k.Version, k.Step).Query(func(rows pgx.Rows) error {
			return scanStepRollups(rows, &out.Steps)
		})
	}
	if b.Len() == 0 {
		return out, nil
	}
	return out, mapError(t.tx.SendBatch(ctx, b).Close(), "analytics")
}

// SaveRollups implements smartonboard.AnalyticsTx.
func (t *consumerTx) SaveRollups(ctx context.Context, r *so.Rollups) error {
	return saveRollups(ctx, t.tx, r)
}

func saveRollups(ctx context.Context, tx pgx.Tx, r *so.Rollups) error {
	b := &pgx.Batch{}
	for _, a := range r.Activity {
		if a.Empty() {
			b.Queue(`DELETE FROM analytics_activity WHERE project_id = $1 AND unit = $2 AND start = $3`, a.ProjectID, string(a.Unit), a.Start)
			continue
		}
		b.Queue(`INSERT INTO analytics_activity (`+activityColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (project_id, unit, start) DO UPDATE SET events = excluded.events, users = excluded.users,
			abandoned = excluded.abandoned`, a.ProjectID, string(a.Unit), a.Start, a.Events, a.Users, a.Abandoned)
	}
	for _, table := range []struct {
		name string
		rows []so.JourneyRollup
	}{{"analytics_journeys", r.Journeys}, {"analytics_journey_days", r.JourneyDays}} { // one order: row locks too
		for _, j := range table.rows {
			if j.Empty() {
				b.Queue(`DELETE FROM `+table.name+` WHERE project_id = $1 AND hour = $2 AND flow = $3 AND version = $4`,
					j.ProjectID, j.Hour, j.Flow, j.Version)
				continue
			}
			b.Queue(`INSERT INTO `+table.name+` (`+journeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (project_id, hour, flow, version) DO UPDATE SET started = excluded.started,
				completed = excluded.completed, abandoned = excluded.abandoned, complete_seconds = excluded.complete_seconds,
				value_seconds = excluded.value_seconds`, j.ProjectID, j.Hour, j.Flow, j.Version, j.Started, j.Completed,
				j.Abandoned, j.CompleteSeconds, j.ValueSeconds)
		}
	}
	for _, s := range r.Steps {
		if s.Empty() {
			b.Queue(`DELETE FROM analytics_steps WHERE project_id = $1 AND hour = $2 AND flow = $3 AND version = $4 AND step = $5`,
				s.ProjectID, s.Hour, s.Flow, s.Version, s.Step)
			continue
		}
		b.Queue(`INSERT INTO analytics_steps (`+stepColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (project_id, hour, flow, version, step) DO UPDATE SET reached = excluded.reached,
			started = excluded.started, completed = excluded.completed, skipped = excluded.skipped,
			dropped = excluded.dropped, struggled = excluded.struggled, seconds = excluded.seconds,
			engagement = excluded.engagement, rules = excluded.rules`,
			s.ProjectID, s.Hour, s.Flow, s.Version, s.Step, s.Reached, s.Started, s.Completed, s.Skipped, s.Dropped,
			s.Struggled, s.Seconds, s.Engagement, s.Rules)
	}
	if b.Len() == 0 {
		return nil
	}
	return mapError(tx.SendBatch(ctx, b).Close(), "analytics")
}

// ActivityRollups implements smartonboard.AnalyticsStore.
func (db *DB) ActivityRollups(ctx context.Context, q so.RollupQuery, unit so.RollupUnit) ([]so.ActivityRollup, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+activityColumns+` FROM analytics_activity
		WHERE project_id = $1 AND unit = $2 AND start >= $3 AND start < $4 ORDER BY start`,
		q.ProjectID, string(unit), q.From, q.To)
	out := []so.ActivityRollup{}
	if err != nil {
		return nil, mapError(err, "analytics")
	}
	return out, mapError(scanActivity(rows, &out), "analytics")
}

// ActivityCounts implements smartonboard.AnalyticsStore.
func (db *DB) ActivityCounts(ctx context.Context, q so.RollupQuery, unit so.RollupUnit) ([]so.ActivityRollup, error) {
	rows, err := db.pool.Query(ctx, `SELECT project_id, unit, start, events, NULL::bytea, abandoned FROM analytics_activity
		WHERE project_id = $1 AND unit = $2 AND start >= $3 AND start < $4 ORDER BY start`,
		q.ProjectID, string(unit), q.From, q.To)
	out := []so.ActivityRollup{}
	if err != nil {
		return nil, mapError(err, "analytics")
	}
	return out, mapError(scanActivity(rows, &out), "analytics")
}

// JourneyRollups implements smartonboard.AnalyticsStore.
func (db *DB) JourneyRollups(ctx context.Context, q so.RollupQuery) ([]so.JourneyRollup, error) {
	return db.journeyRows(ctx, journeyColumns, "analytics_journeys", q)
}

// JourneyCounts implements smartonboard.AnalyticsStore.
func (db *DB) JourneyCounts(ctx context.Context, q so.RollupQuery) ([]so.JourneyRollup, error) {
	return db.journeyRows(ctx, journeyCountColumns, "analytics_journeys", q)
}

// JourneyDays implements smartonboard.AnalyticsStore.
func (db *DB) JourneyDays(ctx context.Context, q so.RollupQuery) ([]so.JourneyRollup, error) {
	return db.journeyRows(ctx, journeyColumns, "analytics_journey_days", q)
}

// journeyCountColumns are journeyColumns with the histograms left out.
const journeyCountColumns = `project_id, hour, flow, version, started, completed, abandoned, NULL::bytea, NULL::bytea`

func (db *DB) journeyRows(ctx context.Context, columns, table string, q so.RollupQuery) ([]so.JourneyRollup, error) {
	where, args := rollupWhere(q)
	rows, err := db.pool.Query(ctx, `SELECT `+columns+` FROM `+table+` WHERE `+where+` ORDER BY hour, flow, version`, args...)
	out := []so.JourneyRollup{}
	if err != nil {
		return nil, mapError(err, "analytics")
	}
	return out, mapError(scanJourneyRollups(rows, &out), "analytics")
}

// StepRollups implements smartonboard.AnalyticsStore.
func (db *DB) StepRollups(ctx context.Context, q so.RollupQuery) ([]so.StepRollup, error) {
	where, args := rollupWhere(q)
	rows, err := db.pool.Query(ctx, `SELECT `+stepColumns+` FROM analytics_steps WHERE `+where+
		` ORDER BY hour, flow, version, step`, args...)
	out := []so.StepRollup{}
	if err != nil {
		return nil, mapError(err, "analytics")
	}
	return out, mapError(scanStepRollups(rows, &out), "analytics")
}

// rollupWhere selects rows of the query's project, hours and flow version.
func rollupWhere(q so.RollupQuery) (string, []any) {
	where, args := `project_id = $1 AND hour >= $2 AND hour < $3`, []any{q.ProjectID, q.From, q.To}
	if q.Flow != "" {
		args = append(args, q.Flow)
		where += ` AND flow = $` + strconv.Itoa(len(args))
	}
	if q.Version != 0 {
		args = append(args, q.Version)
		where += ` AND version = $` + strconv.Itoa(len(args))
	}
	return where, args
}

func scanActivity(rows pgx.Rows, out *[]so.ActivityRollup) error {
	var a so.ActivityRollup
	var unit string
	_, err := pgx.ForEachRow(rows, []any{&a.ProjectID, &unit, &a.Start, &a.Events, &a.Users, &a.Abandoned}, func() error {
		a.Unit, a.Start = so.RollupUnit(unit), a.Start.UTC()
		*out = append(*out, a)
		a.Users = nil // the next scan must not share the slice
		return nil
	})
	return err
}

func scanJourneyRollups(rows pgx.Rows, out *[]so.JourneyRollup) error {
	var j so.JourneyRollup
	_, err := pgx.ForEachRow(rows, []any{&j.ProjectID, &j.Hour, &j.Flow, &j.Version, &j.Started, &j.Completed,
		&j.Abandoned, &j.CompleteSeconds, &j.ValueSeconds}, func() error {
		j.Hour = j.Hour.UTC()
		*out = append(*out, j)
		j.CompleteSeconds, j.ValueSeconds = nil, nil
		return nil
	})
	return err
}

func scanStepRollups(rows pgx.Rows, out *[]so.StepRollup) error {
	var s so.StepRollup
	_, err := pgx.ForEachRow(rows, []any{&s.ProjectID, &s.Hour, &s.Flow, &s.Version, &s.Step, &s.Reached, &s.Started,
		&s.Completed, &s.Skipped, &s.Dropped, &s.Struggled, &s.Seconds, &s.Engagement, &s.Rules}, func() error {
		s.Hour = s.Hour.UTC()
		*out = append(*out, s)
		s.Seconds, s.Engagement, s.Rules = nil, nil, nil
		return nil
	})
	return err
}

// rebuildChunk is how many journeys or events a rebuild reads at a time.
const rebuildChunk = 1000

// rebuildTx holds the analytics cursor's row lock, so the consumer waits
// for it; ingestion goes on.
type rebuildTx struct {
	*consumerTx
	upTo so.Cursor // the analytics cursor
}

// RebuildAnalytics implements smartonboard.AnalyticsRebuilder.
func (db *DB) RebuildAnalytics(ctx context.Context, fn func(context.Context, so.RebuildTx) error) error {
	return db.holdingAnalytics(ctx, func(tx *consumerTx, upTo so.Cursor) error {
		return fn(ctx, rebuildTx{consumerTx: tx, upTo: upTo})
	})
}

// holdingAnalytics runs fn in a transaction that holds the analytics
// cursor's row lock, so the consumer waits for it (ingestion goes on), with
// that cursor.
func (db *DB) holdingAnalytics(ctx context.Context, fn func(tx *consumerTx, upTo so.Cursor) error) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		c, err := cursorOf(ctx, tx, "analytics", "FOR UPDATE")
		if err != nil {
			return err
		}
		if err := fn(&consumerTx{tx: tx, db: db}, c); err != nil {
			return callerError{err}
		}
		return nil
	})
	return unwrapCaller(err, "analytics")
}

// ClearAnalytics implements smartonboard.RebuildTx.
func (t rebuildTx) ClearAnalytics(ctx context.Context, from time.Time) error {
	for _, stmt := range []string{`DELETE FROM analytics_activity WHERE start >= $1`, `DELETE FROM analytics_journeys WHERE hour >= $1`,
		`DELETE FROM analytics_journey_days WHERE hour >= $1`, `DELETE FROM analytics_steps WHERE hour >= $1`, `DELETE FROM journey_facts WHERE start_hour >= $1`} {
		if _, err := t.tx.Exec(ctx, stmt, from); err != nil {
			return mapError(err, "analytics")
		}
	}
	return nil
}

// EachJourney implements smartonboard.RebuildTx, by id.
func (t rebuildTx) EachJourney(ctx context.Context, fn func([]*so.Journey) error) error {
	for after := ""; ; {
		rows, _ := t.tx.Query(ctx, `SELECT state FROM journeys WHERE id > $1 ORDER BY id LIMIT $2`, after, rebuildChunk)
		js, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Journey, error) { return scanJourney(row) })
		if err != nil || len(js) == 0 {
			return mapError(err, "journeys")
		}
		if err := fn(js); err != nil {
			return err
		}
		after = js[len(js)-1].ID
	}
}

// EachEvent implements smartonboard.RebuildTx.
func (t rebuildTx) EachEvent(ctx context.Context, fn func([]*so.Event) error) error {
	for after := (so.Cursor{}); ; {
		events, at, err := readLog(ctx, t.tx, after, t.upTo, rebuildChunk)
		if err != nil || len(events) == 0 {
			return err
		}
		if err := fn(events); err != nil {
			return err
		}
		after = at[len(at)-1]
	}
}

// SegmentCounts implements smartonboard.InsightStore.
func (db *DB) SegmentCounts(ctx context.Context, projectID string, from, to time.Time, traits []string) ([]so.SegmentCount, error) {
	out := []so.SegmentCount{}
	for _, trait := range traits {
		rows, _ := db.pool.Query(ctx, `SELECT f.flow, u.traits::jsonb ->> $1 AS v, count(*),
			count(*) FILTER (WHERE f.status = 'completed') FROM journey_facts f
			JOIN end_users u ON u.project_id = f.project_id AND u.user_id = f.user_id
			WHERE f.project_id = $2 AND f.start_hour >= $3 AND f.start_hour < $4 AND jsonb_typeof(u.traits::jsonb -> $1) = 'string'
			GROUP BY f.flow, v ORDER BY f.flow, (u.traits::jsonb ->> $1) COLLATE "C"`, trait, projectID, from, to)
		c := so.SegmentCount{Trait: trait}
		_, err := pgx.ForEachRow(rows, []any{&c.Flow, &c.Value, &c.Started, &c.Completed}, func() error {
			out = append(out, c)
			return nil
		})
		if err != nil {
			return nil, mapError(err, "segments")
		}
	}
	return out, nil
}

// SaveInsights implements smartonboard.InsightStore.
func (db *DB) SaveInsights(ctx context.Context, projectID string, at time.Time, doc []byte) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO insights (project_id, computed_at, doc) VALUES ($1, $2, $3)
		ON CONFLICT (project_id) DO UPDATE SET computed_at = excluded.computed_at, doc = excluded.doc`, projectID, at, string(doc))
	return mapError(err, "insights")
}

// LatestInsights implements smartonboard.InsightStore.
func (db *DB) LatestInsights(ctx context.Context, projectID string) ([]byte, time.Time, error) {
	var doc string
	var at time.Time
	err := db.pool.QueryRow(ctx, `SELECT doc, computed_at FROM insights WHERE project_id = $1`, projectID).Scan(&doc, &at)
	if err != nil {
		return nil, time.Time{}, notFound(err, so.NotFound("insights", projectID), "insights")
	}
	return []byte(doc), at.UTC(), nil
}

// EachFact implements smartonboard.AnalyticsStore, by journey id.
func (db *DB) EachFact(ctx context.Context, q so.RollupQuery, traits map[string]string, fn func([]*so.JourneyFact) error) error {
	where := `f.project_id = $1 AND f.start_hour >= $2 AND f.start_hour < $3`
	args := []any{q.ProjectID, q.From, q.To}
	if q.Flow != "" {
		args = append(args, q.Flow)
		where += ` AND f.flow = $` + strconv.Itoa(len(args))
	}
	if q.Version != 0 {
		args = append(args, q.Version)
		where += ` AND f.version = $` + strconv.Itoa(len(args))
	}
	for _, name := range slices.Sorted(maps.Keys(traits)) {
		args = append(args, name, traits[name])
		n := len(args)
		where += fmt.Sprintf(` AND jsonb_typeof(u.traits::jsonb -> $%d) = 'string' AND u.traits::jsonb ->> $%d = $%d`, n-1, n-1, n)
	}
	for after := ""; ; {
		n := len(args)
		rows, _ := db.pool.Query(ctx, `SELECT f.journey_id, f.fact FROM journey_facts f
			JOIN end_users u ON u.project_id = f.project_id AND u.user_id = f.user_id
			WHERE `+where+fmt.Sprintf(` AND f.journey_id > $%d ORDER BY f.journey_id LIMIT $%d`, n+1, n+2),
			append(args, after, rebuildChunk)...)
		var chunk []*so.JourneyFact
		var id, doc string
		_, err := pgx.ForEachRow(rows, []any{&id, &doc}, func() error {
			f, err := so.DecodeFact([]byte(doc))
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			chunk, after = append(chunk, f), id
			return nil
		})
		if err != nil {
			return mapError(err, "journey facts")
		}
		if len(chunk) == 0 {
			return nil
		}
		if err := fn(chunk); err != nil {
			return err
		}
	}
}
