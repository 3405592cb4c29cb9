package httpapi

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/stream"
)

// oneProject is a ProjectStore holding one project and no keys.
type oneProject struct {
	so.ProjectStore
	p so.Project
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
			r = r.WithContext(context.WithValue(r.Context(), apiKeyKey, &so.APIKey{ProjectID: "p", Kind: tc.kind}))
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
