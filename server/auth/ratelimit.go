package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"time"
)

// The rate limits, by name. Each is declared once, here, with its default;
// the name is also the suffix of the variable that changes it
// (RATE_LIMIT_LOGIN_IP).
const (
	LimitSignupIP    = "SIGNUP_IP"
	LimitSignupName  = "SIGNUP_NAME"
	LimitLoginIP     = "LOGIN_IP"
	LimitLoginName   = "LOGIN_NAME"
	LimitEmailIP     = "EMAIL_IP"
	LimitEmailNameIP = "EMAIL_NAME_IP"
	LimitEmailName   = "EMAIL_NAME"
	LimitPasskeyUser = "PASSKEY_USER"
	LimitAuthorizeIP = "AUTHORIZE_IP"
	LimitTokenApp    = "TOKEN_APP"
)

// Limits maps a limit's name to its rate.
type Limits map[string]Limit

// every returns n events per d, all of which may come at once.
func every(n int, d time.Duration) Limit { return Limit{Events: n, Per: d, Burst: n} }

// DefaultLimits returns the built-in limits. Address limits are looser than
// name limits because many people can share one address (an office, a
// carrier's NAT). A login link is the tightest: each one is an email to
// someone's inbox, and each is a way in while it lives.
func DefaultLimits() Limits {
	return Limits{
		LimitSignupIP:    every(20, time.Minute),
		LimitSignupName:  every(5, time.Minute),
		LimitLoginIP:     every(60, time.Minute),
		LimitLoginName:   every(10, time.Minute),
		LimitEmailIP:     every(10, 10*time.Minute),
		LimitEmailNameIP: every(3, 15*time.Minute),
		LimitEmailName:   every(20, time.Hour),
		LimitPasskeyUser: every(10, time.Minute),
		// Each sign-in to an app passes authorize twice or more (the
		// request, then its resume after login and consent).
		LimitAuthorizeIP: every(60, time.Minute),
		// One app's server redeems the codes and refreshes the tokens of
		// all its users: loose, only a bound on a runaway client.
		LimitTokenApp: every(600, time.Minute),
	}
}

// Action is what a Throttle counts.
type Action string

const (
	ActionSignup     Action = "signup"
	ActionLogin      Action = "login"
	ActionEmailLink  Action = "email"
	ActionAddPasskey Action = "passkey"
	ActionAuthorize  Action = "authorize"
	ActionToken      Action = "token"
)

// scope is what one limit of an action counts attempts by.
type scope int

const (
	byAddr     scope = iota // the client's address (IPv6 by /64)
	byName                  // the name or email address as typed
	byNameAddr              // both together
	byUser                  // the signed-in user
	byApp                   // the app (OpenID Connect client) calling
)

type rule struct {
	limit string
	by    scope
}

// rules are the limits each action is charged, in order. An attempt stops at
// the first limit that refuses it, so a refused attempt does not use up the
// limits after it. That order is what keeps the owner's login links coming
// while others flood the name: an address that floods uses up its own
// (name, address) allowance and never reaches the name's.
var rules = map[Action][]rule{
	ActionSignup:     {{LimitSignupIP, byAddr}, {LimitSignupName, byName}},
	ActionLogin:      {{LimitLoginIP, byAddr}, {LimitLoginName, byName}},
	ActionEmailLink:  {{LimitEmailIP, byAddr}, {LimitEmailNameIP, byNameAddr}, {LimitEmailName, byName}},
	ActionAddPasskey: {{LimitPasskeyUser, byUser}},
	ActionAuthorize:  {{LimitAuthorizeIP, byAddr}},
	ActionToken:      {{LimitTokenApp, byApp}},
}

// failClosed are the actions refused when the limiter cannot be reached.
// A login link is an email sent to a third party's inbox, so an unmetered
// stream of them is a flood nobody can stop; refusing costs a person a
// retry. Sign-up, login and adding a passkey stay open: each needs a
// passkey ceremony, so there is nothing to guess, and their ceremonies live
// in a store that is bounded apart from the limits. Closing them would make
// the limiter a second way to take every login down.
var failClosed = map[Action]bool{ActionEmailLink: true}

// RetryAfter is how long a refused attempt should wait. It is in the chain
// of the rate_limited *Error a Throttle returns.
type RetryAfter time.Duration

