package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

func newThrottle(t *testing.T, b backend, limits auth.Limits) *auth.Throttle {
	t.Helper()
	return auth.NewThrottle(b.Open(t).Limiter, limits, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// passes reports whether th lets the attempt through, failing the test on
// anything but a rate_limited refusal.
func passes(t *testing.T, th *auth.Throttle, action auth.Action, addr, name string) bool {
	t.Helper()
	err := th.Allow(context.Background(), action, addr, name)
	if err == nil {
		return true
	}
	wantCode(t, err, shared.CodeRateLimited)
	var ra auth.RetryAfter
	if !errors.As(err, &ra) || ra <= 0 {
		t.Fatalf("refusal without a retry time: %v", err)
	}
	return false
}

// attacker is the i-th address of someone else's botnet.
func attacker(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }

const owner = "203.0.113.7"

func TestLoginLinkLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("a flood from several addresses leaves the owner's own address a link", func(t *testing.T) {
			th := newThrottle(t, b, nil)
			// Six addresses each ask five times: each gets its three, then is
			// refused without touching the name's allowance (18 of 20).
			for i := range 6 {
				for n := range 5 {
					if got, want := passes(t, th, auth.ActionEmailLink, attacker(i), "alice@example.com"), n < 3; got != want {
						t.Fatalf("address %d, attempt %d: allowed %v, want %v", i, n+1, got, want)
					}
				}
			}
			if !passes(t, th, auth.ActionEmailLink, owner, "Alice@Example.com ") {
				t.Fatal("the owner's own address was refused a link")
			}
		})

		t.Run("a name gets at most twenty links an hour, from any number of addresses", func(t *testing.T) {
			th := newThrottle(t, b, nil)
			n := 0
			for i := range 10 {
				for range 3 {
					if passes(t, th, auth.ActionEmailLink, attacker(i), "alice") {
						n++
					}
				}
			}
			if n != 20 {
				t.Fatalf("%d links allowed for one name, want 20", n)
			}
			if passes(t, th, auth.ActionEmailLink, owner, "alice") {
				t.Error("a 21st link was allowed")
			}
			// Another name is not affected.
			if !passes(t, th, auth.ActionEmailLink, owner, "bob") {
				t.Error("another name was refused")
			}
		})

		t.Run("counts the name as typed, whether or not it is an account", func(t *testing.T) {
			// The throttle never looks a name up: the limits cannot tell an
			// account from a stranger, and " ALICE" is "alice".
			th := newThrottle(t, b, nil)
			for _, names := range [][]string{
				{"alice", " ALICE", "Alice ", "alice"},
				// One address however it is spelled (EmailKey).
				{"Éve@Example.org", "e\u0301ve@example.org", "ÉVE@EXAMPLE.ORG", "éve\u200b@example.org"},
			} {
				for _, name := range names[:3] {
					if !passes(t, th, auth.ActionEmailLink, owner, name) {
						t.Fatalf("%q refused", name)
					}
				}
				if passes(t, th, auth.ActionEmailLink, owner, names[3]) {
					t.Errorf("a 4th link for %q from one address in 15 minutes was allowed", names[3])
				}
			}
		})
	})
}

func TestAddressLimitsGroupIPv6By64(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		th := newThrottle(t, b, auth.Limits{auth.LimitLoginIP: {Events: 2, Per: time.Hour, Burst: 2}})
		for _, tc := range []struct {
			name      string
			use, next string
			shared    bool
		}{
			{"two addresses of one /64 share", "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", true},
			{"different /64s do not", "2001:db8:1:4::1", "2001:db8:1:5::1", false},
			{"IPv4 counts per address", "192.0.2.1", "192.0.2.2", false},
			{"an IPv4-mapped IPv6 address counts as IPv4", "192.0.2.10", "::ffff:192.0.2.10", true},
			{"a zone does not make a new address", "fe80::1%eth0", "fe80::2", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for range 2 {
					if !passes(t, th, auth.ActionLogin, tc.use, "") {
						t.Fatalf("%s refused within its limit", tc.use)
					}
				}
				if got := passes(t, th, auth.ActionLogin, tc.next, ""); got == tc.shared {
					t.Errorf("after %s used its limit, %s allowed: %v", tc.use, tc.next, got)
				}
			})
		}
	})
}

func TestPasskeyBeginIsLimitedPerUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		th := newThrottle(t, b, nil)
		for i := range 10 {
			if !passes(t, th, auth.ActionAddPasskey, attacker(i), "uid-alice") {
				t.Fatalf("begin %d refused", i+1)
			}
		}
		// Per user, whatever the address.
		if passes(t, th, auth.ActionAddPasskey, owner, "uid-alice") {
			t.Error("an 11th begin in a minute was allowed")
		}
		if !passes(t, th, auth.ActionAddPasskey, owner, "uid-bob") {
			t.Error("another user was refused")
		}
	})
}

func TestSignupAndLoginLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		th := newThrottle(t, b, nil)
		for _, tc := range []struct {
			action auth.Action
			name   int // the per-name limit
		}{{auth.ActionSignup, 5}, {auth.ActionLogin, 10}} {
			t.Run(string(tc.action), func(t *testing.T) {
				for i := range tc.name {
					if !passes(t, th, tc.action, attacker(i), "carol") {
						t.Fatalf("attempt %d refused", i+1)
					}
				}
				if passes(t, th, tc.action, owner, "Carol") {
					t.Errorf("attempt %d for one name allowed", tc.name+1)
				}
			})
		}
	})
}

// brokenLimiter cannot reach its store.
type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, ...auth.LimitCheck) (int, time.Duration, error) {
	return 0, 0, errors.New("connection refused")
}

func TestAnUnreachableLimiterRefusesLoginLinksOnly(t *testing.T) {
	ctx := context.Background()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A Redis nobody listens on, as well as a stand-in.
	for name, l := range map[string]auth.Limiter{"stand-in": brokenLimiter{}, "redis on a closed port": teststores.UnreachableRedis(t)} {
		t.Run(name, func(t *testing.T) {
			th := auth.NewThrottle(l, nil, discard)
			wantCode(t, th.Allow(ctx, auth.ActionEmailLink, owner, "alice"), shared.CodeUnavailable)
			for _, a := range []auth.Action{auth.ActionSignup, auth.ActionLogin, auth.ActionAddPasskey} {
				if err := th.Allow(ctx, a, owner, "alice"); err != nil {
					t.Errorf("%s: %v, want it allowed", a, err)
				}
			}
		})
	}
}

func TestNoLimiterMeansNoLimits(t *testing.T) {
	var nilThrottle *auth.Throttle
	for _, th := range []*auth.Throttle{nilThrottle, auth.NewThrottle(nil, nil, nil)} {
		for range 50 {
			if err := th.Allow(context.Background(), auth.ActionEmailLink, owner, "alice"); err != nil {
				t.Fatal(err)
			}
		}
	}
}
