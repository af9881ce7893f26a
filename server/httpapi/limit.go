package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/server/auth"
)

// limit charges one attempt at action from the client's address, naming
// name (see auth.Throttle.Allow). The limits and what happens when the
// limiter is down are the domain's; the edge adds the Retry-After header.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, action auth.Action, name string) error {
	err := s.throttle.Allow(r.Context(), action, clientIP(r, s.opts.TrustedProxies), name)
	var ra auth.RetryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.Seconds()))
	}
	return err
}
