package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// consumerTx is the smartonboard.ConsumerTx of one Consume call.
type consumerTx struct {
	tx        pgx.Tx
	db        *DB
	continued bool
}

// Continued implements smartonboard.ConsumerTx.
func (t *consumerTx) Continued() bool { return t.continued }

// Journeys implements smartonboard.ConsumerTx; it reads without locking, so
// ingestion never waits for the behaviour engine.
func (t *consumerTx) Journeys(ctx context.Context, projectID string, userIDs []string) (map[string][]*so.Journey, error) {
	rows, _ := t.tx.Query(ctx, `SELECT state FROM journeys WHERE project_id = $1 AND user_id = ANY ($2)
		ORDER BY user_id, flow_key`, projectID, userIDs)
	js, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Journey, error) { return scanJourney(row) })
	if err != nil {
		return nil, mapError(err, "journeys")
	}
	out := map[string][]*so.Journey{}
	for _, j := range js {
		out[j.UserID] = append(out[j.UserID], j)
	}
	return out, nil
}

// LoadBehaviour implements smartonboard.ConsumerTx.
func (t *consumerTx) LoadBehaviour(ctx context.Context, projectID string, userIDs []string) (map[string]json.RawMessage, error) {
	rows, _ := t.tx.Query(ctx, `SELECT user_id, state FROM behaviour_states WHERE project_id = $1 AND user_id = ANY ($2)`,
		projectID, userIDs)
	out := map[string]json.RawMessage{}
	var user, state string
	_, err := pgx.ForEachRow(rows, []any{&user, &state}, func() error {
		out[user] = json.RawMessage(state)
		return nil
	})
	return out, mapError(err, "behaviour states")
}

