package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
)

// engines lists the storage engines every end-to-end test runs against.
var engines = []string{config.EngineSQLite, config.EnginePostgres}

// testConfig is a configuration for one test instance on a free port.
func testConfig(t testing.TB, engine string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.PublishInterval = 50 * time.Millisecond
	cfg.Demo = "off"    // the demo's tests turn it on
	cfg.DemoHistory = 0 // and the ones that want its history ask for it
	// More than the 5 s net/http waits before it treats a connection that never
	// sent a request as idle (clients dial spares under concurrency).
	cfg.ShutdownTimeout = 15 * time.Second
	if engine == config.EnginePostgres {
		cfg.DatabaseURL = pgtest.URL(t)
		cfg.DatabaseConnectTimeout = 5 * time.Second
	}
	return cfg
}

// instance is a real smartonboard server on a real port.
type instance struct {
	t      *testing.T
	m      *Main
	url    string
	secret string
	public string
	stdout *bytes.Buffer
}

func start(t *testing.T, cfg config.Config) *instance {
	t.Helper()
	return startWith(t, cfg, nil)
}

// startWith is start with the server's log sent to logger (nil discards it).
func startWith(t *testing.T, cfg config.Config, logger *slog.Logger) *instance {
	t.Helper()
	return startMain(t, &Main{Config: cfg, Logger: logger})
}

// startMain runs m on a real port until the test ends.
func startMain(t *testing.T, m *Main) *instance {
	t.Helper()
	out := &bytes.Buffer{}
	m.Stdout = out
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &instance{t: t, m: m, url: m.URL(), secret: m.Bootstrap.GeneratedSecretKey,
		public: m.Bootstrap.GeneratedPublicKey, stdout: out}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// hangGuard bounds every wait of these tests. It is far longer than any wait
// takes on a loaded machine, so it never judges speed; it turns a hang into a
// failure that says what hung instead of a timeout of the whole run.
const hangGuard = time.Minute

// httpClient gives every request of these tests the hang guard.
var httpClient = &http.Client{Timeout: hangGuard}

// decode checks the status before it reads the body into a fresh T, so a failed
// call can never pass by leaving an earlier answer in place.
func decode[T any](t *testing.T, r response, status int) T {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, truncate(r.body))
	}
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, truncate(r.body))
	}
	return v
}

// apiError is the error detail of an error response.
type apiError struct{ Code, Message, Field string }

// apiErr decodes an error body; a body that is not one fails the test, so an
// expected error is never matched by a blank.
func (r response) apiErr(t *testing.T) apiError {
	t.Helper()
	var e struct{ Error *apiError }
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil || e.Error.Code == "" {
		t.Fatalf("not an error body (%d, %v): %s", r.status, err, truncate(r.body))
	}
	return *e.Error
}

// request sends one request; key "" sends no Authorization header; header
// holds further name, value pairs.
func (in *instance) request(method, path, key, contentType string, body io.Reader, header ...string) response {
	in.t.Helper()
	req, err := http.NewRequest(method, in.url+path, body)
	if err != nil {
		in.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// admin sends JSON with the secret key.
func (in *instance) admin(method, path, body string) response {
	in.t.Helper()
	var r io.Reader
	ct := ""
	if body != "" {
		r, ct = strings.NewReader(body), "application/json"
	}
	return in.request(method, path, in.secret, ct, r)
}

// forEachEngine runs fn against each engine, in parallel: every run has its own
// instance and database.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

func urlQuery(s string) string { return url.QueryEscape(s) }
