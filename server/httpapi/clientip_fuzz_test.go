package httpapi

import (
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzClientIP checks what clientIP may answer whatever the peer address and
// X-Forwarded-For lines: the peer itself, or a hop from the header that a
// trusted proxy vouches for. The answer is a trusted proxy only when every
// hop it could have read, from the right up to the first that is not an
// address, is trusted too: a client cannot make itself look like a proxy,
// nor pass a proxy's address off as its own, to dodge the rate limits.
func FuzzClientIP(f *testing.F) {
	var trusted []*net.IPNet
	for _, c := range []string{"10.0.0.0/8", "fd00::/8", "127.0.0.1/32"} {
		_, n, _ := net.ParseCIDR(c)
		trusted = append(trusted, n)
	}
	for _, seed := range [][3]string{
		{"203.0.113.9:51234", "198.51.100.1", ""},
		{"10.0.0.2:40000", "198.51.100.1", ""},
		{"10.0.0.2:40000", "1.1.1.1, 198.51.100.1", ""},
		{"10.0.0.2:40000", "6.6.6.6, 198.51.100.1, 10.9.9.9", ""},
		{"10.0.0.2:40000", "6.6.6.6", "198.51.100.1"},
		{"[fd00::2]:40000", "2001:db8::7", ""},
		{"[fd00::2]:40000", "::ffff:10.0.0.1", "fd00::1"},
		{"10.0.0.2:40000", "", ""},
		{"10.0.0.2:40000", "198.51.100.1, not-an-ip", ""},
		{"10.0.0.2:40000", "10.1.1.1,10.2.2.2", "127.0.0.1"},
		{"10.0.0.2", "198.51.100.1", ""},
		{"", " , ,", "fe80::1%eth0"},
		{"127.0.0.1:1", "[2001:db8::1]:443", "2001:db8::1"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2 string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Del("X-Forwarded-For")
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				r.Header.Add("X-Forwarded-For", v)
			}
		}
		got := clientIP(r, trusted)

		peer, _, err := net.SplitHostPort(remote)
		if err != nil {
			peer = remote
		}
		var hops []string
		for _, h := range strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
		if !isTrusted(peer, trusted) {
			if got != peer {
				t.Fatalf("peer %q is not a trusted proxy, yet the client is %q", peer, got)
			}
			return
		}
		if got != peer {
			if !slices.Contains(hops, got) {
				t.Fatalf("client %q is neither the peer %q nor a hop of %q", got, peer, hops)
			}
			if net.ParseIP(got) == nil {
				t.Fatalf("client %q from X-Forwarded-For %q is not an IP address", got, hops)
			}
		}
		if isTrusted(got, trusted) {
			// Every hop it could have read, from the right up to the
			// first that is not an address, must be trusted.
			for i := len(hops) - 1; i >= 0 && net.ParseIP(hops[i]) != nil; i-- {
				if !isTrusted(hops[i], trusted) {
					t.Fatalf("client %q is a trusted proxy, but hop %q of %q is not", got, hops[i], hops)
				}
			}
		} else if got != peer {
			// The hop chosen is the right-most untrusted one (an address
			// may appear more than once; the right-most copy counts).
			i := len(hops) - 1
			for hops[i] != got {
				i--
			}
			for _, h := range hops[i+1:] {
				if !isTrusted(h, trusted) {
					t.Fatalf("client %q, but hop %q to its right in %q is not trusted either", got, h, hops)
				}
			}
		}
	})
}
