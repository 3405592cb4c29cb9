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
type ProjectView struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	CreatedAt            string `json:"created_at"`
	IdentityVerification bool   `json:"identity_verification"`
	IdentitySecret       string `json:"identity_secret,omitempty"`
}

// ProjectPatch changes project settings.
type ProjectPatch struct {
	Name                 *string `json:"name"`
	IdentityVerification *bool   `json:"identity_verification"`
	RotateIdentitySecret bool    `json:"rotate_identity_secret"`
}
