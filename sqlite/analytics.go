package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// LoadFacts implements smartonboard.AnalyticsTx.
func (t consumerTx) LoadFacts(ctx context.Context, projectID string, journeyIDs []string) (map[string]*so.JourneyFact, error) {
	out := map[string]*so.JourneyFact{}
	err := inChunks(journeyIDs, func(in string, ids []any) error {
		// By journey alone: with the project in the WHERE, SQLite reads every
		// fact of the project through its user index once the list is long.
		rows, err := t.tx.QueryContext(ctx, factsQuery(in), ids...)
		return eachFact(rows, err, func(f *so.JourneyFact) {
			if f.ProjectID == projectID {
				out[f.JourneyID] = f
			}
		})
	})
	return out, err
}

// eachFact decodes the fact column of every row and calls fn with each; a
// fact that does not decode is the error.
func eachFact(rows *sql.Rows, err error, fn func(*so.JourneyFact)) error {
	if err != nil {
		return mapError(err)
	}
	var doc string
	var bad error
	err = eachRow(rows, []any{&doc}, func() {
		f, err := so.DecodeFact([]byte(doc))
		if err != nil {
			bad = cmp.Or(bad, err)
			return
		}
		fn(f)
	})
	return cmp.Or(err, bad)
}

// factsQuery reads the facts of the journeys whose ids fill the IN list.
func factsQuery(in string) string {
	return `SELECT fact FROM journey_facts WHERE journey_id IN (` + in + `)`
}

// strugglesQuery reads the rules detected on the journeys whose ids fill the IN list.
func strugglesQuery(in string) string {
	return `SELECT DISTINCT project_id, journey_id, step, rule FROM struggle_detections
		WHERE journey_id IN (` + in + `) ORDER BY journey_id, step, rule`
}

// SaveFacts implements smartonboard.AnalyticsTx.
func (t consumerTx) SaveFacts(ctx context.Context, facts []*so.JourneyFact) error {
	return saveFacts(ctx, t.tx, facts)
}

// factsPerInsert is how many facts one INSERT writes: one statement per
// fact cost most of the consumer's writes on journey traffic.
const factsPerInsert = 100

func saveFacts(ctx context.Context, tx *stmtTx, facts []*so.JourneyFact) error {
	for start := 0; start < len(facts); start += factsPerInsert {
		chunk := facts[start:min(start+factsPerInsert, len(facts))]
		args := make([]any, 0, 8*len(chunk))
		for _, f := range chunk {
			doc, err := so.EncodeFact(f)
			if err != nil {
				return err
			}
			args = append(args, f.JourneyID, f.ProjectID, f.UserID, f.Flow, f.Version, f.StartHour.UnixMilli(), string(f.Status), string(doc))
		}
		values := strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk))
		if _, err := tx.ExecContext(ctx, `INSERT INTO journey_facts (journey_id, project_id, user_id, flow, version,
			start_hour, status, fact) VALUES `+values[:len(values)-2]+` ON CONFLICT (journey_id) DO UPDATE SET fact = excluded.fact,
			start_hour = excluded.start_hour, status = excluded.status`, args...); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// Struggles implements smartonboard.AnalyticsTx.
func (t consumerTx) Struggles(ctx context.Context, projectID string, journeyIDs []string) (map[string]map[string][]string, error) {
	out := map[string]map[string][]string{}
	err := inChunks(journeyIDs, func(in string, ids []any) error {
		// By journey alone: with the project in the WHERE the planner picks
		// the project's time index and reads every detection the project has.
		rows, err := t.tx.QueryContext(ctx, strugglesQuery(in), ids...)
		if err != nil {
			return mapError(err)
		}
		var project, journey, step, rule string
		return eachRow(rows, []any{&project, &journey, &step, &rule}, func() {
			if project == projectID { // ids are unique; the check keeps tenants apart anyway
				addStruggle(out, journey, step, rule)
			}
		})
	})
	return out, err
}

// addStruggle files one detected rule under its journey and step.
func addStruggle(out map[string]map[string][]string, journey, step, rule string) {
	if out[journey] == nil {
		out[journey] = map[string][]string{}
	}
	out[journey][step] = append(out[journey][step], rule)
}

