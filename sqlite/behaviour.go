package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// queryer is what both a transaction and a pool offer, so one function serves
// the consumer's transaction and the API's own.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// consumerTx is the smartonboard.ConsumerTx of one Consume call.
type consumerTx struct {
	tx        *stmtTx
	db        *DB
	continued bool
}

// Continued implements smartonboard.ConsumerTx.
func (t consumerTx) Continued() bool { return t.continued }

// Journeys implements smartonboard.ConsumerTx.
func (t consumerTx) Journeys(ctx context.Context, projectID string, userIDs []string) (map[string][]*so.Journey, error) {
	js, err := selectJourneys(ctx, t.tx, projectID, userIDs)
	if err != nil {
		return nil, err
	}
	out := map[string][]*so.Journey{}
	for _, j := range js {
		out[j.UserID] = append(out[j.UserID], j)
	}
	return out, nil
}

// LoadBehaviour implements smartonboard.ConsumerTx.
func (t consumerTx) LoadBehaviour(ctx context.Context, projectID string, userIDs []string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	err := inChunks(userIDs, func(in string, ids []any) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT user_id, state FROM behaviour_states
			WHERE project_id = ? AND user_id IN (`+in+`)`, append([]any{projectID}, ids...)...)
		if err != nil {
			return mapError(err)
		}
		var user, state string
		return eachRow(rows, []any{&user, &state}, func() { out[user] = json.RawMessage(state) })
	})
	return out, err
}

// SaveBehaviour implements smartonboard.ConsumerTx.
func (t consumerTx) SaveBehaviour(ctx context.Context, states []so.UserBehaviour) error {
	now := so.Now().UnixMilli()
	for _, s := range states {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO behaviour_states (project_id, user_id, state, updated_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (project_id, user_id) DO UPDATE SET state = excluded.state,
			updated_at = excluded.updated_at`, s.ProjectID, s.UserID, string(s.State), now); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// InsertDetections implements smartonboard.ConsumerTx.
func (t consumerTx) InsertDetections(ctx context.Context, ds []*so.Detection) ([]bool, error) {
	fresh := make([]bool, len(ds))
	for i, d := range ds {
		evidence, err := json.Marshal(d.Evidence)
		if err != nil {
			return nil, err
		}
		res, err := t.tx.ExecContext(ctx, `INSERT INTO struggle_detections (id, project_id, user_id, journey_id, flow,
			step, session_id, rule, evidence, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			d.ID, d.ProjectID, d.UserID, d.JourneyID, d.Flow, d.Step, d.SessionID, string(d.Rule), string(evidence), d.DetectedAt.UnixMilli())
		if err != nil {
			return nil, mapError(err)
		}
		n, _ := res.RowsAffected()
		fresh[i] = n == 1
	}
	return fresh, nil
}

const interventionColumns = `id, project_id, user_id, journey_id, flow, step, session_id, kind, trigger_source, rule,
	predictor, score, detection_id, held_out, content_id, title, body, actions, triggered_at, shown_at, accepted_at,
	dismissed_at, feedback, step_completed_at`

// InsertInterventions implements smartonboard.ConsumerTx.
func (t consumerTx) InsertInterventions(ctx context.Context, is []*so.Intervention) ([]bool, error) {
	fresh := make([]bool, len(is))
	for k, i := range is {
		actions, err := json.Marshal(orNoActions(i.Actions))
		if err != nil {
			return nil, err
		}
		res, err := t.tx.ExecContext(ctx, `INSERT INTO interventions (`+interventionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			i.ID, i.ProjectID, i.UserID, i.JourneyID, i.Flow, i.Step, i.SessionID, string(i.Kind), i.Trigger, string(i.Rule),
			i.Predictor, i.Score, i.DetectionID, i.HeldOut, i.ContentID, i.Title, i.Body, string(actions),
			i.TriggeredAt.UnixMilli(), optionalMillis(i.ShownAt), optionalMillis(i.AcceptedAt), optionalMillis(i.DismissedAt),
			string(i.Feedback), optionalMillis(i.StepCompletedAt))
		if err != nil {
			return nil, mapError(err)
		}
		n, _ := res.RowsAffected()
		fresh[k] = n == 1
	}
	return fresh, nil
}

func orNoActions(a []so.Action) []so.Action {
	if a == nil {
		return []so.Action{}
	}
	return a
}

// RecordOutcome implements smartonboard.ConsumerTx.
func (t consumerTx) RecordOutcome(ctx context.Context, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error) {
	return recordOutcome(ctx, t.tx, projectID, userID, id, o, at)
}

// RecordOutcome implements smartonboard.BehaviourStore.
func (db *DB) RecordOutcome(ctx context.Context, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error) {
	var out *so.Intervention
	err := db.inTx(ctx, func(tx *stmtTx) (err error) {
		out, err = recordOutcome(ctx, tx, projectID, userID, id, o, at)
		return err
	})
	return out, err
}

// outcomeSet is the assignment each outcome makes: the first time of each
// outcome is kept, and any answer means the intervention was shown.
var outcomeSet = map[so.InterventionOutcome]string{
	so.OutcomeShown:      `shown_at = coalesce(shown_at, ?1)`,
	so.OutcomeAccepted:   `shown_at = coalesce(shown_at, ?1), accepted_at = coalesce(accepted_at, ?1)`,
	so.OutcomeDismissed:  `shown_at = coalesce(shown_at, ?1), dismissed_at = coalesce(dismissed_at, ?1)`,
	so.OutcomeHelpful:    `shown_at = coalesce(shown_at, ?1), feedback = ?2`,
	so.OutcomeNotHelpful: `shown_at = coalesce(shown_at, ?1), feedback = ?2`,
}

func recordOutcome(ctx context.Context, q queryer, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error) {
	set, ok := outcomeSet[o]
	if !ok {
		return nil, fmt.Errorf("sqlite: unknown outcome %q", o)
	}
	res, err := q.ExecContext(ctx, `UPDATE interventions SET `+set+`
		WHERE id = ?3 AND project_id = ?4 AND user_id = ?5 AND NOT held_out`, at.UnixMilli(), string(o), id, projectID, userID)
	if err := affectedOne(res, err, ""); err != nil {
		if so.ErrorCode(err) == so.ENOTFOUND {
			return nil, so.InterventionNotFound(id)
		}
		return nil, err
	}
	return findIntervention(ctx, q, projectID, id)
}

// StepCompleted implements smartonboard.ConsumerTx.
func (t consumerTx) StepCompleted(ctx context.Context, projectID, userID, flow, step string, at time.Time, window time.Duration) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE interventions SET step_completed_at = ?
		WHERE project_id = ? AND user_id = ? AND flow = ? AND step = ? AND step_completed_at IS NULL
		AND triggered_at <= ? AND triggered_at >= ?`, at.UnixMilli(), projectID, userID, flow, step,
		at.UnixMilli(), at.Add(-window).UnixMilli())
	return mapError(err)
}

// SaveEngagement implements smartonboard.ConsumerTx.
func (t consumerTx) SaveEngagement(ctx context.Context, points []so.EngagementPoint) error {
	for _, p := range points {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO engagement_points (journey_id, minute, project_id, score, level,
			session_id, session_score) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (journey_id, minute) DO UPDATE SET
			score = excluded.score, level = excluded.level, session_id = excluded.session_id,
			session_score = excluded.session_score`, p.JourneyID, p.Minute.UnixMilli(), p.ProjectID, p.Score, p.Level,
			p.SessionID, p.SessionScore); err != nil {
			return mapError(err)
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO journey_engagement (journey_id, project_id, score, level, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (journey_id) DO UPDATE SET score = excluded.score, level = excluded.level,
			updated_at = excluded.updated_at WHERE excluded.updated_at >= journey_engagement.updated_at`,
			p.JourneyID, p.ProjectID, p.Score, p.Level, p.Minute.UnixMilli()); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// FindIntervention implements smartonboard.BehaviourStore.
func (db *DB) FindIntervention(ctx context.Context, projectID, id string) (*so.Intervention, error) {
	return findIntervention(ctx, db.reader, projectID, id)
}

func findIntervention(ctx context.Context, q queryer, projectID, id string) (*so.Intervention, error) {
	i, err := scanIntervention(q.QueryRowContext(ctx, `SELECT `+interventionColumns+` FROM interventions
		WHERE project_id = ? AND id = ?`, projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, so.InterventionNotFound(id)
	}
	return i, err
}

// ListInterventions implements smartonboard.BehaviourStore.
func (db *DB) ListInterventions(ctx context.Context, projectID string, f so.InterventionFilter) ([]*so.Intervention, error) {
	where, args := []string{"project_id = ?"}, []any{projectID}
	add := func(cond string, v any) {
		where, args = append(where, cond), append(args, v)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Flow != "" {
		add("flow = ?", f.Flow)
	}
	if f.Step != "" {
		add("step = ?", f.Step)
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.HeldOut != nil {
		add("held_out = ?", *f.HeldOut)
	}
	if !f.From.IsZero() {
		add("triggered_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("triggered_at < ?", f.To.UnixMilli())
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+interventionColumns+` FROM interventions WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []*so.Intervention{}
	for rows.Next() {
		i, err := scanIntervention(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, mapError(rows.Err())
}

func scanIntervention(row scanner) (*so.Intervention, error) {
	var i so.Intervention
	var triggered int64
	var shown, accepted, dismissed, completed sql.NullInt64
	var score sql.NullFloat64
	var actions string
	err := row.Scan(&i.ID, &i.ProjectID, &i.UserID, &i.JourneyID, &i.Flow, &i.Step, &i.SessionID, &i.Kind, &i.Trigger,
		&i.Rule, &i.Predictor, &score, &i.DetectionID, &i.HeldOut, &i.ContentID, &i.Title, &i.Body, &actions,
		&triggered, &shown, &accepted, &dismissed, &i.Feedback, &completed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	} else if err != nil {
		return nil, mapError(err)
	}
	if score.Valid {
		i.Score = &score.Float64
	}
	if err := json.Unmarshal([]byte(actions), &i.Actions); err != nil {
		return nil, fmt.Errorf("decode intervention actions: %w", err)
	}
	i.TriggeredAt = fromMillis(triggered)
	i.ShownAt, i.AcceptedAt, i.DismissedAt, i.StepCompletedAt = nullMillis(shown), nullMillis(accepted), nullMillis(dismissed), nullMillis(completed)
	return &i, nil
}

// InterventionEffects implements smartonboard.BehaviourStore. The unit is the
// user: a user counts once per flow, step, kind and arm however many
// interventions they got there.
func (db *DB) InterventionEffects(ctx context.Context, projectID string, from, to time.Time) ([]so.EffectCounts, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT i.flow, i.step, i.kind,
		count(DISTINCT CASE WHEN NOT i.held_out THEN i.user_id END),
		count(DISTINCT CASE WHEN NOT i.held_out AND i.step_completed_at IS NOT NULL THEN i.user_id END),
		count(DISTINCT CASE WHEN NOT i.held_out AND j.status = 'completed' THEN i.user_id END),
		count(DISTINCT CASE WHEN i.held_out THEN i.user_id END),
		count(DISTINCT CASE WHEN i.held_out AND i.step_completed_at IS NOT NULL THEN i.user_id END),
		count(DISTINCT CASE WHEN i.held_out AND j.status = 'completed' THEN i.user_id END),
		count(i.shown_at), count(i.accepted_at), count(i.dismissed_at),
		count(CASE WHEN i.feedback = 'helpful' THEN 1 END), count(CASE WHEN i.feedback = 'not_helpful' THEN 1 END)
		FROM interventions i LEFT JOIN journeys j ON j.id = i.journey_id
		WHERE i.project_id = ? AND i.triggered_at >= ? AND i.triggered_at < ?
		GROUP BY i.flow, i.step, i.kind ORDER BY i.flow, i.step, i.kind`, projectID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []so.EffectCounts{}
	for rows.Next() {
		var c so.EffectCounts
		if err := rows.Scan(&c.Flow, &c.Step, &c.Kind, &c.Sent, &c.SentStepCompleted, &c.SentJourneyCompleted, &c.HeldOut,
			&c.HeldStepCompleted, &c.HeldJourneyCompleted, &c.Shown, &c.Accepted, &c.Dismissed, &c.Helpful, &c.NotHelpful); err != nil {
			return nil, mapError(err)
		}
		out = append(out, c)
	}
	return out, mapError(rows.Err())
}

// ListDetections implements smartonboard.BehaviourStore.
func (db *DB) ListDetections(ctx context.Context, projectID, userID string, limit int) ([]*so.Detection, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, project_id, user_id, journey_id, flow, step, session_id, rule,
		evidence, detected_at FROM struggle_detections WHERE project_id = ? AND user_id = ?
		ORDER BY detected_at DESC, id DESC LIMIT ?`, projectID, userID, limit)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []*so.Detection{}
	for rows.Next() {
		var d so.Detection
		var evidence string
		var at int64
		if err := rows.Scan(&d.ID, &d.ProjectID, &d.UserID, &d.JourneyID, &d.Flow, &d.Step, &d.SessionID, &d.Rule,
			&evidence, &at); err != nil {
			return nil, mapError(err)
		}
		if err := json.Unmarshal([]byte(evidence), &d.Evidence); err != nil {
			return nil, fmt.Errorf("decode detection evidence: %w", err)
		}
		d.DetectedAt = fromMillis(at)
		out = append(out, &d)
	}
	return out, mapError(rows.Err())
}

// JourneyEngagement implements smartonboard.BehaviourStore.
func (db *DB) JourneyEngagement(ctx context.Context, journeyIDs []string) (map[string]float64, error) {
	out := map[string]float64{}
	err := inChunks(journeyIDs, func(in string, ids []any) error {
		rows, err := db.reader.QueryContext(ctx, `SELECT journey_id, score FROM journey_engagement
			WHERE journey_id IN (`+in+`)`, ids...)
		if err != nil {
			return mapError(err)
		}
		var id string
		var score float64
		return eachRow(rows, []any{&id, &score}, func() { out[id] = score })
	})
	return out, err
}

// EngagementSeries implements smartonboard.BehaviourStore.
func (db *DB) EngagementSeries(ctx context.Context, projectID, journeyID string) ([]so.EngagementPoint, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT journey_id, minute, project_id, score, level, session_id, session_score
		FROM engagement_points WHERE project_id = ? AND journey_id = ? ORDER BY minute`, projectID, journeyID)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []so.EngagementPoint{}
	for rows.Next() {
		var p so.EngagementPoint
		var minute int64
		if err := rows.Scan(&p.JourneyID, &minute, &p.ProjectID, &p.Score, &p.Level, &p.SessionID, &p.SessionScore); err != nil {
			return nil, mapError(err)
		}
		p.Minute = fromMillis(minute)
		out = append(out, p)
	}
	return out, mapError(rows.Err())
}
