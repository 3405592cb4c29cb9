package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/stream"
)

// oneProject is a ProjectStore holding one project and its keys; down makes
// every key lookup fail as a database outage would.
type oneProject struct {
	so.ProjectStore
	p    so.Project
	mu   sync.Mutex
	keys []*so.APIKey
	down bool
}

func (o *oneProject) FindAPIKeysByPrefix(_ context.Context, prefix string) ([]*so.APIKey, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		return nil, errors.New("connection refused")
	}
	var out []*so.APIKey
	for _, k := range o.keys {
		if k.Prefix == prefix {
			out = append(out, k)
		}
	}
	return out, nil
}

func (o *oneProject) FindProject(_ context.Context, id string) (*so.Project, error) {
	if id != o.p.ID {
		return nil, so.Errorf(so.ENOTFOUND, "no project %q", id)
	}
	p := o.p
	return &p, nil
}

// TestStreamAdmission: public-key streams count against the project's own
// stream limit when it sets one and the instance's otherwise, and against
// their address (an IPv6 /64); secret-key streams are trusted.
func TestStreamAdmission(t *testing.T) {
	t.Parallel()
	two := 2
	tests := []struct {
		name   string
		kind   so.KeyKind
		limit  *int
		remote string
		want   stream.Admission
	}{
		{"instance default", so.KeyPublic, nil, "192.0.2.1:4000", stream.Admission{Client: "192.0.2.1", MaxPerProject: 50, MaxPerClient: 7}},
		{"project's own", so.KeyPublic, &two, "192.0.2.1:4000", stream.Admission{Client: "192.0.2.1", MaxPerProject: 2, MaxPerClient: 7}},
		{"IPv6 /64", so.KeyPublic, nil, "[2001:db8:1:2:3:4:5:6]:4000", stream.Admission{Client: "2001:db8:1:2::/64", MaxPerProject: 50, MaxPerClient: 7}},
		{"secret key", so.KeySecret, &two, "192.0.2.1:4000", stream.Admission{Trusted: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := &oneProject{p: so.Project{ID: "p", Settings: so.ProjectSettings{Limits: so.Limits{Streams: tc.limit}}}}
			s := &Server{Projects: store, MaxStreamsPerProject: 50, MaxStreamsPerIP: 7}
			r := httptest.NewRequest("GET", "/v1/stream?user_id=u", nil)
			r.RemoteAddr = tc.remote
			r = r.WithContext(withPrincipal(r.Context(), so.KeyPrincipal(&so.APIKey{ProjectID: "p", Kind: tc.kind})))
			got, err := s.admission(r)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("admission %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestClientBucket(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"192.0.2.1": "192.0.2.1", "2001:db8::1": "2001:db8::/64", "::ffff:192.0.2.1": "::ffff:192.0.2.1"} {
		if got := clientBucket(netip.MustParseAddr(in)); got != want {
			t.Errorf("clientBucket(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestStreamReauthorize: a stream's key is checked again, so a key that no
// longer authenticates ends the stream, while a store that cannot answer
// keeps it.
func TestStreamReauthorize(t *testing.T) {
	t.Parallel()
	presented := so.GenerateKey(so.KeyPublic)
	key := so.NewAPIKey("p", so.KeyPublic, "web", presented)
	store := &oneProject{p: so.Project{ID: "p"}, keys: []*so.APIKey{key}}
	s := &Server{Projects: store, Logger: slog.New(slog.DiscardHandler)}
	r := httptest.NewRequest("GET", "/v1/stream?user_id=u", nil)
	r.Header.Set("Authorization", "Bearer "+presented)
	r = r.WithContext(withPrincipal(r.Context(), so.KeyPrincipal(key)))
	if err := s.stillAuthorized(r, nil); err != nil {
		t.Fatalf("a valid key: %v", err)
	}
	forgetKeys := func() { // as keyCacheTTL passing would
		s.keys.mu.Lock()
		s.keys.entries = nil
		s.keys.mu.Unlock()
	}
	store.mu.Lock()
	store.down = true
	store.mu.Unlock()
	forgetKeys()
	if err := s.stillAuthorized(r, nil); err != nil {
		t.Fatalf("a store outage ended the stream: %v", err)
	}
	store.mu.Lock()
	store.down, store.keys = false, nil
	store.mu.Unlock()
	forgetKeys()
	if err := s.stillAuthorized(r, nil); so.ErrorCode(err) != so.EUNAUTHORIZED {
		t.Fatalf("a revoked key: %v, want unauthorized", err)
	}
	store.mu.Lock()
	store.keys = []*so.APIKey{key}
	store.mu.Unlock()
	denied := func(*http.Request) error { return so.Errorf(so.EUNAUTHORIZED, "identity verification is on") }
	if err := s.stillAuthorized(r, denied); so.ErrorCode(err) != so.EUNAUTHORIZED {
		t.Fatalf("a failing identity check: %v, want unauthorized", err)
	}
}