func (r RetryAfter) Error() string { return "retry after " + time.Duration(r).String() }

// Seconds is r in whole seconds, rounded up, at least 1 (a Retry-After
// header's unit).
func (r RetryAfter) Seconds() int {
	return max(1, int(math.Ceil(time.Duration(r).Seconds())))
}

// Throttle charges attempts to the rate limits, over a Limiter shared by
// every instance. A nil Throttle, or one without a Limiter, allows
// everything (RATE_LIMITS=off).
type Throttle struct {
	limiter Limiter
	limits  Limits
	log     *slog.Logger
}

// NewThrottle returns a Throttle over limiter. Limits missing from limits
// keep their defaults.
func NewThrottle(limiter Limiter, limits Limits, log *slog.Logger) *Throttle {
	all := DefaultLimits()
	for name, l := range limits {
		all[name] = l
	}
	if log == nil {
		log = slog.Default()
	}
	return &Throttle{limiter: limiter, limits: all, log: log}
}

// Allow charges one attempt at action from the client address addr. name is
// what the request names: the username or email address as typed, for
// ActionAddPasskey the user's uid, for ActionToken the app's id; empty, the
// name limits are skipped.
//
// Because the limits count the typed name and never look it up, they answer
// the same whether or not an account exists. A refusal is a rate_limited
// *Error with a RetryAfter in its chain; a limiter that cannot be reached
// refuses a login link with unavailable and lets anything else through.
func (t *Throttle) Allow(ctx context.Context, action Action, addr, name string) error {
	if t == nil || t.limiter == nil {
		return nil
	}
	rs, ok := rules[action]
	if !ok {
		return fmt.Errorf("rate limits: unknown action %q", action)
	}
	named := limitName(name)
	checks := make([]LimitCheck, 0, len(rs))
	checked := make([]rule, 0, len(rs))
	for _, r := range rs {
		if r.by != byAddr && name == "" {
			continue
		}
		var key string
		switch r.by {
		case byAddr:
			key = "ip:" + addrGroup(addr)
		case byName:
			key = "name:" + named
		case byNameAddr:
			key = "name-ip:" + named + ":" + addrGroup(addr)
		case byUser:
			key = "user:" + name
		case byApp:
			key = "app:" + name
		}
		checks = append(checks, LimitCheck{Key: string(action) + ":" + key, Limit: t.limits[r.limit]})
		checked = append(checked, r)
	}
	// One call for all of them: the limiter keeps their order and stops at
	// the first refusal, in one round trip to a shared store.
	n, retry, err := t.limiter.Allow(ctx, checks...)
	if err != nil {
		if failClosed[action] {
			return errLinksUnavailable(fmt.Errorf("rate limiter unavailable: %w", err))
		}
		t.log.ErrorContext(ctx, "rate limiter unavailable; allowing the request", "action", action, "err", err)
		return nil
	}
	if n < 0 || n > len(checks) {
		return fmt.Errorf("rate limits: the limiter charged %d of %d limits", n, len(checks))
	}
	if n < len(checks) {
		r, l := checked[n], checks[n].Limit
		ra := RetryAfter(retry)
		return errRateLimited(humanSeconds(ra.Seconds()), fmt.Errorf("limit %s (%d per %v) reached: %w", r.limit, l.Events, l.Per, ra))
	}
	return nil
}

// limitName is a typed name as the limits count it: in the form accounts
// are looked up by, EmailKey's (which for a username is trimmed and without
// regard to case), so "Alice " and "alice", or "Éve@x.org" and "e\u0301ve@x.org",
// share their limits; then hashed, so a key is short whatever was typed and
// the limiter holds no email address in clear.
func limitName(name string) string {
	sum := sha256.Sum256([]byte(EmailKey(name)))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// addrGroup is the part of a client address the limits count. An IPv6
// subscriber is usually given a whole /64 and can use any address in it, so
// IPv6 counts by /64; IPv4 counts by address, and an IPv4-mapped IPv6
// address (::ffff:192.0.2.1) counts as the IPv4 address it carries.
func addrGroup(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		// Not an IP (a Unix socket's peer, say): counted as it is.
		return addr
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func humanSeconds(s int) string {
	switch {
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case s < 120:
		return "a minute"
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}
