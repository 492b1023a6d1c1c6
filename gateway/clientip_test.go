package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/sanction"
)

// TestBlacklistedAddressBehindAProxy sends requests from blacklisted
// addresses as a proxy that appends to X-Forwarded-For passes them on: the
// client's own header first, the address the proxy saw last. Whatever the
// client wrote before it, in one line or in several, the address the proxy
// wrote is the one checked; written as an IPv4-mapped IPv6 address, with a
// zone or with a port, it is still the same address.
func TestBlacklistedAddressBehindAProxy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{ipHeader: "X-Forwarded-For"})
	for _, v := range []string{"203.0.113.7", "2001:db8:7::/48"} {
		if _, err := h.sanction.AddEntry(t.Context(), sanction.Entry{Kind: sanction.KindIP, Value: v, Reason: "test", CreatedBy: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(lines ...string) int {
		t.Helper()
		req, err := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(chat("general", "hi", false, "")))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+h.key)
		for _, l := range lines {
			req.Header.Add("X-Forwarded-For", l)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		lines []string
		want  int
	}{
		{[]string{"203.0.113.7"}, 403},
		{[]string{"198.51.100.1, 203.0.113.7"}, 403},
		{[]string{"198.51.100.1,203.0.113.7"}, 403},
		{[]string{"unknown, 10.0.0.1, 203.0.113.7"}, 403},
		{[]string{"198.51.100.1", "203.0.113.7"}, 403},
		{[]string{"198.51.100.1", "10.0.0.1, 203.0.113.7"}, 403},
		{[]string{"198.51.100.1, ::ffff:203.0.113.7"}, 403},
		{[]string{"198.51.100.1, 203.0.113.7:4711"}, 403},
		{[]string{"198.51.100.1, [2001:db8:7::1]:4711"}, 403},
		{[]string{"198.51.100.1, 2001:db8:7::1%eth0"}, 403},
		{[]string{"198.51.100.1, 2001:DB8:7:0::1"}, 403},
		// The blacklisted address written by the client, before the
		// proxy's, is not the client's address.
		{[]string{"203.0.113.7, 198.51.100.1"}, 200},
		{[]string{"203.0.113.7", "198.51.100.1"}, 200},
		{[]string{"2001:db8:7::1, 198.51.100.1"}, 200},
	} {
		if got := send(c.lines...); got != c.want {
			t.Errorf("X-Forwarded-For %q: status %d, want %d", c.lines, got, c.want)
		}
	}
}

// TestPhoneCodesPerNetwork asks for verification codes for many numbers
// from one IPv6 /64, each request from another address in it: a host
// usually holds the whole /64, so the per-address hourly cap (20) counts
// the /64 as one address.
func TestPhoneCodesPerNetwork(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{ipHeader: "X-Real-IP", sms: &smsBox{},
		identity: config.Identity{MinorQuietHours: "off"}})
	start := func(i int, addr string) int {
		t.Helper()
		body := fmt.Sprintf(`{"user":"u%d","phone":"1390013%04d"}`, i, i)
		resp := h.doWith("POST", "/v1/identity/phone/start", body, map[string]string{"X-Real-IP": addr})
		return resp.StatusCode
	}
	for i := range 20 {
		if got := start(i, fmt.Sprintf("2001:db8:1:2:%x::1", i+1)); got != 200 {
			t.Fatalf("code %d: status %d", i, got)
		}
	}
	if got := start(20, "2001:db8:1:2:ffff::1"); got != 429 {
		t.Errorf("21st code from the same /64: status %d, want 429", got)
	}
	if got := start(21, "2001:db8:1:3::1"); got != 200 {
		t.Errorf("code from another /64: status %d, want 200", got)
	}
	if got := start(22, "192.0.2.1"); got != 200 {
		t.Errorf("code from an IPv4 address: status %d, want 200", got)
	}
}

// TestIPv6AddressBlocksItsNetwork blacklists an IPv6 client by the
// address it was seen with. A host holds its whole /64 and moves within
// it (temporary addresses change daily by themselves), so the entry
// blocks the /64; an entry written as a /128 blocks that address only.
func TestIPv6AddressBlocksItsNetwork(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{ipHeader: "X-Real-IP"})
	for _, v := range []string{"2001:db8:9:1::7", "2001:db8:a:1::7/128"} {
		if _, err := h.sanction.AddEntry(t.Context(), sanction.Entry{Kind: sanction.KindIP, Value: v, Reason: "test", CreatedBy: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	for addr, want := range map[string]int{
		"2001:db8:9:1::7":            403,
		"2001:db8:9:1:abcd:1234::99": 403,
		"2001:db8:9:2::7":            200,
		"2001:db8:a:1::7":            403,
		"2001:db8:a:1::8":            200,
	} {
		if got := h.doWith("POST", "/v1/chat/completions", chat("general", "hi", false, ""), map[string]string{"X-Real-IP": addr}).StatusCode; got != want {
			t.Errorf("from %s: status %d, want %d", addr, got, want)
		}
	}
}
