package httpapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRouter proves every route is documented and every documented
// operation is routed: the Go form of "every import has an export".
func TestOpenAPIMatchesRouter(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
			var o struct {
				OperationID string         `json:"operationId"`
				Responses   map[string]any `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || o.OperationID == "" || len(o.Responses) == 0 {
				t.Errorf("%s %s: needs an operationId and responses", method, path)
			}
		}
	}
	s := &Server{}
	s.Handler()
	routed := slices.Clone(s.Routes())
	slices.Sort(documented)
	slices.Sort(routed)
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json documents %q but no route serves it", d)
		}
	}
}

// TestOpenAPIAccessMatchesRouter holds each operation's documented x-access to
// the access its route enforces, so the authorization matrix test, which reads
// x-access, tests what the router does.
func TestOpenAPIAccessMatchesRouter(t *testing.T) {
	t.Parallel()
	ops, err := Operations()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	s.Handler()
	names := map[access]string{anyone: "anyone", public: "public", read: "read", write: "write", adminScope: "admin",
		accountOrKey: "accountOrKey", signedIn: "signedIn"}
	for _, o := range ops {
		pattern := o.Method + " " + o.Path
		who, ok := s.access[pattern]
		if pattern == "GET /metrics" {
			who, ok = anyone, true // its own token check, not a route access
		}
		if !ok || names[who] != o.Access {
			t.Errorf("%s: x-access %q, but the route enforces %q", pattern, o.Access, names[who])
		}
	}
}

// TestOpenAPINoRepeatedKeys catches a key written twice in one object (a merge
// can leave one), which JSON readers resolve differently or silently.
func TestOpenAPINoRepeatedKeys(t *testing.T) {
	t.Parallel()
	if err := checkJSONText(OpenAPI(), anyDepth); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
}
