package httpapi

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

type sessionKey struct{}

type authenticated struct {
	session *auth.Session
	user    *auth.User
}

// requireSession runs next only for a request with a live session, which it
// hands on in the context.
func (s *Server) requireSession(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, u, err := s.opts.Auth.Authenticate(r.Context(), s.cookie(r, s.sessionCookieName()))
		if err != nil {
			// A dead cookie is left alone: clearing it here would race with
			// a login finishing in parallel and delete the new cookie.
			return err
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, authenticated{session: sess, user: u})
		return next(w, r.WithContext(ctx))
	}
}

func current(r *http.Request) authenticated {
	a, _ := r.Context().Value(sessionKey{}).(authenticated)
	return a
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	writeJSON(w, http.StatusOK, shared.UserResponse{User: apiUser(a.user), Method: a.session.Method})
	return nil
}

// logout destroys the session on the server. Without a live session it is
// still a success: the person is logged out either way.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Auth.EndSessionByToken(r.Context(), s.cookie(r, s.sessionCookieName())); err != nil {
		return err
	}
	s.setCookie(w, s.sessionCookieName(), "", zeroTime)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// startSession sets the cookies of a fresh login. The session the browser
// had before ended with the login (the domain was given its cookie in
// auth.Client), so a session id never survives a login (fixation).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, l *auth.Login) {
	s.setCookie(w, s.sessionCookieName(), l.Token, l.Session.ExpiresAt)
	s.setCookie(w, s.rememberCookieName(), l.User.UID, s.opts.Now().Add(s.opts.RememberFor))
}

// loginResponse answers a finished sign-up or login.
func loginResponse(l *auth.Login) shared.UserResponse {
	return shared.UserResponse{User: apiUser(l.User), Method: l.Session.Method, ConfirmOwner: l.MayDisown, Continue: l.Continue}
}
