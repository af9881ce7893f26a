package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// limits per action: one for the client address, one for the account the
// request names. The address limit is looser because many people can share
// one address (an office, a carrier's NAT).
var limits = map[string]struct{ ip, account auth.Limit }{
	"signup": {ip: auth.Limit{Events: 20, Per: time.Minute, Burst: 20}, account: auth.Limit{Events: 5, Per: time.Minute, Burst: 5}},
	"login":  {ip: auth.Limit{Events: 60, Per: time.Minute, Burst: 60}, account: auth.Limit{Events: 10, Per: time.Minute, Burst: 10}},
	"email":  {ip: auth.Limit{Events: 10, Per: 10 * time.Minute, Burst: 10}, account: auth.Limit{Events: 3, Per: 15 * time.Minute, Burst: 3}},
}

// limit charges one attempt at action to the client's address and, when
// the request names one, to the account. A limiter that cannot be reached
// lets the request through: throttling is a second line of defence and must
// not take logins down with it.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, action, account string) error {
	if s.opts.Limiter == nil {
		return nil
	}
	l, ok := limits[action]
	if !ok {
		return fmt.Errorf("no limits for %q", action)
	}
	type charge struct {
		key   string
		limit auth.Limit
	}
	keys := []charge{{action + ":ip:" + clientIP(r, s.opts.TrustedProxies), l.ip}}
	if account = strings.ToLower(strings.TrimSpace(account)); account != "" {
		keys = append(keys, charge{action + ":account:" + account, l.account})
	}
	for _, k := range keys {
		allowed, retry, err := s.opts.Limiter.Allow(r.Context(), k.key, k.limit)
		if err != nil {
			logger(r.Context()).ErrorContext(r.Context(), "rate limiter unavailable; allowing the request", "err", err)
			return nil
		}
		if !allowed {
			secs := int(math.Ceil(retry.Seconds()))
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			return auth.Errorf(shared.CodeRateLimited, "Too many attempts. Please wait %s and try again.", humanSeconds(secs))
		}
	}
	return nil
}

func humanSeconds(s int) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case s < 120:
		return "a minute"
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}
