// Package clientip finds the address of the client of an HTTP request: the
// first address in a header a trusted proxy sets (X-Forwarded-For,
// X-Real-IP), when one is configured and holds an address, else the peer
// address. The gateway and the console use it, so both see the same
// client behind the same proxy.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// From returns the client's address of r; header names the trusted
// proxy's header ("" for none). The zero Addr when neither parses.
func From(r *http.Request, header string) netip.Addr {
	if header != "" {
		first, _, _ := strings.Cut(r.Header.Get(header), ",")
		if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return a.Unmap()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
