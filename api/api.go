// Package api holds the JSON bodies of the HTTP API that clients read and send,
// so that the server (httpapi) and its Go client (client) share one definition
// and a client does not need the server to build.
package api

import so "github.com/smartonboarding/smartonboard"

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries the code, message and field of an error response.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// CheckResult is the outcome of one readiness check.
type CheckResult struct {
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	Detail    string `json:"detail,omitempty"`
	ElapsedMS int64  `json:"elapsed_ms"`
}

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status string                 `json:"status"`
	Checks map[string]CheckResult `json:"checks"`
}

// Status is the body of GET /v1/status.
type Status struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	BuiltAt  string `json:"built_at"`
	Database string `json:"database"`
	UptimeS  int64  `json:"uptime_s"`
}

// ListResponse is the shape of every list: one page and the cursor of the next.
type ListResponse[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// EventsResponse is the body of a 200 from POST /v1/events.
type EventsResponse struct {
	Accepted   int              `json:"accepted"`
	Duplicates int              `json:"duplicates"`
	Rejected   []RejectedEvent  `json:"rejected"`
	Notices    []EventNoticeOut `json:"notices"`
}

// RejectedEvent says why one event of a batch was not accepted.
type RejectedEvent struct {
	Index   int    `json:"index"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// EventNoticeOut is a remark on an accepted event, such as an out-of-order step.
type EventNoticeOut struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// NextStepEvent is the data of a next_step stream event.
type NextStepEvent struct {
	Flow     string   `json:"flow"`
	NextStep *so.Step `json:"next_step"`
	Reason   string   `json:"reason"`
}

// NextStepResponse is the body of GET /v1/users/{user_id}/next-step.
type NextStepResponse struct {
	NextStep *so.Step `json:"next_step"`
	Reason   string   `json:"reason"`
}

// ProjectView is the project as its admins see it, identity secret included: their
// backend needs it to compute X-User-Hash.
// The secret (and the previous one during a rotation's grace period) is shown
// only to callers with the admin scope.
type ProjectView struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	CreatedAt            string             `json:"created_at"`
	IdentityVerification bool               `json:"identity_verification"`
	IdentitySecret       string             `json:"identity_secret,omitempty"`
	PreviousSecretUntil  string             `json:"previous_identity_secret_until,omitempty"`
	Settings             so.ProjectSettings `json:"settings"`
	Role                 so.Role            `json:"role,omitempty"` // the caller's, for sessions
}

// ProjectPatch changes a project's name and settings.
type ProjectPatch struct {
	Name                 *string             `json:"name"`
	IdentityVerification *bool               `json:"identity_verification"`
	RotateIdentitySecret bool                `json:"rotate_identity_secret"`
	Settings             *so.ProjectSettings `json:"settings"`
}

// ProjectInput is the body of POST /v1/projects.
type ProjectInput struct {
	Name string `json:"name"`
}

// APIKeyView is a stored key as admins see it: never its value.
type APIKeyView struct {
	ID         string     `json:"id"`
	Kind       so.KeyKind `json:"kind"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []so.Scope `json:"scopes"`
	CreatedBy  string     `json:"created_by"`
	Source     string     `json:"source"`
	CreatedAt  string     `json:"created_at"`
	LastUsedAt *string    `json:"last_used_at"`
	ExpiresAt  *string    `json:"expires_at"`
	RevokedAt  *string    `json:"revoked_at"`
}

// APIKeyCreated is the answer to POST /v1/api-keys: the only time the key's
// value is shown.
type APIKeyCreated struct {
	APIKeyView
	Key string `json:"key"`
}

// LoginRequest is the body of POST /v1/auth/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// AccountView is an account without its password hash.
type AccountView struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	CreatedAt string `json:"created_at"`
}

// Me is the body of POST /v1/auth/login and GET /v1/auth/me: who is signed in,
// the CSRF token to send as X-CSRF-Token, and the projects with their roles.
type Me struct {
	Account   AccountView   `json:"account"`
	CSRFToken string        `json:"csrf_token"`
	ExpiresAt string        `json:"expires_at"`
	Projects  []ProjectView `json:"projects"`
}

// MemberView is one member of a project.
type MemberView struct {
	AccountID string  `json:"account_id"`
	Email     string  `json:"email"`
	Role      so.Role `json:"role"`
	CreatedAt string  `json:"created_at"`
}

// AuditEntryView is one entry of the audit log.
type AuditEntryView struct {
	ID        string   `json:"id"`
	At        string   `json:"at"`
	Actor     string   `json:"actor"`
	Action    string   `json:"action"`
	Target    string   `json:"target"`
	Status    int      `json:"status"`
	Changes   []string `json:"changes"`
	RequestID string   `json:"request_id,omitempty"`
}

// ImportSummary is the answer to POST /v1/import: what became of the lines.
type ImportSummary struct {
	Lines      int `json:"lines"`
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Identified int `json:"identified"` // user lines whose traits were stored
	// LastLine is the last line of the request whose outcome is committed.
	LastLine int `json:"last_line"`
	// Errors are the first MaxImportErrors rejected lines, in order.
	Errors          []ImportError `json:"errors"`
	ErrorsTruncated bool          `json:"errors_truncated"`
}

// ImportError says why one line was not accepted.
type ImportError struct {
	Line    int    `json:"line"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// MaxImportErrors bounds the errors an import summary lists.
const MaxImportErrors = 100
