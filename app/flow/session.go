package flow

import (
	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/shared"
)

// Status is the explicit state of something fetched from the server.
type Status int

const (
	NotLoaded Status = iota
	Loading
	LoadFailed
	Loaded
)

// Session is who is logged in, as far as the page knows.
type Session struct {
	Status Status
	User   *shared.User
	// Method is how the session was authenticated (shared.MethodPasskey or
	// shared.MethodEmail).
	Method string
	// Gen counts the session changes the page made itself (a login, a
	// logout). A check of /api/me that began before such a change must not
	// overwrite it when its answer comes late: a login link redeemed while
	// the page's first check is in flight would otherwise look logged out.
	Gen int
}

// LoggedIn reports a loaded session with a user.
func (s Session) LoggedIn() bool { return s.Status == Loaded && s.User != nil }

// Started is s after the page started a session itself (or re-authenticated).
func (s Session) Started(r *shared.UserResponse) Session {
	u := r.User
	return Session{Status: Loaded, User: &u, Method: r.Method, Gen: s.Gen + 1}
}

// Ended is s after the page logged out.
func (s Session) Ended() Session { return Session{Status: Loaded, Gen: s.Gen + 1} }

// WithMethod is s after the page learnt it now counts as authenticated by
// method (a passkey added from an email-link session).
func (s Session) WithMethod(method string) Session {
	s.Method = method
	s.Gen++
	return s
}

// Checked is s after the answer of an /api/me check that began when the
// session was at generation gen. ok is false when the page has changed the
// session since: the answer is stale and the session stays as it is.
func (s Session) Checked(gen int, me *shared.UserResponse, err error) (next Session, ok bool) {
	if gen != s.Gen {
		return s, false
	}
	switch {
	case err == nil:
		u := me.User
		return Session{Status: Loaded, User: &u, Method: me.Method, Gen: s.Gen}, true
	case client.Code(err) == shared.CodeUnauthenticated:
		return Session{Status: Loaded, Gen: s.Gen}, true
	}
	return Session{Status: LoadFailed, Gen: s.Gen}, true
}
