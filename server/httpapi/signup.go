package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

func (s *Server) signupBegin(w http.ResponseWriter, r *http.Request) error {
	var req shared.SignupBeginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.limit(w, r, auth.ActionSignup, req.Username); err != nil {
		return err
	}
	resp, err := s.opts.Auth.SignupBegin(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) signupFinish(w http.ResponseWriter, r *http.Request) error {
	var req shared.SignupFinishRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, sess, token, err := s.opts.Auth.SignupFinish(r.Context(), req, s.client(r))
	if err != nil {
		return err
	}
	s.startSession(w, r, u, sess, token)
	writeJSON(w, http.StatusCreated, shared.UserResponse{User: apiUser(u), Method: sess.Method})
	return nil
}

// startSession sets the cookies of a fresh login and ends the session the
// browser had before, so a session id never survives a login (fixation).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *auth.User, sess *auth.Session, token string) {
	if err := s.opts.Auth.EndSessionByToken(r.Context(), s.cookie(r, s.sessionCookieName())); err != nil {
		logger(r.Context()).WarnContext(r.Context(), "could not end the previous session", "err", err)
	}
	s.setCookie(w, s.sessionCookieName(), token, sess.ExpiresAt)
	s.setCookie(w, s.rememberCookieName(), u.UID, s.opts.Now().Add(s.opts.RememberFor))
}

func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{UserAgent: r.UserAgent(), IP: clientIP(r, s.opts.TrustedProxies)}
}

func apiUser(u *auth.User) shared.User {
	out := shared.User{ID: u.UID, Username: u.Username, Email: u.Email, EmailVerified: u.Email != "" && !u.EmailVerifiedAt.IsZero(), DisplayName: u.DisplayName}
	if out.Email == "" {
		// An address the account asked for but does not hold is shown as
		// unproven, like any other, so the owner sees what they typed.
		out.Email = u.EmailPending
	}
	return out
}
