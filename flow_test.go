package smartonboard_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

func helpFlow(help ...string) so.FlowInput {
	return so.FlowInput{Key: "onboard", Name: "Onboard", Steps: []so.Step{
		{Key: "a", Title: "A", Kind: so.StepTask, ContentItemID: "c1"},
		{Key: "b", Title: "B", Kind: so.StepTask, ContentItemID: "c1"},
		{Key: "c", Title: "C", Kind: so.StepArticle, ContentItemID: "h0", HelpContentIDs: help},
	}}
}

func TestStepHelpContentIDs(t *testing.T) {
	t.Parallel()
	eleven := make([]string, so.MaxHelpContent+1)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("h%d", i)
	}
	for _, c := range []struct {
		name      string
		help      []string
		field     string
		inMessage string
	}{
		{"none", nil, "", ""},
		{"empty", []string{}, "", ""},
		{"some", []string{"h1", "h2"}, "", ""},
		{"the limit", eleven[:so.MaxHelpContent], "", ""},
		{"over the limit", eleven, "steps[2].help_content_ids", "at most 10"},
		{"missing", []string{"h1", "nope"}, "steps[2].help_content_ids[1]", `"nope" does not exist`},
		{"wrong kind", []string{"c1"}, "steps[2].help_content_ids[0]", "of kind article, not help"},
		{"twice", []string{"h1", "h2", "h1"}, "steps[2].help_content_ids[2]", "already help_content_ids[0]"},
		{"empty id", []string{""}, "steps[2].help_content_ids[0]", "is required"},
		{"NUL", []string{"h\x00"}, "steps[2].help_content_ids[0]", "NUL"},
		{"bad UTF-8", []string{"h\xff"}, "steps[2].help_content_ids[0]", "UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := &fakeFlowStore{t: t}
			svc := &so.FlowService{Store: store, Content: fakeContent{t}}
			f, err := svc.Create(context.Background(), "default", helpFlow(c.help...))
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := c.help
				if want == nil {
					want = []string{}
				}
				if !reflect.DeepEqual(f.Steps[2].HelpContentIDs, want) || f.Steps[0].HelpContentIDs == nil {
					t.Fatalf("help = %#v and %#v, want %#v and []", f.Steps[2].HelpContentIDs, f.Steps[0].HelpContentIDs, want)
				}
				return
			}
			if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field || !strings.Contains(so.ErrorMessage(err), c.inMessage) {
				t.Fatalf("error %v (field %q), want invalid %s saying %q", err, so.ErrorField(err), c.field, c.inMessage)
			}
			rev := 1
			steps := helpFlow(c.help...).Steps
			_, err = svc.UpdateDraft(context.Background(), "default", "stored", so.FlowPatch{Revision: &rev, Steps: &steps})
			if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field {
				t.Fatalf("patch: error %v (field %q), want invalid %s", err, so.ErrorField(err), c.field)
			}
		})
	}
}

// TestPublishChecksHelpContent: a help item deleted (or changed kind) after the
// last edit stops the publish, naming the field.
func TestPublishChecksHelpContent(t *testing.T) {
	t.Parallel()
	store := &publishStore{fakeFlowStore: fakeFlowStore{t: t}, steps: helpFlow("h1", "gone").Steps}
	svc := &so.FlowService{Store: store, Content: fakeContent{t}}
	_, err := svc.Publish(context.Background(), "default", "stored")
	if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != "steps[2].help_content_ids[1]" {
		t.Fatalf("publish with a missing help item: %v (field %q)", err, so.ErrorField(err))
	}
	store.steps = helpFlow("h1", "h2").Steps
	v, err := svc.Publish(context.Background(), "default", "stored")
	if err != nil {
		t.Fatal(err)
	}
	if got := so.ContentItemIDs(v.Steps); !reflect.DeepEqual(got, []string{"c1", "h0", "h1", "h2"}) {
		t.Fatalf("ContentItemIDs = %v", got)
	}
}

type publishStore struct {
	fakeFlowStore
	steps []so.Step
}

func (s *publishStore) FindFlow(ctx context.Context, projectID, key string) (*so.Flow, error) {
	f, _ := s.fakeFlowStore.FindFlow(ctx, projectID, key)
	f.Steps = s.steps
	return f, nil
}

func (s *publishStore) PublishFlow(context.Context, *so.FlowVersion) error { return nil }

func TestDecodeStepsWithoutHelp(t *testing.T) {
	t.Parallel()
	steps, err := so.DecodeSteps([]byte(`[{"key":"a","title":"A","kind":"task","content_item_id":"c1","prerequisites":null},
		{"key":"b","title":"B","kind":"task","content_item_id":"c1","help_content_ids":["h1"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].HelpContentIDs == nil || len(steps[0].HelpContentIDs) != 0 || !reflect.DeepEqual(steps[1].HelpContentIDs, []string{"h1"}) {
		t.Fatalf("decoded help = %#v, %#v", steps[0].HelpContentIDs, steps[1].HelpContentIDs)
	}
}

func TestContentItemIDs(t *testing.T) {
	t.Parallel()
	got := so.ContentItemIDs([]so.Step{{ContentItemID: "b", HelpContentIDs: []string{"h", "a"}}, {ContentItemID: "a"}, {ContentItemID: "h"}})
	if !reflect.DeepEqual(got, []string{"a", "b", "h"}) {
		t.Fatalf("ContentItemIDs = %v", got)
	}
	if got := so.ContentItemIDs(nil); got == nil || len(got) != 0 {
		t.Fatalf("ContentItemIDs(nil) = %#v, want []", got)
	}
}

// TestStepPlacement: the SDK's url, placement and target_timeout_ms are
// checked at the field, and a valid step keeps them.
func TestStepPlacement(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		step      so.Step
		field     string
		inMessage string
	}{
		{"none", so.Step{}, "", ""},
		{"all set", so.Step{URL: "/billing/*", Placement: "left", TargetTimeoutMS: 2500}, "", ""},
		{"whole URL", so.Step{URL: "https://app.example.com/setup"}, "", ""},
		{"the longest wait", so.Step{TargetTimeoutMS: so.MaxTargetTimeoutMS}, "", ""},
		{"relative URL", so.Step{URL: "billing"}, "steps[0].url", "must be a path starting with /"},
		{"script URL", so.Step{URL: "javascript:alert(1)"}, "steps[0].url", "must be a path"},
		{"URL too long", so.Step{URL: "/" + strings.Repeat("a", so.MaxStepURLLen)}, "steps[0].url", "500"},
		{"unknown placement", so.Step{Placement: "middle"}, "steps[0].placement", "middle"},
		{"negative wait", so.Step{TargetTimeoutMS: -1}, "steps[0].target_timeout_ms", "between 0 and 60000"},
		{"wait too long", so.Step{TargetTimeoutMS: so.MaxTargetTimeoutMS + 1}, "steps[0].target_timeout_ms", "between 0 and 60000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			step := c.step
			step.Key, step.Title, step.Kind, step.ContentItemID = "a", "A", so.StepTour, "c1"
			steps := []so.Step{step}
			err := so.ValidateSteps(steps)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if steps[0].URL != c.step.URL || steps[0].Placement != c.step.Placement || steps[0].TargetTimeoutMS != c.step.TargetTimeoutMS {
					t.Fatalf("validated step %+v lost its placement %+v", steps[0], c.step)
				}
				return
			}
			if so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != c.field || !strings.Contains(so.ErrorMessage(err), c.inMessage) {
				t.Fatalf("error %v (field %q), want invalid %s saying %q", err, so.ErrorField(err), c.field, c.inMessage)
			}
		})
	}
}
