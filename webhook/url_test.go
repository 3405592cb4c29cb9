package webhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	long := "https://example.com/" + strings.Repeat("a", MaxURLLen-len("https://example.com/"))
	for _, tc := range []struct {
		url       string
		dev, prod bool // accepted in development, in production
	}{
		{"https://example.com/webhooks", true, true},
		{"https://hooks.example.com:8443/a/b?token=x", true, true},
		{"HTTPS://Example.COM/x", true, true},
		{"https://93.184.216.34/hook", true, true},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/hook", true, true},
		{long, true, true},
		{long + "a", false, false},
		{"http://example.com/webhooks", true, false},
		{"http://localhost:8080/hook", true, false},
		{"https://localhost/hook", true, false},
		{"https://LOCALHOST./hook", true, false},
		{"https://api.localhost/hook", true, false},
		{"https://127.0.0.1/hook", true, false},
		{"https://127.0.0.2:9000/hook", true, false},
		{"https://[::1]/hook", true, false},
		{"https://[::ffff:127.0.0.1]/hook", true, false},
		{"https://10.1.2.3/hook", true, false},
		{"https://172.16.0.1/hook", true, false},
		{"https://192.168.1.1/hook", true, false},
		{"https://169.254.169.254/latest/meta-data", true, false},
		{"https://[fe80::1%25eth0]/hook", true, false},
		{"https://[fd00:ec2::254]/hook", true, false},
		{"https://0.0.0.0/hook", true, false},
		{"https://[::]/hook", true, false},
		{"https://224.0.0.1/hook", true, false},
		{"https://100.64.0.1/hook", true, false},
		{"https://100.127.255.254/hook", true, false},
		{"https://[64:ff9b::a00:1]/hook", true, false},
		{"https://2130706433/hook", true, false},
		{"https://0x7f.1/hook", true, false},
		{"https://127.1/hook", true, false},
		{"", false, false},
		{"example.com/hook", false, false},
		{"/hook", false, false},
		{"ftp://example.com/hook", false, false},
		{"javascript:alert(1)", false, false},
		{"mailto:a@example.com", false, false},
		{"https:///hook", false, false},
		{"https://user:pass@example.com/hook", false, false},
		{"https://user@example.com/hook", false, false},
		{"https://example.com:99999/hook", false, false},
		{"https://example.com:0/hook", false, false},
		{"https://exa mple.com/hook", false, false},
		{"https://example.com/\x00", false, false},
	} {
		for _, mode := range []struct {
			production, want bool
		}{{false, tc.dev}, {true, tc.prod}} {
			err := CheckURL(tc.url, mode.production)
			if (err == nil) != mode.want {
				t.Errorf("CheckURL(%.60q, production=%v) = %v, want accepted=%v", tc.url, mode.production, err, mode.want)
			}
			if err != nil && (so.ErrorCode(err) != so.EINVALID || so.ErrorField(err) != "url") {
				t.Errorf("CheckURL(%.60q) = %v, want an invalid url error", tc.url, err)
			}
		}
	}
}

func TestIsPublic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"2606:4700::1111", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"127.0.0.1", false},
		{"::1", false},
		{"::ffff:10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.31.0.1", false},
		{"192.168.0.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.251", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"100.64.0.0", false},
		{"100.127.255.255", false},
		{"64:ff9b::7f00:1", false}, // NAT64 of 127.0.0.1
	} {
		if got := IsPublic(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("IsPublic(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
	if IsPublic(netip.Addr{}) {
		t.Error("the zero address is public")
	}
}

// server returns a test server on 127.0.0.1 and a counter of the requests it got.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

func TestProductionClientRefusesLocalAddresses(t *testing.T) {
	t.Parallel()
	s, hits := server(t, ok)
	u, _ := url.Parse(s.URL)
	urls := []string{
		s.URL, // http://127.0.0.1:port
		"http://localhost:" + u.Port(),
		"http://[::ffff:127.0.0.1]:" + u.Port(),
	}
	prod := NewClient(true, 0)
	for _, target := range urls {
		resp, err := prod.Get(target)
		if err == nil {
			resp.Body.Close()
			t.Errorf("the production client reached %s: %s", target, resp.Status)
		} else if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("the production client on %s: %v, want ErrBlockedAddress", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests from the production client", n)
	}
	dev := NewClient(false, 0)
	for _, target := range urls[:2] {
		resp, err := dev.Get(target)
		if err != nil {
			t.Fatalf("the development client on %s: %v", target, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("the development client on %s: %s", target, resp.Status)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("the server got %d requests from the development client, want 2", n)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target, targetHits := server(t, ok)
	redirect, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	resp, err := NewClient(false, 0).Post(redirect.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status %s, want the 307 itself", resp.Status)
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("the redirect was followed (%d requests)", n)
	}
}

// FuzzCheckURL holds CheckURL to its promise: whatever it accepts in
// production is an https URL of at most MaxURLLen bytes without user info,
// whose host is not localhost nor a literal non-public address.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/x", "https://127.0.0.1/", "https://[::ffff:10.0.0.1]/",
		"http://localhost/", "https://a@b/", "https://[fe80::1%25eth0]/", "https://0x7f.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckURL(raw, true) != nil {
			return
		}
		if CheckURL(raw, false) != nil {
			t.Fatalf("%q passes in production only", raw)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.User != nil || len(raw) > MaxURLLen || u.Hostname() == "" {
			t.Fatalf("accepted %q", raw)
		}
		host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			t.Fatalf("accepted localhost: %q", raw)
		}
		if addr, err := netip.ParseAddr(host); err == nil && !IsPublic(addr) {
			t.Fatalf("accepted the non-public %s: %q", addr, raw)
		}
	})
}
