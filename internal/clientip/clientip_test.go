package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestFrom(t *testing.T) {
	for _, c := range []struct {
		remote, header, value, want string
	}{
		{"192.0.2.1:5000", "", "", "192.0.2.1"},
		{"192.0.2.1:5000", "X-Forwarded-For", "", "192.0.2.1"},
		{"192.0.2.1:5000", "X-Forwarded-For", "203.0.113.9, 10.0.0.1", "10.0.0.1"}, // the proxy appended the last
		{"192.0.2.1:5000", "X-Forwarded-For", "203.0.113.9,10.0.0.1:4711", "10.0.0.1"},
		{"192.0.2.1:5000", "X-Forwarded-For", "203.0.113.9, [2001:db8::7]:4711", "2001:db8::7"},
		{"192.0.2.1:5000", "X-Forwarded-For", "203.0.113.9, fe80::1%eth0", "fe80::1"},
		{"192.0.2.1:5000", "X-Forwarded-For", "203.0.113.9, ::ffff:10.0.0.1", "10.0.0.1"},
		{"192.0.2.1:5000", "X-Forwarded-For", "10.0.0.1, unknown", "192.0.2.1"},
		{"192.0.2.1:5000", "X-Real-IP", " 2001:db8::7 ", "2001:db8::7"},
		{"192.0.2.1:5000", "X-Real-IP", "not an address", "192.0.2.1"},
		{"[::ffff:192.0.2.4]:80", "", "", "192.0.2.4"},
		{"192.0.2.1:5000", "", "203.0.113.9", "192.0.2.1"}, // no trusted header: the header is not read
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		r.Header.Set("X-Forwarded-For", "198.51.100.1")
		if c.header != "" {
			r.Header.Set(c.header, c.value)
		}
		if c.header == "" && c.value != "" {
			r.Header.Set("X-Real-IP", c.value)
		}
		if got := From(r, c.header).String(); got != c.want {
			t.Errorf("%+v: %s, want %s", c, got, c.want)
		}
	}
}

func TestLastLine(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("X-Forwarded-For", "203.0.113.9")
	r.Header.Add("X-Forwarded-For", "198.51.100.1, 10.0.0.1")
	if got := From(r, "X-Forwarded-For").String(); got != "10.0.0.1" {
		t.Errorf("%s, want the last address of the last line", got)
	}
}

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2::9%eth0":   "2001:db8:1:2::/64",
		"[2001:db8:1:2::9]:4711": "2001:db8:1:2::/64",
		"not an address":         "not an address",
	} {
		if got := Network(in); got != want {
			t.Errorf("Network(%q) = %q, want %q", in, got, want)
		}
	}
}
