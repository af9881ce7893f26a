package httpapi

import (
	"net/http"
	"time"
)

// Cookie names. With an https PUBLIC_URL they take the __Host- prefix, which
// makes the browser insist on Secure, Path=/ and no Domain: a sibling
// subdomain can then neither read nor plant them.
func (s *Server) sessionCookieName() string { return SessionCookieName(s.opts.Secure) }

// SessionCookieName is the session cookie's name, for the OpenID Connect
// provider, which reads the session and ends it on an app's logout.
func SessionCookieName(secure bool) string {
	if secure {
		return "__Host-latchkey_session"
	}
	return "latchkey_session"
}

func (s *Server) rememberCookieName() string {
	if s.opts.Secure {
		return "__Host-latchkey_user"
	}
	return "latchkey_user"
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.opts.Secure,
		SameSite: http.SameSiteLaxMode,
	}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = int(expires.Sub(s.opts.Now()).Seconds())
	}
	http.SetCookie(w, c)
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
