// Package clientip finds the address of the client of an HTTP request: the
// address a trusted proxy wrote into a header (X-Forwarded-For,
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
//
// The address read from the header is its last one: the last address of
// its last line. A proxy that overwrites the header (X-Real-IP
// $remote_addr) writes only that one; a proxy that appends
// (X-Forwarded-For $proxy_add_x_forwarded_for) writes it after whatever
// the client sent, in the same line or in a line of its own. Every
// address before it is the client's to choose. Behind a chain of proxies
// the last is the nearest proxy's peer, so the first proxy must be the
// one that writes the header (nginx's real_ip module restores the
// client's address before it). An IPv4-mapped address is read as IPv4,
// a port or zone is dropped.
func From(r *http.Request, header string) netip.Addr {
	if header != "" {
		if vs := r.Header.Values(header); len(vs) > 0 {
			v := vs[len(vs)-1]
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				v = v[i+1:]
			}
			if a, ok := parse(strings.TrimSpace(v)); ok {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap().WithZone("")
}

// parse reads an address, or an address and port.
func parse(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// Network is the part of a client's address that counts as one client in
// a throttle: an IPv4 address itself, an IPv6 address's /64, which one
// host usually holds whole. A string that is not an address is returned
// as it is.
func Network(addr string) string {
	a, ok := parse(addr)
	if !ok {
		return addr
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
