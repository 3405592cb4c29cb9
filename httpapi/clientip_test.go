package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written hops left of the proxy", "10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", "10.1.2.3:4000", []string{"198.51.100.1, 10.9.9.9", "10.2.2.2"}, "198.51.100.1"},
		{"only proxies", "10.1.2.3:4000", []string{"10.9.9.9"}, "10.1.2.3"},
		{"garbled hop", "10.1.2.3:4000", []string{"198.51.100.1, junk"}, "10.1.2.3"},
		{"hop with a port", "10.1.2.3:4000", []string{"198.51.100.1:5678"}, "198.51.100.1"},
		{"ipv6 hop with a port", "10.1.2.3:4000", []string{"[2001:db8::7]:5678"}, "2001:db8::7"},
		{"ipv6 loopback proxy", "[::1]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"mapped ipv4", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := s.clientIP(r); got.String() != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
