package smartonboard

import (
	"context"
	"time"
)

// AuditEntry records one admin change: who, when, what, on which target, and
// the names of the fields it changed (never their values, which may be secret).
type AuditEntry struct {
	ID        string // time-ordered, so it is also the page cursor
	ProjectID string
	At        time.Time
	Actor     string // "key:<id>" or "account:<id>"
	Action    string // the operation, as "METHOD /path/pattern"
	Target    string // the request path that named the target
	Status    int    // the HTTP status it answered
	Changes   []string
	RequestID string
}

// AuditFilter narrows an audit listing; zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Action string
	Target string // exact path
	Since  time.Time
	Until  time.Time
	Before string // id cursor: entries older than this one
	Limit  int
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAudit stores an entry.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns a project's entries newest first.
	ListAudit(ctx context.Context, projectID string, f AuditFilter) ([]*AuditEntry, error)
}
