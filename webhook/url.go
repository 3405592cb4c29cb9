package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// MaxURLLen bounds an endpoint URL.
const MaxURLLen = 2048

// DefaultTimeout bounds one delivery attempt when NewClient is given none:
// connecting, the TLS handshake, sending and the response headers.
const DefaultTimeout = 15 * time.Second

// MaxResponseBytes is how much of a response body a delivery reads and keeps.
const MaxResponseBytes = 1 << 10

// ErrBlockedAddress is what the production dialer returns (wrapped) for an
// address that is not public.
var ErrBlockedAddress = errors.New("webhook: the address is not a public one")

// blockedPrefixes are the ranges that netip's predicates do not name and that
// must not be reached either.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network": 0.x.x.x reaches the host itself on Linux
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:10::/28"),    // ORCHID
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4 address in
// their last 32 bits, which is checked in turn.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// IsPublic tells whether a webhook may be delivered to addr: it is not private
// (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local (which holds
// the cloud metadata address 169.254.169.254), unspecified, multicast, CGNAT
// (100.64/10) or one of the other special ranges above. IPv4-mapped IPv6
// addresses and NAT64 ones are judged by their IPv4 address.
func IsPublic(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return false
	}
	if nat64.Contains(addr) {
		b := addr.As16()
		return IsPublic(netip.AddrFrom4([4]byte(b[12:])))
	}
	if addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// CheckURL checks an endpoint URL when it is saved: an absolute http or https
// URL with a host, no user name or password, at most MaxURLLen bytes. In
// production it must be https, and its host must be neither localhost nor a
// literal address that IsPublic refuses, nor a number that some resolvers
// would read as one (http://2130706433/). A name that resolves to such an
// address passes here: the production client refuses it when it connects.
func CheckURL(raw string, production bool) error {
	const field = "url"
	if raw == "" {
		return so.FieldErrorf(so.EINVALID, field, "is required")
	}
	if len(raw) > MaxURLLen {
		return so.FieldErrorf(so.EINVALID, field, "must be at most %d bytes, got %d", MaxURLLen, len(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return so.FieldErrorf(so.EINVALID, field, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return so.FieldErrorf(so.EINVALID, field, "must be an absolute http or https URL")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return so.FieldErrorf(so.EINVALID, field, "must name a host, as in https://example.com/webhooks")
	}
	if u.User != nil {
		return so.FieldErrorf(so.EINVALID, field, "must not hold a user name or password")
	}
	if port := u.Port(); port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return so.FieldErrorf(so.EINVALID, field, "has an invalid port %q", port)
		}
	}
	if !production {
		return nil
	}
	if u.Scheme != "https" {
		return so.FieldErrorf(so.EINVALID, field, "must use https")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return so.FieldErrorf(so.EINVALID, field, "must not point at localhost")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if !IsPublic(addr) {
			return so.FieldErrorf(so.EINVALID, field, "must not point at a private, loopback, link-local or otherwise non-public address")
		}
		return nil
	}
	if numericHost(host) {
		return so.FieldErrorf(so.EINVALID, field, "has a host that is neither a name nor a valid IP address")
	}
	return nil
}

// parsePort reads a decimal port.
func parsePort(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

// numericHost tells whether a host that is not a valid IP address still looks
// like one to inet_aton (127.1, 0x7f.0.0.1, 2130706433, 017700000001): its last
// label is a decimal, octal or hex number. No top-level domain is.
func numericHost(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// control refuses, at connect time, any address IsPublic refuses: it sees the
// address the name resolved to, so a name that changes its answer between the
// check and the connection (DNS rebinding) cannot reach an internal address.
func control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return ErrBlockedAddress
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !IsPublic(ap.Addr()) {
		return ErrBlockedAddress
	}
	return nil
}

// NewDialer returns the dialer of webhook deliveries. In production it refuses
// to connect to any address that IsPublic refuses.
func NewDialer(production bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if production {
		d.Control = control
	}
	return d
}

// NewClient returns the HTTP client of webhook deliveries: each request bounded
// by timeout (DefaultTimeout when not positive), no proxy, no redirects
// followed (the 3xx comes back as the response, which Deliver counts as a
// failed attempt) and, in production, the dialer that connects to public
// addresses only. Deliver reads at most MaxResponseBytes of a response.
func NewClient(production bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := NewDialer(production, timeout)
	transport := &http.Transport{
		Proxy: nil, // a proxy would connect on our behalf, past the dialer's check
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, address)
		},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
