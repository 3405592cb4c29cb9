package httpapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
	"github.com/smartonboarding/smartonboard/ingest"
	"github.com/smartonboarding/smartonboard/sqlite"
)

// fuzzBatches are seed bodies for the event fuzz targets: valid batches, and
// each way the envelope or an event can be wrong.
func fuzzBatches() []string {
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	ev := func(fields string) string {
		return `{"id":"e1","type":"click","user_id":"u1","timestamp":"` + ts + `"` + fields + `}`
	}
	return []string{
		`{"events":[` + ev(`,"session_id":"s1","properties":{"target":"#save","x":1}`) + `]}`,
		`{"events":[` + ev(``) + `,` + strings.Replace(ev(`,"flow":"onboarding","step":"connect"`), `"click"`, `"step_completed"`, 1) + `]}`,
		`{"events":[` + strings.Replace(ev(`,"properties":{"name":"exported"}`), `"click"`, `"custom"`, 1) + `]}`,
		`{"events":[]}`,
		`{"events":null}`,
		`{}`,
		`[]`,
		``,
		`{"events":[null]}`,
		`{"events":[1,"x",[],{}]}`,
		`{"events":[` + ev(`,"unknown":1`) + `]}`,
		`{"events":[` + ev(``) + `]} trailing`,
		`{"events":[` + ev(``) + `]}{"events":[]}`,
		`{"events":[{"id":7,"type":"click"}]}`,
		`{"events":[{"id":"` + strings.Repeat("x", 100) + `","type":"click","user_id":"u","timestamp":"` + ts + `"}]}`,
		`{"events":[` + ev(`,"properties":{"a":"\u0000"}`) + `]}`,
		`{"events":[` + ev(`,"properties":{"a":"\ud800"}`) + `]}`,
		`{"events":[` + strings.Replace(ev(``), `"u1"`, `"deny-me"`, 1) + `]}`,
		`{"events":[` + strings.Replace(ev(``), ts, "0000-01-01T00:00:00+01:00", 1) + `]}`,
		`{"events":[` + strings.Replace(ev(``), `"u1"`, "\"\xff\"", 1) + `]}`,
		`{"Events":[` + strings.Replace(ev(``), `"id"`, `"ID"`, 1) + `]}`,
		`{"events":[` + ev(``) + `],"events":[]}`,
		`{"events":[` + strings.TrimSuffix(strings.Repeat(ev(``)+",", so.MaxEventsPerBatch+1), ",") + `]}`,
	}
}

// FuzzEventBatch protects the event envelope: decodeEventBatch and validateEvents
// never panic on any body; a refused body is a 4xx application error; every event
// is either accepted or rejected, once, by its index in the batch; and every
// accepted event passes validation again.
func FuzzEventBatch(f *testing.F) {
	for _, b := range fuzzBatches() {
		f.Add([]byte(b))
	}
	verify := func(userID string) error {
		if strings.HasPrefix(userID, "deny") {
			return so.FieldErrorf(so.EUNAUTHORIZED, "user_id", "identity verification refused the user")
		}
		return nil
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		inputs, err := decodeEventBatch(body)
		if err != nil {
			checkClientError(t, "decodeEventBatch", err)
			return
		}
		if inputs == nil || len(inputs) > so.MaxEventsPerBatch {
			t.Fatalf("decodeEventBatch took %d events (nil: %v); the limit is %d", len(inputs), inputs == nil, so.MaxEventsPerBatch)
		}
		for i, in := range inputs {
			if in.err != nil {
				checkClientError(t, fmt.Sprintf("event %d", i), in.err)
			}
		}
		events, index, resp := validateEvents("default", verify, inputs)
		if len(events) != len(index) || len(events)+len(resp.Rejected) != len(inputs) {
			t.Fatalf("%d events: %d accepted (%d indexes), %d rejected", len(inputs), len(events), len(index), len(resp.Rejected))
		}
		seen := make([]bool, len(inputs))
		mark := func(i int, what string) {
			if i < 0 || i >= len(inputs) || seen[i] {
				t.Fatalf("%s index %d is outside the batch of %d or given twice", what, i, len(inputs))
			}
			seen[i] = true
		}
		for _, i := range index {
			mark(i, "accepted")
		}
		for _, rej := range resp.Rejected {
			mark(rej.Index, "rejected")
			status, ok := statusOf[rej.Code]
			if !ok || status < 400 || status >= 500 || rej.Message == "" {
				t.Fatalf("rejection %+v: want a 4xx code and a message", rej)
			}
		}
		if resp.Accepted != 0 || resp.Duplicates != 0 || resp.Notices == nil || len(resp.Notices) != 0 {
			t.Fatalf("validateEvents filled in what only ingestion knows: %+v", resp)
		}
		for k, ev := range events {
			if ev.ProjectID != "default" || verify(ev.UserID) != nil {
				t.Fatalf("accepted event %d of project %q, user %q", index[k], ev.ProjectID, ev.UserID)
			}
			checkRevalidates(t, ev)
		}
	})
}

// checkClientError wants an application error the API answers with a 4xx.
func checkClientError(t *testing.T, what string, err error) {
	t.Helper()
	var appErr *so.Error
	if !errors.As(err, &appErr) || so.ErrorCode(err) == so.EINTERNAL {
		t.Fatalf("%s: %v (%T) is not an application error", what, err, err)
	}
	if status := statusOf[appErr.Code]; status < 400 || status >= 500 || appErr.Message == "" {
		t.Fatalf("%s: %#v: want a 4xx code and a message", what, appErr)
	}
}

