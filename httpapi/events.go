package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/ingest"
)

// Ingester commits validated events and answers when they are durable.
type Ingester interface {
	Submit(ctx context.Context, events []*so.Event) (*ingest.Result, error)
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

// postEvents validates each event on its own, commits the valid ones through group
// commit, and answers 200 only once they are durable.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) error {
	if err := checkContentType(r, "application/json", "text/plain"); err != nil {
		return err
	}
	body, err := readBody(w, r, so.MaxEventBatchBytes)
	if err != nil {
		return err
	}
	var envelope struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := unmarshalStrict(body, &envelope); err != nil {
		return err
	}
	if envelope.Events == nil {
		return so.FieldErrorf(so.EINVALID, "events", "is required: send {\"events\": [...]}")
	}
	if len(envelope.Events) > so.MaxEventsPerBatch {
		return so.FieldErrorf(so.ETOOLARGE, "events", "%d events in one request; the limit is %d", len(envelope.Events), so.MaxEventsPerBatch)
	}
	events, index, resp := s.validateEvents(r, envelope.Events)
	result, err := s.Ingest.Submit(r.Context(), events)
	if err != nil {
		return err
	}
	for i, ok := range result.Inserted {
		if ok {
			resp.Accepted++
		} else {
			resp.Duplicates++
		}
		if n := result.Notices[i]; n != nil {
			resp.Notices = append(resp.Notices, EventNoticeOut{Index: index[i], ID: events[i].ID, Code: n.Code, Message: n.Message})
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// validateEvents decodes and checks each event; rejected ones are listed with
// their reason and never hold back their valid siblings.
func (s *Server) validateEvents(r *http.Request, raw []json.RawMessage) ([]*so.Event, []int, *EventsResponse) {
	resp := &EventsResponse{Rejected: []RejectedEvent{}, Notices: []EventNoticeOut{}}
	events, index := make([]*so.Event, 0, len(raw)), make([]int, 0, len(raw))
	now := so.Now()
	for i, msg := range raw {
		var in so.EventInput
		err := unmarshalStrict(msg, &in)
		if err == nil && !bytes.HasPrefix(bytes.TrimSpace(msg), []byte("{")) {
			err = so.Errorf(so.EINVALID, "each event must be a JSON object")
		}
		var ev *so.Event
		if err == nil {
			ev, err = so.NewEvent(projectID(r), in, now)
		}
		if err == nil {
			err = s.checkUser(r, ev.UserID)
		}
		if err != nil {
			resp.Rejected = append(resp.Rejected, RejectedEvent{Index: i, ID: rawID(msg), Code: so.ErrorCode(err),
				Field: so.ErrorField(err), Message: so.ErrorMessage(err)})
			continue
		}
		events, index = append(events, ev), append(index, i)
	}
	return events, index, resp
}

// rawID recovers an event's id for a rejection report, if it has a string one.
func rawID(msg json.RawMessage) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(msg, &v) != nil {
		return ""
	}
	id, _ := v.ID.(string)
	if len(id) > so.MaxEventIDLen {
		return ""
	}
	return id
}
