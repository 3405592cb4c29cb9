package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/jobs"
)

// StartQueue starts the job queue on the writer connection: River's polling
// and our transactions take turns on SQLite's one writer, and a job inserted
// in one of our transactions commits with it.
func (db *DB) StartQueue(ctx context.Context, cfg jobs.Config) error {
	client, err := river.NewClient(riversqlite.New(db.writer), cfg.Options())
	if err != nil {
		return fmt.Errorf("sqlite: job queue: %w", err)
	}
	db.queue = client
	if cfg.Workers == nil {
		return nil
	}
	return client.Start(ctx)
}

// StopQueue stops the queue, cancelling running jobs (they run again later:
// an interrupted attempt does not count).
func (db *DB) StopQueue(ctx context.Context) error {
	if db.queue == nil {
		return nil
	}
	return db.queue.StopAndCancel(ctx)
}

// errNoQueue reports a delivery enqueued before StartQueue: a wiring bug.
var errNoQueue = errors.New("sqlite: the job queue is not started")

const webhookColumns = `id, project_id, url, events, secret, created_at, created_by, disabled_at, disabled_reason, failures`

// CreateWebhook implements smartonboard.WebhookStore.
func (db *DB) CreateWebhook(ctx context.Context, w *so.Webhook) error {
	events, err := json.Marshal(w.Events)
	if err != nil {
		return err
	}
	_, err = db.writer.ExecContext(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.ProjectID, w.URL, string(events), w.Secret, w.CreatedAt.UnixMilli(), w.CreatedBy,
		optionalMillis(w.DisabledAt), w.DisabledReason, w.Failures)
	if isForeignKeyViolation(err) {
		return so.ProjectNotFound(w.ProjectID)
	}
	return mapError(err)
}

// ListWebhooks implements smartonboard.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, projectID string) ([]*so.Webhook, error) {
	return listWebhooks(ctx, db.reader, projectID)
}

func listWebhooks(ctx context.Context, q queryer, projectID string) ([]*so.Webhook, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE project_id = ? ORDER BY id DESC`, projectID)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []*so.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, mapError(rows.Err())
}

func scanWebhook(row scanner) (*so.Webhook, error) {
	var w so.Webhook
	var events string
	var created int64
	var disabled sql.NullInt64
	err := row.Scan(&w.ID, &w.ProjectID, &w.URL, &events, &w.Secret, &created, &w.CreatedBy, &disabled, &w.DisabledReason, &w.Failures)
	if err != nil {
		return nil, err
	}
	w.CreatedAt, w.DisabledAt = fromMillis(created), nullMillis(disabled)
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("decode webhook events: %w", err)
	}
	return &w, nil
}

// DeleteWebhook implements smartonboard.WebhookStore; its deliveries go with it.
func (db *DB) DeleteWebhook(ctx context.Context, projectID, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM webhooks WHERE project_id = ? AND id = ?`, projectID, id)
	if err := affectedOne(res, err, ""); so.ErrorCode(err) == so.ENOTFOUND {
		return so.WebhookNotFound(id)
	} else if err != nil {
		return err
	}
	return nil
}

// DisableWebhook implements smartonboard.WebhookStore.
func (db *DB) DisableWebhook(ctx context.Context, projectID, id string, at *time.Time, reason string) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE webhooks SET disabled_at = ?, disabled_reason = ?, failures = 0
		WHERE project_id = ? AND id = ?`, optionalMillis(at), reason, projectID, id)
	if err := affectedOne(res, err, ""); so.ErrorCode(err) == so.ENOTFOUND {
		return so.WebhookNotFound(id)
	} else if err != nil {
		return err
	}
	return nil
}

const deliveryColumns = `id, webhook_id, project_id, type, payload, created_at, status, attempts, last_attempt_at,
	last_status, last_error, delivered_at`

// ListDeliveries implements smartonboard.WebhookStore.
func (db *DB) ListDeliveries(ctx context.Context, projectID, webhookID, after string, limit int) ([]*so.Delivery, error) {
	var n int
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE project_id = ? AND id = ?`,
		projectID, webhookID).Scan(&n); err != nil {
		return nil, mapError(err)
	}
	if n == 0 {
		return nil, so.WebhookNotFound(webhookID)
	}
	query, args := `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE webhook_id = ?`, []any{webhookID}
	if after != "" {
		query, args = query+` AND id < ?`, append(args, after)
	}
	rows, err := db.reader.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []*so.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, mapError(rows.Err())
}

