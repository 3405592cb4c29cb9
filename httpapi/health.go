package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartonboarding/smartonboard/api"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the published OpenAPI document, the contract of this API.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz runs every check at once, each with a short deadline (one after the
// other, a busy database's slow answers would add up past it); any failure
// is a 503 so a load balancer stops sending traffic here.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	resp := api.Readiness{Status: "ok", Checks: map[string]api.CheckResult{}}
	results := make([]api.CheckResult, len(s.ReadyChecks))
	var wg sync.WaitGroup
	for i, c := range s.ReadyChecks {
		wg.Go(func() {
			start := time.Now()
			res := api.CheckResult{Status: "ok"}
			run := c.Run
			if c.Detail != nil {
				run = func(ctx context.Context) (err error) { res.Detail, err = c.Detail(ctx); return err }
			}
			if err := run(ctx); err != nil {
				// The probe is public: say which check failed, keep the details (hosts,
				// users, driver text) in the log.
				s.Logger.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
				res.Status, res.Error = "error", c.Name+" check failed; see the server log"
			}
			res.ElapsedMS = time.Since(start).Milliseconds()
			results[i] = res
		})
	}
	wg.Wait()
	for i, c := range s.ReadyChecks {
		resp.Checks[c.Name] = results[i]
		if results[i].Status != "ok" {
			resp.Status = "error"
		}
	}
	status := http.StatusOK
	if resp.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, resp)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, api.Status{Version: s.Build.Version, Commit: s.Build.Commit,
		BuiltAt: s.Build.BuiltAt, Database: s.Engine, UptimeS: int64(time.Since(s.StartedAt).Seconds())})
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiDoc)
	return err
}

// Operation is one operation of the OpenAPI document with the access it
// declares (x-access), so tests can hold the router and every caller to it.
type Operation struct {
	Method, Path, Access string
}

// Operations lists the document's operations, sorted by method and path.
func Operations() ([]Operation, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		return nil, err
	}
	var ops []Operation
	for path, methods := range doc.Paths {
		for method, raw := range methods {
			if method == "parameters" {
				continue
			}
			var o struct {
				Access string `json:"x-access"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			ops = append(ops, Operation{strings.ToUpper(method), path, o.Access})
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int { return strings.Compare(a.Method+" "+a.Path, b.Method+" "+b.Path) })
	return ops, nil
}
