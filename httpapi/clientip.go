package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address limits are counted against: the peer, unless the peer
// is a trusted proxy, in which case the right-most X-Forwarded-For entry that is
// not itself a trusted proxy (entries to its left could be written by the client).
func (s *Server) clientIP(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := parseHop(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer // a garbled hop: trust nothing left of it
			}
			if a = a.Unmap(); !s.trusted(a) {
				return a
			}
		}
	}
	return peer
}

// parseHop reads one X-Forwarded-For entry: an address, or (as some proxies
// write it) an address with a port.
func parseHop(h string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(h)
	return ap.Addr(), err
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr parses RemoteAddr; an unparsable one (never from net/http's own
// server) counts as the unspecified address, one shared bucket.
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv6Unspecified()
	}
	return a.Unmap()
}
