package smartonboard

import (
	"context"
	"encoding/json"
	"time"
)

// Webhook is a customer's endpoint subscribed to event types. The secret is
// shown once, when it is created, and never again.
type Webhook struct {
	ID             string     `json:"id"`
	ProjectID      string     `json:"project_id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Secret         string     `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
	CreatedBy      string     `json:"created_by"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
	Failures       int        `json:"consecutive_failures"` // deliveries in a row that used up every attempt
}

// Subscribed tells whether the webhook is enabled and wants the event type.
func (w *Webhook) Subscribed(eventType string) bool {
	if w.DisabledAt != nil {
		return false
	}
	for _, e := range w.Events {
		if e == eventType {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its first or next attempt
	DeliveryDelivered = "delivered" // a 2xx came back
	DeliveryFailed    = "failed"    // every attempt failed, or the webhook went away
)

// Delivery is one message to one webhook; its id is the webhook-id header, the
// same on every attempt, so a receiver can tell a retry from a new message.
type Delivery struct {
	ID            string          `json:"id"`
	WebhookID     string          `json:"webhook_id"`
	ProjectID     string          `json:"project_id"`
	Type          string          `json:"type"`
	Payload       json.RawMessage `json:"payload"`
	CreatedAt     time.Time       `json:"created_at"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastAttemptAt *time.Time      `json:"last_attempt_at"`
	LastStatus    int             `json:"last_status_code"`
	LastError     string          `json:"last_error"`
	DeliveredAt   *time.Time      `json:"delivered_at"`
}

// DeliveryAttempt is the result of one attempt, as the store records it.
type DeliveryAttempt struct {
	At         time.Time
	StatusCode int
	Error      string
	Delivered  bool
	Final      bool // no attempt follows: a failure now fails the delivery
}

// Enqueuer puts deliveries, with the jobs that send them, into the transaction
// that stores what they announce.
type Enqueuer interface {
	// Webhooks returns the project's webhooks (enabled or not).
	Webhooks(ctx context.Context, projectID string) ([]*Webhook, error)
	// EnqueueDeliveries stores each delivery whose id is new and its send job,
	// and reports which were new.
	EnqueueDeliveries(ctx context.Context, ds []*Delivery) ([]bool, error)
}

// WebhookStore keeps webhooks and their deliveries.
type WebhookStore interface {
	// CreateWebhook stores a new webhook.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// ListWebhooks returns the project's webhooks, newest first.
	ListWebhooks(ctx context.Context, projectID string) ([]*Webhook, error)
	// DeleteWebhook removes a webhook and its deliveries, or is WebhookNotFound.
	DeleteWebhook(ctx context.Context, projectID, id string) error
	// DisableWebhook stops deliveries to a webhook (at, with the reason), or
	// with at nil enables it again with its failure count reset.
	DisableWebhook(ctx context.Context, projectID, id string, at *time.Time, reason string) error
	// ListDeliveries returns up to limit of a webhook's deliveries, newest
	// first, after the id `after`; a webhook that is not the project's is
	// WebhookNotFound.
	ListDeliveries(ctx context.Context, projectID, webhookID, after string, limit int) ([]*Delivery, error)
	// FindDelivery returns a delivery and its webhook, or DeliveryNotFound
	// when either is gone.
	FindDelivery(ctx context.Context, id string) (*Delivery, *Webhook, error)
	// RecordAttempt stores an attempt's result. A delivered attempt resets the
	// webhook's run of failures; a final failure adds one, and disables the
	// webhook when the run reaches disableAfter.
	RecordAttempt(ctx context.Context, deliveryID string, a DeliveryAttempt, disableAfter int) error
}

// WebhookNotFound reports a webhook that does not exist in the project.
func WebhookNotFound(id string) *Error { return NotFound("webhook", id) }

// DeliveryNotFound reports a delivery that is gone (its webhook was deleted).
func DeliveryNotFound(id string) *Error { return NotFound("delivery", id) }

// MarshalJSON renders timestamps with milliseconds, as the API promises.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	return json.Marshal(struct {
		plain
		CreatedAt  string  `json:"created_at"`
		DisabledAt *string `json:"disabled_at"`
	}{plain(w), FormatTime(w.CreatedAt), FormatOptionalTime(w.DisabledAt)})
}

// MarshalJSON renders timestamps with milliseconds, as the API promises.
func (d Delivery) MarshalJSON() ([]byte, error) {
	type plain Delivery
	return json.Marshal(struct {
		plain
		CreatedAt     string  `json:"created_at"`
		LastAttemptAt *string `json:"last_attempt_at"`
		DeliveredAt   *string `json:"delivered_at"`
	}{plain(d), FormatTime(d.CreatedAt), FormatOptionalTime(d.LastAttemptAt), FormatOptionalTime(d.DeliveredAt)})
}
