package main

import (
	"fmt"
	"slices"
	"testing"
)

type helpStep struct {
	Key            string   `json:"key"`
	HelpContentIDs []string `json:"help_content_ids"`
}

type helpFlowBody struct {
	Revision int        `json:"revision"`
	Version  int        `json:"version"`
	Steps    []helpStep `json:"steps"`
}

// TestHelpContentOnSteps: steps name help items over HTTP; a missing item or
// one of another kind is refused naming the field; a published version keeps
// its help items from being deleted.
func TestHelpContentOnSteps(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		task := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"task","title":"Connect","status":"published"}`), 201)
		help := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"help","title":"Where is my API key?","body":"Open **Settings**.","status":"published"}`), 201)
		more := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"help","title":"Firewall rules","status":"published"}`), 201)
		spare := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"help","title":"Unused help"}`), 201)
		steps := func(help ...string) string {
			ids := "[" + joinQuoted(help) + "]"
			return fmt.Sprintf(`[{"key":"connect","title":"Connect","kind":"task","content_item_id":%q},
				{"key":"verify","title":"Verify","kind":"task","content_item_id":%q,"prerequisites":["connect"],"help_content_ids":%s}]`,
				task.ID, task.ID, ids)
		}

		// Refused on create, naming the step and the position.
		for _, c := range []struct {
			name string
			help []string
			msg  string
		}{
			{"missing", []string{help.ID, "no-such-item"}, "steps[1].help_content_ids[1]"},
			{"wrong kind", []string{task.ID}, "steps[1].help_content_ids[0]"},
			{"twice", []string{help.ID, help.ID}, "steps[1].help_content_ids[1]"},
		} {
			r := in.admin("POST", "/v1/flows", `{"key":"help-flow","name":"Help","steps":`+steps(c.help...)+`}`)
			if r.status != 400 {
				t.Fatalf("create with %s help: %d %s", c.name, r.status, r.body)
			}
			if e := r.apiErr(t); e.Field != c.msg {
				t.Fatalf("create with %s help: error %+v, want field %s", c.name, e, c.msg)
			}
		}

		r := in.admin("POST", "/v1/flows", `{"key":"help-flow","name":"Help","steps":`+steps(help.ID)+`}`)
		created := decode[helpFlowBody](t, r, 201)
		if len(created.Steps) != 2 || created.Steps[0].HelpContentIDs == nil || len(created.Steps[0].HelpContentIDs) != 0 ||
			!slices.Equal(created.Steps[1].HelpContentIDs, []string{help.ID}) {
			t.Fatalf("created steps: %s", r.body)
		}

		// Refused on patch too.
		r = in.admin("PATCH", "/v1/flows/help-flow", fmt.Sprintf(`{"revision":%d,"steps":%s}`, created.Revision, steps(help.ID, task.ID)))
		if r.status != 400 || r.apiErr(t).Field != "steps[1].help_content_ids[1]" {
			t.Fatalf("patch with wrong-kind help: %d %s", r.status, r.body)
		}
		r = in.admin("PATCH", "/v1/flows/help-flow", fmt.Sprintf(`{"revision":%d,"steps":%s}`, created.Revision, steps(help.ID, more.ID)))
		patched := decode[helpFlowBody](t, r, 200)
		if !slices.Equal(patched.Steps[1].HelpContentIDs, []string{help.ID, more.ID}) {
			t.Fatalf("patched steps: %s", r.body)
		}

		r = in.admin("POST", "/v1/flows/help-flow/publish", "")
		if v := decode[helpFlowBody](t, r, 201); v.Version != 1 || !slices.Equal(v.Steps[1].HelpContentIDs, []string{help.ID, more.ID}) {
			t.Fatalf("published: %s", r.body)
		}
		r = in.admin("GET", "/v1/flows/help-flow/versions/1", "")
		if v := decode[helpFlowBody](t, r, 200); !slices.Equal(v.Steps[1].HelpContentIDs, []string{help.ID, more.ID}) {
			t.Fatalf("version 1: %s", r.body)
		}

		for _, id := range []string{help.ID, more.ID} {
			r = in.admin("DELETE", "/v1/content-items/"+id, "")
			if r.status != 409 || r.apiErr(t).Code != "conflict" {
				t.Fatalf("deleting help a published version uses: %d %s", r.status, r.body)
			}
			decode[item](t, in.admin("GET", "/v1/content-items/"+id, ""), 200)
		}
		if r = in.admin("DELETE", "/v1/content-items/"+spare.ID, ""); r.status != 204 {
			t.Fatalf("deleting unused help: %d %s", r.status, r.body)
		}
		// A help item deleted from a draft's steps stops the next publish, naming it.
		r = in.admin("PATCH", "/v1/flows/help-flow", fmt.Sprintf(`{"revision":%d,"steps":%s}`, patched.Revision, steps(help.ID, spare.ID)))
		if r.status != 400 || r.apiErr(t).Field != "steps[1].help_content_ids[1]" {
			t.Fatalf("patch with deleted help: %d %s", r.status, r.body)
		}
	})
}

// TestContentVariantsOverHTTP: variant_of is stored and returned, refused with
// a field for a missing item, another kind or a chain, and an item with
// variants cannot be deleted.
func TestContentVariantsOverHTTP(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		in := start(t, testConfig(t, engine))
		base := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"help","title":"API keys","status":"published"}`), 201)
		other := decode[item](t, in.admin("POST", "/v1/content-items", `{"kind":"video","title":"Tour"}`), 201)
		r := in.admin("POST", "/v1/content-items", fmt.Sprintf(`{"kind":"help","title":"API keys, simply","complexity":"basic","variant_of":%q}`, base.ID))
		simple := decode[struct {
			ID        string `json:"id"`
			VariantOf string `json:"variant_of"`
		}](t, r, 201)
		if simple.VariantOf != base.ID {
			t.Fatalf("created variant: %s", r.body)
		}
		for _, c := range []struct{ name, body, field string }{
			{"missing", `{"kind":"help","title":"x","complexity":"basic","variant_of":"nope"}`, "variant_of"},
			{"other kind", fmt.Sprintf(`{"kind":"help","title":"x","complexity":"basic","variant_of":%q}`, other.ID), "variant_of"},
			{"chain", fmt.Sprintf(`{"kind":"help","title":"x","complexity":"advanced","variant_of":%q}`, simple.ID), "variant_of"},
			{"same complexity", fmt.Sprintf(`{"kind":"help","title":"x","variant_of":%q}`, base.ID), "complexity"},
		} {
			r := in.admin("POST", "/v1/content-items", c.body)
			if r.status != 400 || r.apiErr(t).Field != c.field {
				t.Fatalf("variant %s: %d %s", c.name, r.status, r.body)
			}
		}
		if r := in.admin("DELETE", "/v1/content-items/"+base.ID, ""); r.status != 409 {
			t.Fatalf("deleting an item with variants: %d %s", r.status, r.body)
		}
		if r := in.admin("DELETE", "/v1/content-items/"+simple.ID, ""); r.status != 204 {
			t.Fatalf("deleting the variant: %d %s", r.status, r.body)
		}
		if r := in.admin("DELETE", "/v1/content-items/"+base.ID, ""); r.status != 204 {
			t.Fatalf("deleting the item without variants: %d %s", r.status, r.body)
		}
	})
}

func joinQuoted(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf("%q", id)
	}
	return out
}
