package smartonboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	so "github.com/smartonboarding/smartonboard"
)

// FuzzFlowDefinition protects flow validation: a flow definition decoded as the
// HTTP layer decodes it (to create a flow, or to patch a draft) never panics the
// service, is refused with an invalid error naming a field, and is accepted only
// when every text reaching the store is storable, the step graph is a DAG and the
// steps survive the JSON round trip the engines make.
func FuzzFlowDefinition(f *testing.F) {
	f.Add([]byte(`{"key":"onboarding","name":"Get started","description":"First week","steps":[
		{"key":"connect","title":"Connect","kind":"task","content_item_id":"c1","required":true},
		{"key":"invite","title":"Invite","kind":"checklist","content_item_id":"c2","prerequisites":["connect"],"estimated_seconds":60,"target":"#invite"}]}`))
	f.Add([]byte(`{"key":"a","name":"A","steps":[]}`))
	f.Add([]byte(`{"key":"a","name":"A"}`))
	f.Add([]byte(`{"key":"cyc","name":"Cycle","steps":[
		{"key":"a","title":"A","kind":"tour","content_item_id":"c1","prerequisites":["b"]},
		{"key":"b","title":"B","kind":"tour","content_item_id":"c1","prerequisites":["a"]}]}`))
	f.Add([]byte(`{"key":"dup","name":"Dup","steps":[{"key":"a","title":"A","kind":"quiz","content_item_id":"c1"},{"key":"a","title":"A","kind":"quiz","content_item_id":"c1"}]}`))
	f.Add([]byte(`{"key":"self","name":"Self","steps":[{"key":"a","title":"A","kind":"form","content_item_id":"c1","prerequisites":["a"]}]}`))
	f.Add([]byte(`{"key":"unk","name":"Unknown","steps":[{"key":"a","title":"A","kind":"video","content_item_id":"c1","prerequisites":["zz"]}]}`))
	f.Add([]byte(`{"key":"missing","name":"Missing","steps":[{"key":"a","title":"A","kind":"article","content_item_id":"nope"}]}`))
	f.Add([]byte(`{"key":"nul","name":"NUL","steps":[{"key":"a","title":"A","kind":"article","content_item_id":"c\u0000"}]}`))
	f.Add([]byte(`{"key":"Bad Key","name":"","description":"x"}`))
	f.Add([]byte(`{"key":"est","name":"E","steps":[{"key":"a","title":"A","kind":"task","content_item_id":"c1","estimated_seconds":-1}]}`))
	f.Add([]byte(`{"revision":1,"name":"Renamed","steps":[{"key":"a","title":"A","kind":"task","content_item_id":"c1"}]}`))
	f.Add([]byte(`{"revision":2,"description":null}`))
	f.Add([]byte(`{"name":"no revision"}`))
	f.Add([]byte(`{"key":"help","name":"Help","steps":[{"key":"a","title":"A","kind":"task","content_item_id":"c1","help_content_ids":["h1","h2"]}]}`))
	f.Add([]byte(`{"key":"help","name":"Help","steps":[{"key":"a","title":"A","kind":"task","content_item_id":"c1","help_content_ids":["h1","h1"]}]}`))
	f.Add([]byte(`{"key":"help","name":"Help","steps":[{"key":"a","title":"A","kind":"task","content_item_id":"c1","help_content_ids":["c1","nope",""]}]}`))
	f.Add([]byte(`{"revision":1,"steps":[{"key":"a","title":"A","kind":"task","content_item_id":"h1","help_content_ids":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		store := &fakeFlowStore{t: t}
		svc := &so.FlowService{Store: store, Content: fakeContent{t}, Clock: func() time.Time { return fuzzReceived }}
		var in so.FlowInput
		if decodeStrict(body, &in) == nil {
			fl, err := svc.Create(context.Background(), "default", in)
			checkFlowResult(t, "create", fl, err, store)
		}
		var p so.FlowPatch
		if decodeStrict(body, &p) == nil {
			fl, err := svc.UpdateDraft(context.Background(), "default", "stored", p)
			checkFlowResult(t, "update", fl, err, store)
		}
	})
}

// decodeStrict decodes one JSON value with unknown fields refused, as the HTTP
// layer decodes a request body.
func decodeStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func checkFlowResult(t *testing.T, op string, fl *so.Flow, err error, store *fakeFlowStore) {
	t.Helper()
	if err != nil {
		code := so.ErrorCode(err)
		if code == so.ECONFLICT && op == "update" && so.ErrorField(err) == "revision" {
			return // a stale revision
		}
		checkAppError(t, err, so.EINVALID)
		if so.ErrorField(err) == "" {
			t.Fatalf("%s: error %v names no field", op, err)
		}
		return
	}
	if store.saved != fl {
		t.Fatalf("%s: the accepted flow was not the one stored", op)
	}
	if err := fl.Validate(); err != nil {
		t.Fatalf("%s: an accepted flow fails validation again: %v", op, err)
	}
	checkStorable(t, op, "key", fl.Key)
	checkStorable(t, op, "name", fl.Name)
	checkStorable(t, op, "description", fl.Description)
	if fl.Steps == nil || len(fl.Steps) > so.MaxFlowSteps {
		t.Fatalf("%s: accepted steps %v: want a list of at most %d", op, fl.Steps, so.MaxFlowSteps)
	}
	keys := map[string]bool{}
	for _, s := range fl.Steps {
		if keys[s.Key] || s.Prerequisites == nil || s.HelpContentIDs == nil || len(s.HelpContentIDs) > so.MaxHelpContent {
			t.Fatalf("%s: accepted step %+v: a repeated key, null prerequisites or null or too many help items", op, s)
		}
		for j, id := range s.HelpContentIDs {
			if !strings.HasPrefix(id, "h") || slices.Index(s.HelpContentIDs, id) != j {
				t.Fatalf("%s: accepted step %+v: help item %q is no help item or is there twice", op, s, id)
			}
		}
		keys[s.Key] = true
		for _, v := range slices.Concat([]string{s.Key, s.Title, s.ContentItemID, s.Target}, s.Prerequisites, s.HelpContentIDs) {
			checkStorable(t, op, "step "+s.Key, v)
		}
	}
	if !acyclic(fl.Steps) {
		t.Fatalf("%s: accepted steps whose prerequisites are unknown or cyclic: %+v", op, fl.Steps)
	}
	raw, err := json.Marshal(fl.Steps)
	if err != nil {
		t.Fatalf("%s: accepted steps cannot be encoded: %v", op, err)
	}
	back, err := so.DecodeSteps(raw)
	if err != nil || !reflect.DeepEqual(back, fl.Steps) {
		t.Fatalf("%s: steps change in the store's JSON round trip: %+v, read back %+v (%v)", op, fl.Steps, back, err)
	}
}

// checkStorable wants text both engines store as given: valid UTF-8 without NUL.
func checkStorable(t *testing.T, op, what, v string) {
	t.Helper()
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		t.Fatalf("%s: accepted %s text %q, which is not valid UTF-8 without NUL", op, what, v)
	}
}

// acyclic tells whether every prerequisite names a step and the steps can be
// ordered so each comes after its prerequisites (Kahn's algorithm).
func acyclic(steps []so.Step) bool {
	pending := map[string]int{}
	for _, s := range steps {
		pending[s.Key] = len(s.Prerequisites)
	}
	for _, s := range steps {
		for _, p := range s.Prerequisites {
			if _, ok := pending[p]; !ok {
				return false
			}
		}
	}
	for done := 0; done < len(steps); done++ {
		next := ""
		for _, s := range steps {
			if n, ok := pending[s.Key]; ok && n == 0 {
				next = s.Key
				break
			}
		}
		if next == "" {
			return false
		}
		delete(pending, next)
		for _, s := range steps {
			for _, p := range s.Prerequisites {
				if p == next {
					pending[s.Key]--
				}
			}
		}
	}
	return true
}

// fakeFlowStore holds one stored draft, "stored" at revision 1, and keeps what
// the service saves.
type fakeFlowStore struct {
	so.FlowStore
	t     *testing.T
	saved *so.Flow
}

func (s *fakeFlowStore) CreateFlow(_ context.Context, f *so.Flow) error {
	s.saved = f
	return nil
}

func (s *fakeFlowStore) FindFlow(_ context.Context, projectID, key string) (*so.Flow, error) {
	return &so.Flow{ID: "f1", ProjectID: projectID, Key: key, Name: "Stored", Status: so.FlowDraft, Revision: 1,
		Steps:    []so.Step{{Key: "a", Title: "A", Kind: so.StepTask, ContentItemID: "c1", Prerequisites: []string{}}},
		Versions: []so.VersionInfo{}, CreatedAt: fuzzReceived, UpdatedAt: fuzzReceived}, nil
}

func (s *fakeFlowStore) UpdateFlowDraft(_ context.Context, f *so.Flow, _ int) error {
	s.saved = f
	return nil
}

// fakeContent finds every content item whose id starts with "c" (an article)
// or "h" (a help item), and fails the test if it is asked about text no store
// can hold.
type fakeContent struct{ t *testing.T }

func (c fakeContent) FindContentItem(_ context.Context, projectID, id string) (*so.ContentItem, error) {
	if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		c.t.Fatalf("the content store was asked for id %q, which is not valid UTF-8 without NUL", id)
	}
	switch {
	case strings.HasPrefix(id, "c"):
		return &so.ContentItem{ID: id, ProjectID: projectID, Kind: so.ContentArticle}, nil
	case strings.HasPrefix(id, "h"):
		return &so.ContentItem{ID: id, ProjectID: projectID, Kind: so.ContentHelp}, nil
	}
	return nil, so.Errorf(so.ENOTFOUND, "content item not found")
}