func scanDelivery(row scanner) (*so.Delivery, error) {
	var d so.Delivery
	var payload string
	var created int64
	var last, delivered sql.NullInt64
	err := row.Scan(&d.ID, &d.WebhookID, &d.ProjectID, &d.Type, &payload, &created, &d.Status, &d.Attempts, &last,
		&d.LastStatus, &d.LastError, &delivered)
	if err != nil {
		return nil, err
	}
	d.Payload, d.CreatedAt = json.RawMessage(payload), fromMillis(created)
	d.LastAttemptAt, d.DeliveredAt = nullMillis(last), nullMillis(delivered)
	return &d, nil
}

// FindDelivery implements smartonboard.WebhookStore.
func (db *DB) FindDelivery(ctx context.Context, id string) (*so.Delivery, *so.Webhook, error) {
	d, err := scanDelivery(db.reader.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, so.DeliveryNotFound(id)
	} else if err != nil {
		return nil, nil, mapError(err)
	}
	w, err := scanWebhook(db.reader.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`, d.WebhookID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, so.DeliveryNotFound(id)
	} else if err != nil {
		return nil, nil, mapError(err)
	}
	return d, w, nil
}

// RecordAttempt implements smartonboard.WebhookStore.
func (db *DB) RecordAttempt(ctx context.Context, deliveryID string, a so.DeliveryAttempt, disableAfter int) error {
	return db.inTx(ctx, func(tx *stmtTx) error {
		status, delivered := so.DeliveryPending, any(nil)
		switch {
		case a.Delivered:
			status, delivered = so.DeliveryDelivered, a.At.UnixMilli()
		case a.Final:
			status = so.DeliveryFailed
		}
		var webhookID string
		err := tx.QueryRowContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,
			last_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = coalesce(delivered_at, ?)
			WHERE id = ? RETURNING webhook_id`, status, a.At.UnixMilli(), a.StatusCode, a.Error, delivered, deliveryID).Scan(&webhookID)
		if errors.Is(err, sql.ErrNoRows) {
			return so.DeliveryNotFound(deliveryID)
		} else if err != nil {
			return mapError(err)
		}
		return countFailures(ctx, tx, webhookID, a, disableAfter)
	})
}

// countFailures keeps the webhook's run of failed deliveries and disables it
// when the run reaches disableAfter.
func countFailures(ctx context.Context, tx *stmtTx, webhookID string, a so.DeliveryAttempt, disableAfter int) error {
	var err error
	switch {
	case a.Delivered:
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET failures = 0 WHERE id = ?`, webhookID)
	case a.Final:
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET failures = failures + 1,
			disabled_at = CASE WHEN failures + 1 >= ?1 THEN ?2 ELSE disabled_at END,
			disabled_reason = CASE WHEN failures + 1 >= ?1 THEN ?3 ELSE disabled_reason END
			WHERE id = ?4 AND disabled_at IS NULL`, disableAfter, a.At.UnixMilli(), fmt.Sprintf("%d deliveries in a row failed every attempt", disableAfter), webhookID)
	}
	return mapError(err)
}

// Webhooks implements smartonboard.Enqueuer.
func (t consumerTx) Webhooks(ctx context.Context, projectID string) ([]*so.Webhook, error) {
	return listWebhooks(ctx, t.tx, projectID)
}

// EnqueueDeliveries implements smartonboard.Enqueuer.
func (t consumerTx) EnqueueDeliveries(ctx context.Context, ds []*so.Delivery) ([]bool, error) {
	return enqueue(ctx, t.tx, t.db.queue, ds)
}

func enqueue(ctx context.Context, tx *stmtTx, queue *river.Client[*sql.Tx], ds []*so.Delivery) ([]bool, error) {
	fresh := make([]bool, len(ds))
	var pending []river.InsertManyParams
	for i, d := range ds {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, project_id, type, payload,
			created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			d.ID, d.WebhookID, d.ProjectID, d.Type, string(d.Payload), d.CreatedAt.UnixMilli(), so.DeliveryPending)
		if err != nil {
			return nil, mapError(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			fresh[i] = true
			pending = append(pending, river.InsertManyParams{Args: jobs.DeliverWebhook{DeliveryID: d.ID}})
		}
	}
	if len(pending) == 0 {
		return fresh, nil
	}
	if queue == nil {
		return nil, errNoQueue
	}
	if _, err := queue.InsertManyTx(ctx, tx.Tx, pending); err != nil {
		return nil, fmt.Errorf("sqlite: enqueue deliveries: %w", err)
	}
	return fresh, nil
}