// Engagement implements smartonboard.AnalyticsTx.
func (t consumerTx) Engagement(ctx context.Context, projectID string, journeyIDs []string) (map[string]float64, error) {
	out := map[string]float64{}
	err := inChunks(journeyIDs, func(in string, ids []any) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT journey_id, score FROM journey_engagement
			WHERE journey_id IN (`+in+`) AND project_id = ?`, append(ids, projectID)...)
		if err != nil {
			return mapError(err)
		}
		var journey string
		var score float64
		return eachRow(rows, []any{&journey, &score}, func() { out[journey] = score })
	})
	return out, err
}

// FirstSeen implements smartonboard.AnalyticsTx.
func (t consumerTx) FirstSeen(ctx context.Context, projectID string, userIDs []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := inChunks(userIDs, func(in string, ids []any) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT user_id, first_seen_at FROM end_users
			WHERE project_id = ? AND user_id IN (`+in+`)`, append([]any{projectID}, ids...)...)
		if err != nil {
			return mapError(err)
		}
		var user string
		var ms int64
		return eachRow(rows, []any{&user, &ms}, func() { out[user] = time.UnixMilli(ms).UTC() })
	})
	return out, err
}

// PruneMinutes implements smartonboard.AnalyticsTx.
func (t consumerTx) PruneMinutes(ctx context.Context, before time.Time) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM analytics_activity WHERE unit = 'minute' AND start < ?`, before.UnixMilli())
	return mapError(err)
}

const (
	activityColumns = `project_id, unit, start, events, users, abandoned`
	journeyColumns  = `project_id, hour, flow, version, started, completed, abandoned, complete_seconds, value_seconds`
	stepColumns     = `project_id, hour, flow, version, step, reached, started, completed, skipped, dropped, struggled, seconds,
		engagement, rules`
)

// LoadRollups implements smartonboard.AnalyticsTx, one keyed read per row.
func (t consumerTx) LoadRollups(ctx context.Context, keys *so.Rollups) (*so.Rollups, error) {
	out := &so.Rollups{}
	for _, k := range keys.Activity {
		rows, err := t.tx.QueryContext(ctx, `SELECT `+activityColumns+` FROM analytics_activity
			WHERE project_id = ? AND unit = ? AND start = ?`, k.ProjectID, string(k.Unit), k.Start.UnixMilli())
		if err := scanActivity(rows, err, &out.Activity); err != nil {
			return nil, err
		}
	}
	for _, table := range []struct {
		name string
		keys []so.JourneyRollup
		out  *[]so.JourneyRollup
	}{{"analytics_journeys", keys.Journeys, &out.Journeys}, {"analytics_journey_days", keys.JourneyDays, &out.JourneyDays}} {
		for _, k := range table.keys {
			rows, err := t.tx.QueryContext(ctx, `SELECT `+journeyColumns+` FROM `+table.name+`
				WHERE project_id = ? AND hour = ? AND flow = ? AND version = ?`, k.ProjectID, k.Hour.UnixMilli(), k.Flow, k.Version)
			if err := scanJourneyRollups(rows, err, table.out); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range keys.Steps {
		rows, err := t.tx.QueryContext(ctx, `SELECT `+stepColumns+` FROM analytics_steps
			WHERE project_id = ? AND hour = ? AND flow = ? AND version = ? AND step = ?`,
			k.ProjectID, k.Hour.UnixMilli(), k.Flow, k.Version, k.Step)
		if err := scanStepRollups(rows, err, &out.Steps); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SaveRollups implements smartonboard.AnalyticsTx.
func (t consumerTx) SaveRollups(ctx context.Context, r *so.Rollups) error {
	return saveRollups(ctx, t.tx, r)
}

func saveRollups(ctx context.Context, tx *stmtTx, r *so.Rollups) error {
	for _, a := range r.Activity {
		if a.Empty() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM analytics_activity WHERE project_id = ? AND unit = ? AND start = ?`,
				a.ProjectID, string(a.Unit), a.Start.UnixMilli()); err != nil {
				return mapError(err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_activity (`+activityColumns+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, unit, start) DO UPDATE SET events = excluded.events, users = excluded.users,
			abandoned = excluded.abandoned`, a.ProjectID, string(a.Unit), a.Start.UnixMilli(), a.Events, a.Users, a.Abandoned); err != nil {
			return mapError(err)
		}
	}
	for _, table := range []struct {
		name string
		rows []so.JourneyRollup
	}{{"analytics_journeys", r.Journeys}, {"analytics_journey_days", r.JourneyDays}} {
		for _, j := range table.rows {
			if j.Empty() {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table.name+` WHERE project_id = ? AND hour = ? AND flow = ? AND version = ?`,
					j.ProjectID, j.Hour.UnixMilli(), j.Flow, j.Version); err != nil {
					return mapError(err)
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+table.name+` (`+journeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, hour, flow, version) DO UPDATE SET started = excluded.started,
			completed = excluded.completed, abandoned = excluded.abandoned, complete_seconds = excluded.complete_seconds,
			value_seconds = excluded.value_seconds`, j.ProjectID, j.Hour.UnixMilli(), j.Flow, j.Version, j.Started,
				j.Completed, j.Abandoned, j.CompleteSeconds, j.ValueSeconds); err != nil {
				return mapError(err)
			}
		}
	}
	for _, s := range r.Steps {
		if s.Empty() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM analytics_steps WHERE project_id = ? AND hour = ? AND flow = ? AND version = ? AND step = ?`,
				s.ProjectID, s.Hour.UnixMilli(), s.Flow, s.Version, s.Step); err != nil {
				return mapError(err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_steps (`+stepColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, hour, flow, version, step) DO UPDATE SET reached = excluded.reached,
			started = excluded.started, completed = excluded.completed, skipped = excluded.skipped,
			dropped = excluded.dropped, struggled = excluded.struggled, seconds = excluded.seconds,
			engagement = excluded.engagement, rules = excluded.rules`,
			s.ProjectID, s.Hour.UnixMilli(), s.Flow, s.Version, s.Step, s.Reached, s.Started, s.Completed, s.Skipped,
			s.Dropped, s.Struggled, s.Seconds, s.Engagement, s.Rules); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// ActivityRollups implements smartonboard.AnalyticsStore.
func (db *DB) ActivityRollups(ctx context.Context, q so.RollupQuery, unit so.RollupUnit) ([]so.ActivityRollup, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+activityColumns+` FROM analytics_activity
		WHERE project_id = ? AND unit = ? AND start >= ? AND start < ? ORDER BY start`,
		q.ProjectID, string(unit), q.From.UnixMilli(), q.To.UnixMilli())
	out := []so.ActivityRollup{}
	return out, scanActivity(rows, err, &out)
}

// ActivityCounts implements smartonboard.AnalyticsStore.
func (db *DB) ActivityCounts(ctx context.Context, q so.RollupQuery, unit so.RollupUnit) ([]so.ActivityRollup, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT project_id, unit, start, events, NULL, abandoned FROM analytics_activity
		WHERE project_id = ? AND unit = ? AND start >= ? AND start < ? ORDER BY start`,
		q.ProjectID, string(unit), q.From.UnixMilli(), q.To.UnixMilli())
	out := []so.ActivityRollup{}
	return out, scanActivity(rows, err, &out)
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
const journeyCountColumns = `project_id, hour, flow, version, started, completed, abandoned, NULL, NULL`

func (db *DB) journeyRows(ctx context.Context, columns, table string, q so.RollupQuery) ([]so.JourneyRollup, error) {
	where, args := rollupWhere(q)
	rows, err := db.reader.QueryContext(ctx, `SELECT `+columns+` FROM `+table+` WHERE `+where+` ORDER BY hour, flow, version`, args...)
	out := []so.JourneyRollup{}
	return out, scanJourneyRollups(rows, err, &out)
}

// StepRollups implements smartonboard.AnalyticsStore.
func (db *DB) StepRollups(ctx context.Context, q so.RollupQuery) ([]so.StepRollup, error) {
	where, args := rollupWhere(q)
	rows, err := db.reader.QueryContext(ctx, `SELECT `+stepColumns+` FROM analytics_steps WHERE `+where+
		` ORDER BY hour, flow, version, step`, args...)
	out := []so.StepRollup{}
	return out, scanStepRollups(rows, err, &out)
}

// rollupWhere selects rows of the query's project, hours and flow version.
func rollupWhere(q so.RollupQuery) (string, []any) {
	where, args := `project_id = ? AND hour >= ? AND hour < ?`, []any{q.ProjectID, q.From.UnixMilli(), q.To.UnixMilli()}
	if q.Flow != "" {
		where, args = where+` AND flow = ?`, append(args, q.Flow)
	}
	if q.Version != 0 {
		where, args = where+` AND version = ?`, append(args, q.Version)
	}
	return where, args
}

func scanActivity(rows *sql.Rows, err error, out *[]so.ActivityRollup) error {
	if err != nil {
		return mapError(err)
	}
	var a so.ActivityRollup
	var unit string
	var start int64
	return eachRow(rows, []any{&a.ProjectID, &unit, &start, &a.Events, &a.Users, &a.Abandoned}, func() {
		a.Unit, a.Start = so.RollupUnit(unit), time.UnixMilli(start).UTC()
		*out = append(*out, a)
		a.Users = nil // the next scan must not share the slice
	})
}

func scanJourneyRollups(rows *sql.Rows, err error, out *[]so.JourneyRollup) error {
	if err != nil {
		return mapError(err)
	}
	var j so.JourneyRollup
	var hour int64
	return eachRow(rows, []any{&j.ProjectID, &hour, &j.Flow, &j.Version, &j.Started, &j.Completed, &j.Abandoned,
		&j.CompleteSeconds, &j.ValueSeconds}, func() {
		j.Hour = time.UnixMilli(hour).UTC()
		*out = append(*out, j)
		j.CompleteSeconds, j.ValueSeconds = nil, nil
	})
}

func scanStepRollups(rows *sql.Rows, err error, out *[]so.StepRollup) error {
	if err != nil {
		return mapError(err)
	}
	var s so.StepRollup
	var hour int64
	return eachRow(rows, []any{&s.ProjectID, &hour, &s.Flow, &s.Version, &s.Step, &s.Reached, &s.Started, &s.Completed,
		&s.Skipped, &s.Dropped, &s.Struggled, &s.Seconds, &s.Engagement, &s.Rules}, func() {
		s.Hour = time.UnixMilli(hour).UTC()
		*out = append(*out, s)
		s.Seconds, s.Engagement, s.Rules = nil, nil, nil
	})
}

// rebuildChunk is how many journeys or events a rebuild reads at a time.
const rebuildChunk = 1000

// rebuildTx is a write transaction: on SQLite it holds the single writer, so
// neither the consumer nor ingestion moves while it runs.
type rebuildTx struct {
	consumerTx
	upTo int64 // the analytics cursor
}

// RebuildAnalytics implements smartonboard.AnalyticsRebuilder.
func (db *DB) RebuildAnalytics(ctx context.Context, fn func(context.Context, so.RebuildTx) error) error {
	return db.holdingAnalytics(ctx, func(tx consumerTx, upTo int64) error {
		return fn(ctx, rebuildTx{consumerTx: tx, upTo: upTo})
	})
}

// holdingAnalytics runs fn in a write transaction (SQLite's one writer, so
// the analytics consumer waits for it) with the analytics cursor.
func (db *DB) holdingAnalytics(ctx context.Context, fn func(tx consumerTx, upTo int64) error) error {
	return db.inTx(ctx, func(tx *stmtTx) error {
		c, err := cursorOf(ctx, tx, "analytics")
		if err != nil {
			return err
		}
		return fn(consumerTx{tx: tx, db: db}, c.Seq)
	})
}

// ClearAnalytics implements smartonboard.RebuildTx.
func (t rebuildTx) ClearAnalytics(ctx context.Context, from time.Time) error {
	ms := from.UnixMilli()
	for _, stmt := range []string{`DELETE FROM analytics_activity WHERE start >= ?`, `DELETE FROM analytics_journeys WHERE hour >= ?`,
		`DELETE FROM analytics_journey_days WHERE hour >= ?`,
		`DELETE FROM analytics_steps WHERE hour >= ?`, `DELETE FROM journey_facts WHERE start_hour >= ?`} {
		if _, err := t.tx.ExecContext(ctx, stmt, ms); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// EachJourney implements smartonboard.RebuildTx, by id.
func (t rebuildTx) EachJourney(ctx context.Context, fn func([]*so.Journey) error) error {
	for after := ""; ; {
		rows, err := t.tx.QueryContext(ctx, `SELECT state FROM journeys WHERE id > ? ORDER BY id LIMIT ?`, after, rebuildChunk)
		if err != nil {
			return mapError(err)
		}
		js, err := scanJourneys(rows)
		if err != nil || len(js) == 0 {
			return err
		}
		if err := fn(js); err != nil {
			return err
		}
		after = js[len(js)-1].ID
	}
}

// EachEvent implements smartonboard.RebuildTx.
func (t rebuildTx) EachEvent(ctx context.Context, fn func([]*so.Event) error) error {
	for after := int64(0); ; {
		events, last, err := readLog(ctx, t.tx, after, t.upTo, rebuildChunk)
		if err != nil || len(events) == 0 {
			return err
		}
		if err := fn(events); err != nil {
			return err
		}
		after = last
	}
}

// SegmentCounts implements smartonboard.InsightStore; trait names are
// letters, digits, _ and - (settings validate them), so they quote safely
// into a JSON path.
func (db *DB) SegmentCounts(ctx context.Context, projectID string, from, to time.Time, traits []string) ([]so.SegmentCount, error) {
	out := []so.SegmentCount{}
	for _, trait := range traits {
		path := `$."` + trait + `"`
		rows, err := db.reader.QueryContext(ctx, `SELECT f.flow, json_extract(u.traits, ?1) AS v, count(*),
			sum(f.status = 'completed') FROM journey_facts f JOIN end_users u ON u.project_id = f.project_id AND u.user_id = f.user_id
			WHERE f.project_id = ?2 AND f.start_hour >= ?3 AND f.start_hour < ?4 AND json_type(u.traits, ?1) = 'text'
			GROUP BY f.flow, v ORDER BY f.flow, v`, path, projectID, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return nil, mapError(err)
		}
		c := so.SegmentCount{Trait: trait}
		if err := eachRow(rows, []any{&c.Flow, &c.Value, &c.Started, &c.Completed}, func() { out = append(out, c) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SaveInsights implements smartonboard.InsightStore.
func (db *DB) SaveInsights(ctx context.Context, projectID string, at time.Time, doc []byte) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO insights (project_id, computed_at, doc) VALUES (?, ?, ?)
		ON CONFLICT (project_id) DO UPDATE SET computed_at = excluded.computed_at, doc = excluded.doc`,
		projectID, at.UnixMilli(), string(doc))
	return mapError(err)
}

// LatestInsights implements smartonboard.InsightStore.
func (db *DB) LatestInsights(ctx context.Context, projectID string) ([]byte, time.Time, error) {
	var doc string
	var at int64
	err := db.reader.QueryRowContext(ctx, `SELECT doc, computed_at FROM insights WHERE project_id = ?`, projectID).Scan(&doc, &at)
	if err != nil {
		return nil, time.Time{}, notFound(err, so.NotFound("insights", projectID))
	}
	return []byte(doc), fromMillis(at), nil
}

// EachFact implements smartonboard.AnalyticsStore, by journey id. Trait
// names are letters, digits, _ and - (the API checks), so they quote safely
// into a JSON path.
func (db *DB) EachFact(ctx context.Context, q so.RollupQuery, traits map[string]string, fn func([]*so.JourneyFact) error) error {
	where := `f.project_id = ? AND f.start_hour >= ? AND f.start_hour < ?`
	args := []any{q.ProjectID, q.From.UnixMilli(), q.To.UnixMilli()}
	if q.Flow != "" {
		where, args = where+` AND f.flow = ?`, append(args, q.Flow)
	}
	if q.Version != 0 {
		where, args = where+` AND f.version = ?`, append(args, q.Version)
	}
	for _, name := range slices.Sorted(maps.Keys(traits)) {
		path := `$."` + name + `"`
		where += ` AND json_type(u.traits, ?) = 'text' AND json_extract(u.traits, ?) = ?`
		args = append(args, path, path, traits[name])
	}
	for after := ""; ; {
		rows, err := db.reader.QueryContext(ctx, `SELECT f.journey_id, f.fact FROM journey_facts f
			JOIN end_users u ON u.project_id = f.project_id AND u.user_id = f.user_id
			WHERE `+where+` AND f.journey_id > ? ORDER BY f.journey_id LIMIT ?`, append(args, after, rebuildChunk)...)
		if err != nil {
			return mapError(err)
		}
		var chunk []*so.JourneyFact
		var id, doc string
		var bad error
		if err := eachRow(rows, []any{&id, &doc}, func() {
			f, err := so.DecodeFact([]byte(doc))
			if err != nil {
				bad = fmt.Errorf("%s: %w", id, err)
				f = &so.JourneyFact{}
			}
			chunk, after = append(chunk, f), id
		}); err != nil || bad != nil {
			return cmp.Or(err, bad)
		}
		if len(chunk) == 0 {
			return nil
		}
		if err := fn(chunk); err != nil {
			return err
		}
	}
}
