package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/server/auth"
)

// client is who is on the other end of r, for naming a new passkey and the
// session list.
func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{UserAgent: r.UserAgent(), IP: clientIP(r, s.opts.TrustedProxies), SessionToken: s.cookie(r, s.sessionCookieName())}
}
