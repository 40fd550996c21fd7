package httpapi

import (
	"net/http"
	"testing"
)

// Per-client bounds count an IPv4 address alone and an IPv6 address by its
// /64, which one subscriber usually holds whole.
func TestClientGroup(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5000":                 "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:1:2:3]:8080": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":          "::ffff:192.0.2.7",
		"not an address":                 "not an address",
	} {
		if got := clientGroup(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("clientGroup(%q) = %q; want %q", remote, got, want)
		}
	}
}
