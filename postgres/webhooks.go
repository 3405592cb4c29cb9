package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/jobs"
)

// StartQueue starts the job queue on the pool; jobs inserted in one of our
// transactions commit with it, and LISTEN/NOTIFY wakes the workers.
func (db *DB) StartQueue(ctx context.Context, cfg jobs.Config) error {
	client, err := river.NewClient(riverpgxv5.New(db.pool), cfg.Options())
	if err != nil {
		return fmt.Errorf("postgres: job queue: %w", err)
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
var errNoQueue = errors.New("postgres: the job queue is not started")

const webhookColumns = `id, project_id, url, events, secret, created_at, created_by, disabled_at, disabled_reason, failures`

// CreateWebhook implements smartonboard.WebhookStore.
func (db *DB) CreateWebhook(ctx context.Context, w *so.Webhook) error {
	events, err := json.Marshal(w.Events)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		w.ID, w.ProjectID, w.URL, string(events), w.Secret, w.CreatedAt, w.CreatedBy, w.DisabledAt, w.DisabledReason, w.Failures)
	if violatedReference(err) != "" {
		return so.ProjectNotFound(w.ProjectID)
	}
	return mapError(err, "webhooks")
}

// ListWebhooks implements smartonboard.WebhookStore.
func (db *DB) ListWebhooks(ctx context.Context, projectID string) ([]*so.Webhook, error) {
	return listWebhooks(ctx, db.pool, projectID)
}

func listWebhooks(ctx context.Context, q querier, projectID string) ([]*so.Webhook, error) {
	rows, _ := q.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE project_id = $1 ORDER BY id DESC`, projectID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Webhook, error) { return scanWebhook(row) })
	if err != nil {
		return nil, mapError(err, "webhooks")
	}
	return out, nil
}

func scanWebhook(row pgx.Row) (*so.Webhook, error) {
	var w so.Webhook
	var events string
	err := row.Scan(&w.ID, &w.ProjectID, &w.URL, &events, &w.Secret, &w.CreatedAt, &w.CreatedBy, &w.DisabledAt, &w.DisabledReason, &w.Failures)
	if err != nil {
		return nil, err
	}
	w.CreatedAt = w.CreatedAt.UTC()
	if w.DisabledAt != nil {
		t := w.DisabledAt.UTC()
		w.DisabledAt = &t
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("decode webhook events: %w", err)
	}
	return &w, nil
}

// DeleteWebhook implements smartonboard.WebhookStore; its deliveries go with it.
func (db *DB) DeleteWebhook(ctx context.Context, projectID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhooks WHERE project_id = $1 AND id = $2`, projectID, id)
	if err != nil {
		return mapError(err, "webhooks")
	}
	if tag.RowsAffected() == 0 {
		return so.WebhookNotFound(id)
	}
	return nil
}

// DisableWebhook implements smartonboard.WebhookStore.
func (db *DB) DisableWebhook(ctx context.Context, projectID, id string, at *time.Time, reason string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE webhooks SET disabled_at = $1, disabled_reason = $2, failures = 0
		WHERE project_id = $3 AND id = $4`, at, reason, projectID, id)
	if err != nil {
		return mapError(err, "webhooks")
	}
	if tag.RowsAffected() == 0 {
		return so.WebhookNotFound(id)
	}
	return nil
}

const deliveryColumns = `id, webhook_id, project_id, type, payload, created_at, status, attempts, last_attempt_at,
	last_status, last_error, delivered_at`

// ListDeliveries implements smartonboard.WebhookStore.
func (db *DB) ListDeliveries(ctx context.Context, projectID, webhookID, after string, limit int) ([]*so.Delivery, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM webhooks WHERE project_id = $1 AND id = $2`,
		projectID, webhookID).Scan(&n); err != nil {
		return nil, mapError(err, "webhooks")
	}
	if n == 0 {
		return nil, so.WebhookNotFound(webhookID)
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE webhook_id = $1
		AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, webhookID, after, limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Delivery, error) { return scanDelivery(row) })
	if err != nil {
		return nil, mapError(err, "webhook deliveries")
	}
	return out, nil
}