// checkRevalidates wants an accepted event to pass NewEvent again unchanged.
func checkRevalidates(t *testing.T, ev *so.Event) {
	t.Helper()
	if ev.Timestamp.Year() < 1 {
		// Before year 1 in UTC (a year-0 time with a positive offset) RFC 3339
		// cannot write the time back, so there is nothing to validate again.
		return
	}
	in := so.EventInput{ID: ev.ID, Type: ev.Type, UserID: ev.UserID, SessionID: ev.SessionID, Flow: ev.Flow,
		Step: ev.Step, Timestamp: so.FormatTime(ev.Timestamp), Properties: ev.Properties}
	again, err := so.NewEvent(ev.ProjectID, in, so.Now())
	if err != nil {
		t.Fatalf("accepted event %+v fails validation again: %v", ev, err)
	}
	if !again.Timestamp.Equal(ev.Timestamp) || !bytes.Equal(again.Properties, ev.Properties) {
		t.Fatalf("validating again changed the event: %+v, then %+v", ev, again)
	}
}

// recordingIngester stands in for group commit: it keeps each batch and reports
// every event inserted.
type recordingIngester struct {
	mu     sync.Mutex
	events []*so.Event
}

func (g *recordingIngester) Submit(_ context.Context, events []*so.Event) (*ingest.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.events = events
	res := &ingest.Result{Inserted: make([]bool, len(events)), Notices: make([]*so.Notice, len(events))}
	for i := range res.Inserted {
		res.Inserted[i] = true
	}
	return res, nil
}

func (g *recordingIngester) take() []*so.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	events := g.events
	g.events = nil
	return events
}

// FuzzPostEvents protects POST /v1/events through the whole handler stack (request
// id, panic recovery, metrics, CORS, authentication with a real SQLite key store,
// identity verification, limits): whatever the body, content type and query, the
// answer is never a 5xx, an error is the JSON error shape with its code's status,
// a 200 accounts for exactly the events handed to ingestion, all valid, and
// its rejections are each counted once for the rejected-events alert.
func FuzzPostEvents(f *testing.F) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.Migrator().Up(ctx); err != nil {
		f.Fatal(err)
	}
	boot, err := so.Bootstrap(ctx, db, "", "")
	if err != nil {
		f.Fatal(err)
	}
	// A second project verifies identities: its events need X-User-Hash.
	const identitySecret = "fuzz-identity-secret"
	verified := &so.Project{ID: "verified", Name: "Verified", CreatedAt: so.Now(), IdentitySecret: identitySecret}
	if err := db.CreateProject(ctx, verified); err != nil {
		f.Fatal(err)
	}
	verifiedKey := so.GenerateKey(so.KeyPublic)
	if err := db.CreateAPIKey(ctx, so.NewAPIKey(verified.ID, so.KeyPublic, "fuzz", verifiedKey)); err != nil {
		f.Fatal(err)
	}
	ingester := &recordingIngester{}
	s := &Server{Projects: db, Ingest: ingester, Rejections: db}
	handler := s.Handler()

	for _, b := range fuzzBatches() {
		f.Add([]byte(b), "application/json", "", false, "")
	}
	f.Add([]byte(fuzzBatches()[0]), "text/plain;charset=UTF-8", "", false, "")
	f.Add([]byte(fuzzBatches()[0]), "application/json", "", true, "u1")
	f.Add([]byte(fuzzBatches()[0]), "application/json", "user_hash=00", true, "")
	f.Add([]byte(fuzzBatches()[0]), "application/json", "key=sk_nope", false, "")
	f.Add([]byte(fuzzBatches()[0]), "text/html", "", false, "")
	f.Add([]byte(fuzzBatches()[0]), "", "", false, "")
	f.Add([]byte(fuzzBatches()[0]), "application/json; charset=\"", "%zz", false, "")
	f.Fuzz(func(t *testing.T, body []byte, contentType, query string, toVerified bool, hashUser string) {
		key, projectID := boot.GeneratedPublicKey, so.DefaultProjectID
		if toVerified {
			key, projectID = verifiedKey, verified.ID
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Authorization", "Bearer "+key)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if hashUser != "" {
			r.Header.Set("X-User-Hash", hex.EncodeToString(so.UserHash(identitySecret, hashUser)))
		}
		w := httptest.NewRecorder()
		before := pendingEvents(s.rejections)
		handler.ServeHTTP(w, r)
		submitted := ingester.take()
		counted := pendingEvents(s.rejections) - before

		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if w.Code != http.StatusOK {
			var e api.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || statusOf[e.Error.Code] != w.Code {
				t.Fatalf("status %d with body %s: want the error shape with a matching code", w.Code, w.Body)
			}
			if submitted != nil || counted != 0 {
				t.Fatalf("status %d, yet %d events went to ingestion and %d were counted as rejected", w.Code, len(submitted), counted)
			}
			return
		}
		var resp api.EventsResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("200 with body %s: %v", w.Body, err)
		}
		if resp.Accepted != len(submitted) || resp.Duplicates != 0 || resp.Rejected == nil || resp.Notices == nil {
			t.Fatalf("200 %+v, but %d events went to ingestion", resp, len(submitted))
		}
		if counted != int64(len(resp.Rejected)) {
			t.Fatalf("200 with %d rejections, but %d were counted", len(resp.Rejected), counted)
		}
		for _, ev := range submitted {
			if ev.ProjectID != projectID {
				t.Fatalf("an event of project %q went in through a key of %q", ev.ProjectID, projectID)
			}
			if toVerified && ev.UserID != hashUser {
				t.Fatalf("identity verification let user %q in with the hash of %q", ev.UserID, hashUser)
			}
			checkRevalidates(t, ev)
		}
	})
}
