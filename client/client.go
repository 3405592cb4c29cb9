// Package client is a Go client for the Smart Onboarding HTTP API, so that
// operator tools (smartonboard verify) and tests speak to a running instance the
// way any other caller does: over HTTP, with a key, reading the documented JSON.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// maxAnswerBytes bounds what the client reads of one answer, so a misrouted URL
// that streams a large page cannot exhaust memory.
const maxAnswerBytes = 8 << 20

// Client calls one Smart Onboarding instance with one key.
type Client struct {
	BaseURL string // e.g. https://onboard.example.com, without a trailing path
	Key     string // a secret (sk_…) or public (pk_…) key; empty sends none
	// HTTP sends the requests; nil means http.DefaultClient. Set Timeout for
	// bounded calls, and CheckRedirect to http.ErrUseLastResponse to see
	// redirects as errors instead of following them with the key.
	HTTP *http.Client
}

// New returns a client for baseURL authenticating with key.
func New(baseURL, key string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key}
}

// WithKey returns a copy of c that sends key instead.
func (c *Client) WithKey(key string) *Client {
	copied := *c
	copied.Key = key
	return &copied
}

// Error is an error answer of the API: its HTTP status and the documented body.
type Error struct {
	Status int
	api.ErrorDetail
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// StatusOf returns the HTTP status of an API error, or 0 for any other error
// (network, TLS, timeout).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Do sends one request with the client's key and decodes a 2xx JSON answer into
// out (when out is not nil); any other status is returned as an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("read the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return AnswerError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not the expected JSON: %w", method, path, resp.StatusCode, err)
	}
	return nil
}

// Send sends one request with the client's key and extra headers and returns the
// raw response, whatever its status, for callers that inspect headers or stream
// the body; the caller closes it.
func (c *Client) Send(ctx context.Context, method, path string, header http.Header) (*http.Response, error) {
	return c.send(ctx, method, path, nil, header)
}

func (c *Client) send(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, reader)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return httpClient.Do(req)
}

// AnswerError turns a non-2xx answer into an *Error: a redirect names its
// target, and a body that is not the API's error shape (a proxy's HTML page, say)
// is kept as a snippet.
func AnswerError(resp *http.Response, data []byte) error {
	status := resp.StatusCode
	if loc := resp.Header.Get("Location"); status/100 == 3 && loc != "" {
		return &Error{Status: status, ErrorDetail: api.ErrorDetail{Code: "redirect", Message: "redirects to " + loc}}
	}
	var body api.ErrorBody
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		return &Error{Status: status, ErrorDetail: body.Error}
	}
	snippet := strings.TrimSpace(string(data))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return &Error{Status: status, ErrorDetail: api.ErrorDetail{Code: "unexpected_answer",
		Message: fmt.Sprintf("not an API error body: %q", snippet)}}
}

// Health calls GET /healthz: nil means Smart Onboarding's liveness probe
// answered, not merely some page.
func (c *Client) Health(ctx context.Context) error {
	var h struct{ Status string }
	if err := c.Do(ctx, http.MethodGet, "/healthz", nil, &h); err != nil {
		return err
	}
	if h.Status != "ok" {
		return fmt.Errorf("GET /healthz answered status %q, not \"ok\"", h.Status)
	}
	return nil
}

// Ready calls GET /readyz. A 503 returns the readiness body too, with the error,
// so the caller can say which check failed.
func (c *Client) Ready(ctx context.Context) (*api.Readiness, error) {
	resp, err := c.send(ctx, http.MethodGet, "/readyz", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, err
	}
	var r api.Readiness
	decodeErr := json.Unmarshal(data, &r)
	switch {
	case resp.StatusCode == http.StatusOK && decodeErr == nil:
		return &r, nil
	case resp.StatusCode == http.StatusServiceUnavailable && decodeErr == nil:
		return &r, &Error{Status: resp.StatusCode, ErrorDetail: api.ErrorDetail{Code: "not_ready", Message: "the instance is not ready"}}
	}
	return nil, AnswerError(resp, data)
}

// Status calls GET /v1/status: version, commit, build time, engine and uptime.
func (c *Client) Status(ctx context.Context) (*api.Status, error) {
	var s api.Status
	return &s, c.Do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// ListContentItems lists up to limit content items (admin key).
func (c *Client) ListContentItems(ctx context.Context, limit int) ([]*so.ContentItem, error) {
	var page api.ListResponse[*so.ContentItem]
	err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/v1/content-items?limit=%d", limit), nil, &page)
	return page.Items, err
}

// Project reads the key's project (admin key), identity secret included.
func (c *Client) Project(ctx context.Context) (*api.ProjectView, error) {
	var p api.ProjectView
	return &p, c.Do(ctx, http.MethodGet, "/v1/project", nil, &p)
}

// User reads one end user (admin key).
func (c *Client) User(ctx context.Context, userID string) (*so.EndUser, error) {
	var u so.EndUser
	return &u, c.Do(ctx, http.MethodGet, "/v1/users/"+url.PathEscape(userID), nil, &u)
}

// PostEvents sends one batch; the answer says, event by event, what was accepted.
func (c *Client) PostEvents(ctx context.Context, events []so.EventInput) (*api.EventsResponse, error) {
	var r api.EventsResponse
	return &r, c.Do(ctx, http.MethodPost, "/v1/events", map[string]any{"events": events}, &r)
}

// StreamEvent is one Server-Sent Event.
type StreamEvent struct {
	ID, Event, Data string
}

// Stream reads the events of one open SSE response.
type Stream struct {
	resp *http.Response
	r    *bufio.Reader
}

// OpenStream opens an SSE stream at path (e.g. /v1/analytics/stream), with
// extra request headers (e.g. X-User-Hash) when header is not nil.
func (c *Client) OpenStream(ctx context.Context, path string, header http.Header) (*Stream, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	for k, v := range header {
		h[k] = v
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil, h)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
		return nil, AnswerError(resp, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("%s answered with Content-Type %q, not an event stream", path, ct)
	}
	return &Stream{resp: resp, r: bufio.NewReader(resp.Body)}, nil
}

// Header is the stream response's header.
func (s *Stream) Header() http.Header { return s.resp.Header }

// Next blocks until the next event (comments are skipped) or the stream ends.
func (s *Stream) Next() (StreamEvent, error) {
	var ev StreamEvent
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "" && (ev.Event != "" || data != nil):
			ev.Data = strings.Join(data, "\n")
			return ev, nil
		case strings.HasPrefix(line, ":"), line == "":
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.ID = value
			case "event":
				ev.Event = value
			case "data":
				data = append(data, value)
			}
		}
	}
}

// Close ends the stream.
func (s *Stream) Close() error { return s.resp.Body.Close() }