// SaveBehaviour implements smartonboard.ConsumerTx.
func (t *consumerTx) SaveBehaviour(ctx context.Context, states []so.UserBehaviour) error {
	b := &pgx.Batch{}
	for _, s := range states {
		b.Queue(`INSERT INTO behaviour_states (project_id, user_id, state, updated_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (project_id, user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			s.ProjectID, s.UserID, string(s.State))
	}
	return mapError(t.tx.SendBatch(ctx, b).Close(), "behaviour states")
}

// insertFresh runs one insert per row in a batch and reports which inserted.
func insertFresh(ctx context.Context, tx pgx.Tx, b *pgx.Batch, thing string) ([]bool, error) {
	res := tx.SendBatch(ctx, b)
	fresh := make([]bool, b.Len())
	for i := range fresh {
		tag, err := res.Exec()
		if err != nil {
			_ = res.Close()
			return nil, mapError(err, thing)
		}
		fresh[i] = tag.RowsAffected() == 1
	}
	return fresh, mapError(res.Close(), thing)
}

// InsertDetections implements smartonboard.ConsumerTx.
func (t *consumerTx) InsertDetections(ctx context.Context, ds []*so.Detection) ([]bool, error) {
	b := &pgx.Batch{}
	for _, d := range ds {
		evidence, err := json.Marshal(d.Evidence)
		if err != nil {
			return nil, err
		}
		b.Queue(`INSERT INTO struggle_detections (id, project_id, user_id, journey_id, flow, step, session_id, rule,
			evidence, detected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
			d.ID, d.ProjectID, d.UserID, d.JourneyID, d.Flow, d.Step, d.SessionID, string(d.Rule), string(evidence), d.DetectedAt)
	}
	return insertFresh(ctx, t.tx, b, "struggle detections")
}

const interventionColumns = `id, project_id, user_id, journey_id, flow, step, session_id, kind, trigger_source, rule,
	predictor, score, detection_id, held_out, content_id, title, body, actions, triggered_at, shown_at, accepted_at,
	dismissed_at, feedback, step_completed_at`

// InsertInterventions implements smartonboard.ConsumerTx.
func (t *consumerTx) InsertInterventions(ctx context.Context, is []*so.Intervention) ([]bool, error) {
	b := &pgx.Batch{}
	for _, i := range is {
		actions := i.Actions
		if actions == nil {
			actions = []so.Action{}
		}
		raw, err := json.Marshal(actions)
		if err != nil {
			return nil, err
		}
		b.Queue(`INSERT INTO interventions (`+interventionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) ON CONFLICT (id) DO NOTHING`,
			i.ID, i.ProjectID, i.UserID, i.JourneyID, i.Flow, i.Step, i.SessionID, string(i.Kind), i.Trigger, string(i.Rule),
			i.Predictor, i.Score, i.DetectionID, i.HeldOut, i.ContentID, i.Title, i.Body, string(raw), i.TriggeredAt,
			i.ShownAt, i.AcceptedAt, i.DismissedAt, string(i.Feedback), i.StepCompletedAt)
	}
	return insertFresh(ctx, t.tx, b, "interventions")
}

// outcomeSet is the assignment each outcome makes: the first time of each
// outcome is kept, and any answer means the intervention was shown.
// The feedback is $5, sent only with the outcomes that set it: PostgreSQL
// refuses a parameter no statement uses.
var outcomeSet = map[so.InterventionOutcome]string{
	so.OutcomeShown:      `shown_at = coalesce(shown_at, $4)`,
	so.OutcomeAccepted:   `shown_at = coalesce(shown_at, $4), accepted_at = coalesce(accepted_at, $4)`,
	so.OutcomeDismissed:  `shown_at = coalesce(shown_at, $4), dismissed_at = coalesce(dismissed_at, $4)`,
	so.OutcomeHelpful:    `shown_at = coalesce(shown_at, $4), feedback = $5`,
	so.OutcomeNotHelpful: `shown_at = coalesce(shown_at, $4), feedback = $5`,
}

// RecordOutcome implements smartonboard.ConsumerTx.
func (t *consumerTx) RecordOutcome(ctx context.Context, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error) {
	return recordOutcome(ctx, t.tx, projectID, userID, id, o, at)
}

// RecordOutcome implements smartonboard.BehaviourStore.
func (db *DB) RecordOutcome(ctx context.Context, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error) {
	return recordOutcome(ctx, db.pool, projectID, userID, id, o, at)
}

func recordOutcome(ctx context.Context, q querier, projectID, userID, id string, o so.InterventionOutcome, at time.Time) (*so.Intervention, error) {
	set, ok := outcomeSet[o]
	if !ok {
		return nil, fmt.Errorf("postgres: unknown outcome %q", o)
	}
	args := []any{id, projectID, userID, at}
	if o == so.OutcomeHelpful || o == so.OutcomeNotHelpful {
		args = append(args, string(o))
	}
	i, err := scanIntervention(q.QueryRow(ctx, `UPDATE interventions SET `+set+`
		WHERE id = $1 AND project_id = $2 AND user_id = $3 AND NOT held_out RETURNING `+interventionColumns, args...))
	return i, notFound(err, so.InterventionNotFound(id), "interventions")
}

// StepCompleted implements smartonboard.ConsumerTx.
func (t *consumerTx) StepCompleted(ctx context.Context, projectID, userID, flow, step string, at time.Time, window time.Duration) error {
	_, err := t.tx.Exec(ctx, `UPDATE interventions SET step_completed_at = $1
		WHERE project_id = $2 AND user_id = $3 AND flow = $4 AND step = $5 AND step_completed_at IS NULL
		AND triggered_at <= $1 AND triggered_at >= $6`, at, projectID, userID, flow, step, at.Add(-window))
	return mapError(err, "interventions")
}

// SaveEngagement implements smartonboard.ConsumerTx.
func (t *consumerTx) SaveEngagement(ctx context.Context, points []so.EngagementPoint) error {
	b := &pgx.Batch{}
	for _, p := range points {
		b.Queue(`INSERT INTO engagement_points (journey_id, minute, project_id, score, level, session_id, session_score)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (journey_id, minute) DO UPDATE SET score = excluded.score,
			level = excluded.level, session_id = excluded.session_id, session_score = excluded.session_score`,
			p.JourneyID, p.Minute, p.ProjectID, p.Score, p.Level, p.SessionID, p.SessionScore)
		b.Queue(`INSERT INTO journey_engagement (journey_id, project_id, score, level, updated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (journey_id) DO UPDATE SET score = excluded.score,
			level = excluded.level, updated_at = excluded.updated_at
			WHERE excluded.updated_at >= journey_engagement.updated_at`, p.JourneyID, p.ProjectID, p.Score, p.Level, p.Minute)
	}
	return mapError(t.tx.SendBatch(ctx, b).Close(), "engagement")
}

// FindIntervention implements smartonboard.BehaviourStore.
func (db *DB) FindIntervention(ctx context.Context, projectID, id string) (*so.Intervention, error) {
	i, err := scanIntervention(db.pool.QueryRow(ctx, `SELECT `+interventionColumns+` FROM interventions
		WHERE project_id = $1 AND id = $2`, projectID, id))
	return i, notFound(err, so.InterventionNotFound(id), "interventions")
}

// ListInterventions implements smartonboard.BehaviourStore.
func (db *DB) ListInterventions(ctx context.Context, projectID string, f so.InterventionFilter) ([]*so.Intervention, error) {
	where, args := []string{"project_id = $1"}, []any{projectID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
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
		add("triggered_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("triggered_at < ?", f.To)
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	args = append(args, f.Limit)
	rows, _ := db.pool.Query(ctx, `SELECT `+interventionColumns+` FROM interventions WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Intervention, error) { return scanIntervention(row) })
	if err != nil {
		return nil, mapError(err, "interventions")
	}
	return out, nil
}

func scanIntervention(row pgx.Row) (*so.Intervention, error) {
	var i so.Intervention
	var actions string
	err := row.Scan(&i.ID, &i.ProjectID, &i.UserID, &i.JourneyID, &i.Flow, &i.Step, &i.SessionID, &i.Kind, &i.Trigger,
		&i.Rule, &i.Predictor, &i.Score, &i.DetectionID, &i.HeldOut, &i.ContentID, &i.Title, &i.Body, &actions,
		&i.TriggeredAt, &i.ShownAt, &i.AcceptedAt, &i.DismissedAt, &i.Feedback, &i.StepCompletedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(actions), &i.Actions); err != nil {
		return nil, fmt.Errorf("decode intervention actions: %w", err)
	}
	i.TriggeredAt = i.TriggeredAt.UTC()
	for _, t := range []**time.Time{&i.ShownAt, &i.AcceptedAt, &i.DismissedAt, &i.StepCompletedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return &i, nil
}

// InterventionEffects implements smartonboard.BehaviourStore. The unit is the
// user: a user counts once per flow, step, kind and arm however many
// interventions they got there.
func (db *DB) InterventionEffects(ctx context.Context, projectID string, from, to time.Time) ([]so.EffectCounts, error) {
	rows, _ := db.pool.Query(ctx, `SELECT i.flow, i.step, i.kind,
		count(DISTINCT i.user_id) FILTER (WHERE NOT i.held_out),
		count(DISTINCT i.user_id) FILTER (WHERE NOT i.held_out AND i.step_completed_at IS NOT NULL),
		count(DISTINCT i.user_id) FILTER (WHERE NOT i.held_out AND j.status = 'completed'),
		count(DISTINCT i.user_id) FILTER (WHERE i.held_out),
		count(DISTINCT i.user_id) FILTER (WHERE i.held_out AND i.step_completed_at IS NOT NULL),
		count(DISTINCT i.user_id) FILTER (WHERE i.held_out AND j.status = 'completed'),
		count(i.shown_at), count(i.accepted_at), count(i.dismissed_at),
		count(*) FILTER (WHERE i.feedback = 'helpful'), count(*) FILTER (WHERE i.feedback = 'not_helpful')
		FROM interventions i LEFT JOIN journeys j ON j.id = i.journey_id
		WHERE i.project_id = $1 AND i.triggered_at >= $2 AND i.triggered_at < $3
		GROUP BY i.flow, i.step, i.kind ORDER BY i.flow, i.step, i.kind`, projectID, from, to)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (so.EffectCounts, error) {
		var c so.EffectCounts
		err := row.Scan(&c.Flow, &c.Step, &c.Kind, &c.Sent, &c.SentStepCompleted, &c.SentJourneyCompleted, &c.HeldOut,
			&c.HeldStepCompleted, &c.HeldJourneyCompleted, &c.Shown, &c.Accepted, &c.Dismissed, &c.Helpful, &c.NotHelpful)
		return c, err
	})
	if err != nil {
		return nil, mapError(err, "interventions")
	}
	return out, nil
}

// ListDetections implements smartonboard.BehaviourStore.
func (db *DB) ListDetections(ctx context.Context, projectID, userID string, limit int) ([]*so.Detection, error) {
	rows, _ := db.pool.Query(ctx, `SELECT id, project_id, user_id, journey_id, flow, step, session_id, rule, evidence,
		detected_at FROM struggle_detections WHERE project_id = $1 AND user_id = $2
		ORDER BY detected_at DESC, id DESC LIMIT $3`, projectID, userID, limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Detection, error) {
		var d so.Detection
		var evidence string
		if err := row.Scan(&d.ID, &d.ProjectID, &d.UserID, &d.JourneyID, &d.Flow, &d.Step, &d.SessionID, &d.Rule,
			&evidence, &d.DetectedAt); err != nil {
			return nil, err
		}
		d.DetectedAt = d.DetectedAt.UTC()
		return &d, json.Unmarshal([]byte(evidence), &d.Evidence)
	})
	if err != nil {
		return nil, mapError(err, "struggle detections")
	}
	return out, nil
}