func scanDelivery(row pgx.Row) (*so.Delivery, error) {
	var d so.Delivery
	var payload string
	err := row.Scan(&d.ID, &d.WebhookID, &d.ProjectID, &d.Type, &payload, &d.CreatedAt, &d.Status, &d.Attempts,
		&d.LastAttemptAt, &d.LastStatus, &d.LastError, &d.DeliveredAt)
	if err != nil {
		return nil, err
	}
	d.Payload, d.CreatedAt = json.RawMessage(payload), d.CreatedAt.UTC()
	for _, t := range []**time.Time{&d.LastAttemptAt, &d.DeliveredAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return &d, nil
}

// FindDelivery implements smartonboard.WebhookStore.
func (db *DB) FindDelivery(ctx context.Context, id string) (*so.Delivery, *so.Webhook, error) {
	d, err := scanDelivery(db.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return nil, nil, notFound(err, so.DeliveryNotFound(id), "webhook deliveries")
	}
	w, err := scanWebhook(db.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, d.WebhookID))
	if err != nil {
		return nil, nil, notFound(err, so.DeliveryNotFound(id), "webhooks")
	}
	return d, w, nil
}

// RecordAttempt implements smartonboard.WebhookStore.
func (db *DB) RecordAttempt(ctx context.Context, deliveryID string, a so.DeliveryAttempt, disableAfter int) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		status := so.DeliveryPending
		var delivered *time.Time
		switch {
		case a.Delivered:
			status, delivered = so.DeliveryDelivered, &a.At
		case a.Final:
			status = so.DeliveryFailed
		}
		var webhookID string
		err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
			last_attempt_at = $2, last_status = $3, last_error = $4, delivered_at = coalesce(delivered_at, $5)
			WHERE id = $6 RETURNING webhook_id`, status, a.At, a.StatusCode, a.Error, delivered, deliveryID).Scan(&webhookID)
		if err != nil {
			return notFound(err, so.DeliveryNotFound(deliveryID), "webhook deliveries")
		}
		switch {
		case a.Delivered:
			_, err = tx.Exec(ctx, `UPDATE webhooks SET failures = 0 WHERE id = $1`, webhookID)
		case a.Final:
			_, err = tx.Exec(ctx, `UPDATE webhooks SET failures = failures + 1,
				disabled_at = CASE WHEN failures + 1 >= $1 THEN $2 ELSE disabled_at END,
				disabled_reason = CASE WHEN failures + 1 >= $1 THEN $3 ELSE disabled_reason END
				WHERE id = $4 AND disabled_at IS NULL`, disableAfter, a.At, fmt.Sprintf("%d deliveries in a row failed every attempt", disableAfter), webhookID)
		}
		return mapError(err, "webhooks")
	})
}

// Webhooks implements smartonboard.Enqueuer.
func (t *consumerTx) Webhooks(ctx context.Context, projectID string) ([]*so.Webhook, error) {
	return listWebhooks(ctx, t.tx, projectID)
}

// EnqueueDeliveries implements smartonboard.Enqueuer.
func (t *consumerTx) EnqueueDeliveries(ctx context.Context, ds []*so.Delivery) ([]bool, error) {
	return enqueue(ctx, t.tx, t.db.queue, ds)
}

func enqueue(ctx context.Context, tx pgx.Tx, queue *river.Client[pgx.Tx], ds []*so.Delivery) ([]bool, error) {
	b := &pgx.Batch{}
	for _, d := range ds {
		b.Queue(`INSERT INTO webhook_deliveries (id, webhook_id, project_id, type, payload, created_at, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			d.ID, d.WebhookID, d.ProjectID, d.Type, string(d.Payload), d.CreatedAt, so.DeliveryPending)
	}
	fresh, err := insertFresh(ctx, tx, b, "webhook deliveries")
	if err != nil {
		return nil, err
	}
	var pending []river.InsertManyParams
	for i, d := range ds {
		if fresh[i] {
			pending = append(pending, river.InsertManyParams{Args: jobs.DeliverWebhook{DeliveryID: d.ID}})
		}
	}
	if len(pending) == 0 {
		return fresh, nil
	}
	if queue == nil {
		return nil, errNoQueue
	}
	if _, err := queue.InsertManyTx(ctx, tx, pending); err != nil {
		return nil, fmt.Errorf("postgres: enqueue deliveries: %w", err)
	}
	return fresh, nil
}
