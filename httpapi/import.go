package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// Import limits: a line holds one event or one user; the deadlines move on
// with every batch, so a long import is cut only when it stalls.
const (
	maxImportLine  = 256 << 10
	importDeadline = 2 * time.Minute
)

// importHistory loads historical users and events from a JSON-lines body:
// each line is an event as POST /v1/events takes it, or a user as POST
// /v1/identify takes it ({"user_id", "traits"}). Lines go in batches through
// the same validation and the same group commit as live events (so an event
// id already stored counts as a duplicate, and sending a file again is
// harmless); the answer counts every line and names the rejected ones.
func (s *Server) importHistory(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "first_line")
	if err != nil {
		return err
	}
	if err := checkContentType(r, "application/x-ndjson", "application/jsonl", "text/plain"); err != nil {
		return err
	}
	first := 1
	if v := q.Get("first_line"); v != "" {
		if first, err = strconv.Atoi(v); err != nil || first < 1 {
			return so.FieldErrorf(so.EINVALID, "first_line", "must be a positive line number")
		}
	}
	imp := &importRun{s: s, r: r, rc: http.NewResponseController(w), project: projectID(r),
		sum: &api.ImportSummary{Errors: []api.ImportError{}}, line: first - 1}
	imp.sum.LastLine = first - 1
	if err := imp.run(bufio.NewReaderSize(r.Body, 64<<10)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, imp.sum)
	return nil
}

// importRun is one import request's progress.
type importRun struct {
	s       *Server
	r       *http.Request
	rc      *http.ResponseController
	project string
	sum     *api.ImportSummary
	line    int
	events  []*so.Event
	lines   []int // the line of each pending event
	users   []pendingUser
}

type pendingUser struct {
	line int
	in   so.IdentifyInput
}

// run reads every line, flushing a batch whenever one is full.
func (m *importRun) run(br *bufio.Reader) error {
	m.extend()
	for {
		line, tooLong, err := readLine(br, maxImportLine)
		if err == nil || len(line) > 0 || tooLong {
			m.line++ // blank lines count, so numbers match the file's
		}
		if len(line) > 0 || tooLong {
			m.sum.Lines++
			m.take(line, tooLong)
		}
		if len(m.events) == so.MaxEventsPerBatch || len(m.users) == so.MaxEventsPerBatch {
			if err := m.flush(); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return m.flush()
		} else if err != nil {
			return so.Errorf(so.EINVALID, "reading the body after line %d: %v", m.line, err)
		}
	}
}

// extend moves the connection's deadlines on.
func (m *importRun) extend() {
	_ = m.rc.SetReadDeadline(time.Now().Add(importDeadline))
	_ = m.rc.SetWriteDeadline(time.Now().Add(importDeadline))
}

// take decodes one line into the pending batch, or records why not.
func (m *importRun) take(line []byte, tooLong bool) {
	if tooLong {
		m.reject(m.line, "", so.Errorf(so.ETOOLARGE, "the line is longer than %d bytes", maxImportLine))
		return
	}
	var probe struct {
		Type   *string         `json:"type"`
		Traits json.RawMessage `json:"traits"`
	}
	if err := json.Unmarshal(line, &probe); err != nil || !bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) {
		m.reject(m.line, "", so.Errorf(so.EINVALID, "each line must be one JSON object: an event, or a user with traits"))
		return
	}
	if probe.Type == nil && probe.Traits != nil {
		var u so.IdentifyInput
		if err := decodeObject(line, &u); err != nil {
			m.reject(m.line, "", err)
			return
		}
		m.users = append(m.users, pendingUser{m.line, u})
		return
	}
	in := eventInput{raw: line}
	in.err = decodeObject(line, &in.in)
	events, _, resp := validateEvents(m.project, func(string) error { return nil }, []eventInput{in})
	if len(resp.Rejected) > 0 {
		rj := resp.Rejected[0]
		m.add(api.ImportError{Line: m.line, ID: rj.ID, Code: rj.Code, Field: rj.Field, Message: rj.Message})
		return
	}
	m.events, m.lines = append(m.events, events[0]), append(m.lines, m.line)
}

// decodeObject decodes one JSON object strictly: known names spelt exactly, once.
func decodeObject(raw []byte, dst any) error {
	if err := unmarshalStrict(raw, dst); err != nil {
		return err
	}
	return checkJSONNames(raw, anyDepth, 1)
}

// flush stores the pending users' traits, then commits the pending events.
func (m *importRun) flush() error {
	ctx := m.r.Context()
	for _, u := range m.users {
		if _, err := m.s.Users.Identify(ctx, m.project, u.in); so.ErrorCode(err) == so.EINVALID || so.ErrorCode(err) == so.ETOOLARGE {
			m.reject(u.line, "", err)
		} else if err != nil {
			return err
		} else {
			m.sum.Identified++
		}
	}
	if len(m.events) > 0 {
		result, err := m.s.Ingest.Submit(ctx, m.events)
		if err != nil {
			return err
		}
		for i, ok := range result.Inserted {
			switch {
			case ok:
				m.sum.Accepted++
			case result.Refused[i] != nil:
				m.reject(m.lines[i], m.events[i].ID, result.Refused[i])
			default:
				m.sum.Duplicates++
			}
		}
	}
	m.events, m.lines, m.users = m.events[:0], m.lines[:0], m.users[:0]
	m.sum.LastLine = m.line
	m.extend()
	return nil
}

// reject counts a line that was not accepted.
func (m *importRun) reject(line int, id string, err error) {
	m.add(api.ImportError{Line: line, ID: id, Code: so.ErrorCode(err), Field: so.ErrorField(err), Message: so.ErrorMessage(err)})
}

func (m *importRun) add(e api.ImportError) {
	m.sum.Rejected++
	if len(m.sum.Errors) < api.MaxImportErrors {
		m.sum.Errors = append(m.sum.Errors, e)
	} else {
		m.sum.ErrorsTruncated = true
	}
}

// readLine reads one line without its end; a line past max is consumed and
// reported as too long instead.
func readLine(br *bufio.Reader, max int) ([]byte, bool, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			return nil, true, err
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSpace(buf), false, err
	}
}
