package smartonboard

import (
	"context"
	"encoding/json"
	"time"
)

// AlertStatus is where an alert stands: open → acknowledged → resolved; an
// open alert also resolves itself once its condition clears.
type AlertStatus string

// Alert statuses.
const (
	AlertOpen         AlertStatus = "open"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertResolved     AlertStatus = "resolved"
)

// AlertStatuses lists the statuses, for validation.
var AlertStatuses = []AlertStatus{AlertOpen, AlertAcknowledged, AlertResolved}

// Alert is a condition on a project's onboarding that someone should look at.
type Alert struct {
	ID        string             `json:"id"`
	ProjectID string             `json:"-"`
	Key       string             `json:"key"` // rule and subject: one alert at a time per key
	Rule      string             `json:"rule"`
	Severity  string             `json:"severity"`
	Status    AlertStatus        `json:"status"`
	Message   string             `json:"message"`
	Numbers   map[string]float64 `json:"numbers"` // the numbers that fired it, as last evaluated
	// Query is the report that shows the numbers.
	Query          string     `json:"query"`
	OpenedAt       time.Time  `json:"opened_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	ResolvedBy     string     `json:"resolved_by,omitempty"` // "condition" (it cleared) or "user"
	// Cleared records that the condition was seen false since a user resolved
	// the alert: only then may the key open a new one.
	Cleared bool `json:"-"`
}

// MarshalJSON renders timestamps with milliseconds, as the API promises.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	return json.Marshal(struct {
		plain
		OpenedAt       string  `json:"opened_at"`
		UpdatedAt      string  `json:"updated_at"`
		AcknowledgedAt *string `json:"acknowledged_at"`
		ResolvedAt     *string `json:"resolved_at"`
	}{plain(a), FormatTime(a.OpenedAt), FormatTime(a.UpdatedAt), FormatOptionalTime(a.AcknowledgedAt),
		FormatOptionalTime(a.ResolvedAt)})
}

// AlertFilter narrows an alert listing.
type AlertFilter struct {
	Status AlertStatus // "" for all
	Limit  int
}

// AlertsTx is the transaction in which one project's alerts are evaluated.
type AlertsTx interface {
	// LatestAlerts returns the newest alert of each key, locked.
	LatestAlerts(ctx context.Context, projectID string) (map[string]*Alert, error)
	// SaveAlert inserts or updates an alert by id.
	SaveAlert(ctx context.Context, a *Alert) error
	// Enqueuer announces opened alerts to webhooks in the transaction.
	Enqueuer
}

// AlertStore keeps alerts.
type AlertStore interface {
	// EvaluateAlerts runs fn in one transaction that holds off any other
	// evaluation of the project's alerts.
	EvaluateAlerts(ctx context.Context, projectID string, fn func(ctx context.Context, tx AlertsTx) error) error
	// ListAlerts returns a project's alerts, newest first.
	ListAlerts(ctx context.Context, projectID string, f AlertFilter) ([]*Alert, error)
	// FindAlert returns one alert, or AlertNotFound.
	FindAlert(ctx context.Context, projectID, id string) (*Alert, error)
	// UpdateAlert stores a changed alert if its status is still from (else a
	// conflict), or AlertNotFound.
	UpdateAlert(ctx context.Context, a *Alert, from AlertStatus) error
	// ActiveProjects lists the projects with journeys rolled up or events
	// rejected since the time.
	ActiveProjects(ctx context.Context, since time.Time) ([]string, error)
}

// Acknowledge marks an open alert as seen: it then stays until a user
// resolves it. Acknowledging it again changes nothing; a resolved alert
// cannot be.
func (a *Alert) Acknowledge(at time.Time) (changed bool, err error) {
	switch a.Status {
	case AlertAcknowledged:
		return false, nil
	case AlertResolved:
		return false, AlertTransition(a.ID, a.Status, "acknowledged")
	}
	a.Status, a.AcknowledgedAt, a.UpdatedAt = AlertAcknowledged, &at, at
	return true, nil
}

// Resolve closes an alert by hand; its key opens no new alert until its
// condition has cleared. Resolving it again changes nothing.
func (a *Alert) Resolve(at time.Time) (changed bool) {
	if a.Status == AlertResolved {
		return false
	}
	a.Status, a.ResolvedAt, a.ResolvedBy, a.Cleared, a.UpdatedAt = AlertResolved, &at, "user", false, at
	return true
}