// JourneyEngagement implements smartonboard.BehaviourStore.
func (db *DB) JourneyEngagement(ctx context.Context, journeyIDs []string) (map[string]float64, error) {
	rows, _ := db.pool.Query(ctx, `SELECT journey_id, score FROM journey_engagement WHERE journey_id = ANY ($1)`, journeyIDs)
	out := map[string]float64{}
	var id string
	var score float64
	_, err := pgx.ForEachRow(rows, []any{&id, &score}, func() error {
		out[id] = score
		return nil
	})
	return out, mapError(err, "engagement")
}

// EngagementSeries implements smartonboard.BehaviourStore.
func (db *DB) EngagementSeries(ctx context.Context, projectID, journeyID string) ([]so.EngagementPoint, error) {
	rows, _ := db.pool.Query(ctx, `SELECT journey_id, minute, project_id, score, level, session_id, session_score
		FROM engagement_points WHERE project_id = $1 AND journey_id = $2 ORDER BY minute`, projectID, journeyID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (so.EngagementPoint, error) {
		var p so.EngagementPoint
		err := row.Scan(&p.JourneyID, &p.Minute, &p.ProjectID, &p.Score, &p.Level, &p.SessionID, &p.SessionScore)
		p.Minute = p.Minute.UTC()
		return p, err
	})
	if err != nil {
		return nil, mapError(err, "engagement")
	}
	return out, nil
}
