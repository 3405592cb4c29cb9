package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// auditNote collects what a handler changed, for the entry written after it.
type auditNote struct {
	rec       *statusRecorder
	projectID string   // when the handler acted on another project (one it created)
	target    string   // when the change made a new path (a created key's)
	changes   []string // top-level field names of the request body
}

// audited tells which requests are admin changes: every unsafe request on an
// admin route.
func audited(who access, method string) bool {
	switch who {
	case anyone, public:
		return false
	}
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// startAudit gives the request a note and the writer a status recorder.
func (s *Server) startAudit(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	n := &auditNote{rec: &statusRecorder{ResponseWriter: w}}
	return n.rec, r.WithContext(context.WithValue(r.Context(), auditKey, n))
}

// finishAudit stores the entry of a change that succeeded. It runs after the
// response, so a failure to store it can only be logged.
func (s *Server) finishAudit(_ http.ResponseWriter, r *http.Request) {
	n, _ := r.Context().Value(auditKey).(*auditNote)
	p := principalFrom(r.Context())
	if n == nil || p == nil || s.Audit == nil || n.rec.status >= 400 || n.rec.status == 0 {
		return
	}
	e := &so.AuditEntry{ID: so.NewID(), ProjectID: cmp.Or(n.projectID, p.ProjectID), At: so.Now(), Actor: p.Actor(),
		Action: r.Pattern, Target: cmp.Or(n.target, r.URL.Path), Status: n.rec.status, Changes: n.changes,
		RequestID: requestID(r.Context())}
	if e.ProjectID == "" { // signing out changes no project
		return
	}
	if e.Changes == nil {
		e.Changes = []string{}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.Audit.AppendAudit(ctx, e); err != nil {
		s.Logger.ErrorContext(ctx, "cannot write the audit log", "err", err, "action", e.Action, "target", e.Target,
			"actor", e.Actor, "request_id", e.RequestID)
	}
}

// noteChanges records the names (never the values) of a body's top-level fields.
func noteChanges(r *http.Request, body []byte) {
	n, _ := r.Context().Value(auditKey).(*auditNote)
	if n == nil {
		return
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return
	}
	n.changes = n.changes[:0]
	for k := range fields {
		n.changes = append(n.changes, k)
	}
	slices.Sort(n.changes)
}

// noteTarget names what a change created or the project it acted on.
func noteTarget(r *http.Request, projectID, target string) {
	if n, _ := r.Context().Value(auditKey).(*auditNote); n != nil {
		n.projectID, n.target = projectID, target
	}
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "actor", "action", "target", "since", "until", "limit", "cursor")
	if err != nil {
		return err
	}
	f := so.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	if f.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(q.Get("until"), "until"); err != nil {
		return err
	}
	if f.Limit, err = limitParam(q); err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = so.DefaultListLimit
	}
	if f.Limit > so.MaxListLimit {
		return so.FieldErrorf(so.EINVALID, "limit", "must be a whole number between 1 and %d", so.MaxListLimit)
	}
	if f.Before, err = so.DecodeCursor(q.Get("cursor")); err != nil {
		return err
	}
	f.Limit++ // one more tells whether there is a next page
	entries, err := s.Audit.ListAudit(r.Context(), projectID(r), f)
	if err != nil {
		return err
	}
	next := ""
	if len(entries) == f.Limit {
		entries = entries[:f.Limit-1]
		next = so.EncodeCursor(entries[len(entries)-1].ID)
	}
	views := make([]api.AuditEntryView, len(entries))
	for i, e := range entries {
		views[i] = api.AuditEntryView{ID: e.ID, At: so.FormatTime(e.At), Actor: e.Actor, Action: e.Action,
			Target: e.Target, Status: e.Status, Changes: e.Changes, RequestID: e.RequestID}
	}
	writeJSON(w, http.StatusOK, newList(views, next))
	return nil
}

// timeParam parses an optional RFC 3339 query parameter.
func timeParam(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, so.FieldErrorf(so.EINVALID, field, "%q is not an RFC 3339 timestamp", v)
	}
	return t, nil
}
