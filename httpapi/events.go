package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	gojson "github.com/goccy/go-json"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
	"github.com/smartonboarding/smartonboard/ingest"
)

// Ingester commits validated events and answers when they are durable.
type Ingester interface {
	Submit(ctx context.Context, events []*so.Event) (*ingest.Result, error)
}

// postEvents validates each event on its own, commits the valid ones through group
// commit, and answers 200 only once they are durable; the rejections it answers
// with are counted in memory for the rejected-events alert.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) error {
	if err := checkContentType(r, "application/json", "text/plain"); err != nil {
		return err
	}
	body, err := readBody(w, r, so.MaxEventBatchBytes)
	if err != nil {
		return err
	}
	inputs, err := decodeEventBatch(body)
	if err != nil {
		return err
	}
	verify, err := s.userVerifier(r)
	if err != nil {
		return err
	}
	events, index, resp := validateEvents(projectID(r), verify, inputs)
	if err := s.limitUsers(w, r, batchUsers(events)); err != nil {
		return err
	}
	result, err := s.Ingest.Submit(r.Context(), events)
	if err != nil {
		return err
	}
	refused := false
	for i, ok := range result.Inserted {
		switch {
		case ok:
			resp.Accepted++
		case result.Refused[i] != nil:
			refused = true
			resp.Rejected = append(resp.Rejected, rejection(index[i], events[i].ID, result.Refused[i]))
			continue
		default:
			resp.Duplicates++
		}
		if n := result.Notices[i]; n != nil {
			resp.Notices = append(resp.Notices, api.EventNoticeOut{Index: index[i], ID: events[i].ID, Code: n.Code, Message: n.Message})
		}
	}
	if refused { // keep the rejections in request order
		slices.SortFunc(resp.Rejected, func(a, b api.RejectedEvent) int { return a.Index - b.Index })
	}
	s.rejections.count(projectID(r), time.Now(), resp.Rejected)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// rejection reports one refused event of a batch.
func rejection(index int, id string, err error) api.RejectedEvent {
	return api.RejectedEvent{Index: index, ID: id, Code: so.ErrorCode(err), Field: so.ErrorField(err), Message: so.ErrorMessage(err)}
}

// eventInput is one event of a batch: decoded, or the error that stopped it.
type eventInput struct {
	in  so.EventInput
	raw json.RawMessage
	err error
}

// decodeEventBatch decodes the envelope. The common, all-valid batch is decoded in
// one pass and its text checked in another; only when either fails is each event
// decoded and checked on its own, so a bad event is reported by index and never
// takes its siblings down.
// eventDepth is how deep an event's own fields are in a batch: the envelope
// object, the events array, the event object.
const eventDepth = 3

func decodeEventBatch(body []byte) ([]eventInput, error) {
	var fast struct {
		Events []so.EventInput `json:"events"`
	}
	if fastDecode(body, &fast) == nil && fast.Events != nil && len(fast.Events) <= so.MaxEventsPerBatch &&
		!slices.ContainsFunc(fast.Events, isNullEvent) && checkJSONNames(body, anyDepth, eventDepth) == nil {
		out := make([]eventInput, len(fast.Events))
		for i := range fast.Events {
			out[i].in = fast.Events[i]
		}
		return out, nil
	}
	var envelope struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := unmarshalStrict(body, &envelope); err != nil {
		return nil, err
	}
	if err := checkJSONNames(body, 1, 1); err != nil {
		return nil, err // the envelope's own names: events given twice, or misspelt
	}
	if envelope.Events == nil {
		return nil, so.FieldErrorf(so.EINVALID, "events", "is required: send {\"events\": [...]}")
	}
	if len(envelope.Events) > so.MaxEventsPerBatch {
		return nil, so.FieldErrorf(so.ETOOLARGE, "events", "%d events in one request; the limit is %d", len(envelope.Events), so.MaxEventsPerBatch)
	}
	out := make([]eventInput, len(envelope.Events))
	for i, msg := range envelope.Events {
		out[i].raw = msg
		out[i].err = unmarshalStrict(msg, &out[i].in)
		if out[i].err == nil && !bytes.HasPrefix(bytes.TrimSpace(msg), []byte("{")) {
			out[i].err = so.Errorf(so.EINVALID, "each event must be a JSON object")
		}
		if out[i].err == nil {
			out[i].err = checkJSONNames(msg, anyDepth, 1)
		}
	}
	return out, nil
}

// validateEvents checks each decoded event; rejected ones are listed with their
// reason and never hold back their valid siblings.
func validateEvents(projectID string, verify func(userID string) error, inputs []eventInput) ([]*so.Event, []int, *api.EventsResponse) {
	resp := &api.EventsResponse{Rejected: []api.RejectedEvent{}, Notices: []api.EventNoticeOut{}}
	events, index := make([]*so.Event, 0, len(inputs)), make([]int, 0, len(inputs))
	now := so.Now()
	for i, in := range inputs {
		err := in.err
		var ev *so.Event
		if err == nil {
			ev, err = so.NewEvent(projectID, in.in, now)
		}
		if err == nil {
			err = verify(ev.UserID)
		}
		if err != nil {
			id := in.in.ID
			if in.raw != nil {
				id = rawID(in.raw)
			}
			resp.Rejected = append(resp.Rejected, rejection(i, id, err))
			continue
		}
		events, index = append(events, ev), append(index, i)
	}
	return events, index, resp
}

// batchUsers lists the distinct end users of a batch, in order of appearance.
func batchUsers(events []*so.Event) []string {
	users := make([]string, 0, 4)
	seen := make(map[string]struct{}, min(len(events), 64))
	for _, ev := range events {
		if _, ok := seen[ev.UserID]; !ok {
			seen[ev.UserID] = struct{}{}
			users = append(users, ev.UserID)
		}
	}
	return users
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

// isNullEvent tells an event decoded from JSON null, which the fast path cannot
// report as "not an object" itself.
func isNullEvent(e so.EventInput) bool {
	return e.ID == "" && e.Type == "" && e.UserID == "" && e.Timestamp == "" && e.Properties == nil &&
		e.SessionID == "" && e.Flow == "" && e.Step == ""
}

// fastDecode is the hot path's strict decoder: goccy/go-json, several times
// faster than encoding/json here. Anything it refuses is decoded again by
// encoding/json, whose errors the API reports.
func fastDecode(body []byte, dst any) error {
	r := bytes.NewReader(body)
	dec := gojson.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	rest, _ := io.ReadAll(io.MultiReader(dec.Buffered(), r))
	if len(bytes.TrimSpace(rest)) > 0 {
		return errors.New("data after the JSON value")
	}
	return nil
}
