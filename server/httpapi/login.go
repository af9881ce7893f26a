package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

func (s *Server) loginBegin(w http.ResponseWriter, r *http.Request) error {
	var req shared.LoginBeginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.limit(w, r, auth.ActionLogin, req.UsernameOrEmail); err != nil {
		return err
	}
	resp, err := s.opts.Auth.LoginBegin(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) loginFinish(w http.ResponseWriter, r *http.Request) error {
	var req shared.LoginFinishRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	l, err := s.opts.Auth.LoginFinish(r.Context(), req, s.client(r))
	if err != nil {
		return err
	}
	s.startSession(w, r, l)
	writeJSON(w, http.StatusOK, loginResponse(l))
	return nil
}

// remembered names the user this device logged in as last, so /login can
// greet them. The cookie holds only the opaque uid.
func (s *Server) remembered(w http.ResponseWriter, r *http.Request) error {
	u, err := s.opts.Auth.Remembered(r.Context(), s.cookie(r, s.rememberCookieName()))
	if err != nil {
		if auth.ErrorCode(err) == shared.CodeNotRemembered && s.cookie(r, s.rememberCookieName()) != "" {
			s.setCookie(w, s.rememberCookieName(), "", zeroTime)
		}
		return err
	}
	writeJSON(w, http.StatusOK, shared.RememberedResponse{Username: u.Username})
	return nil
}

// forget is Switch User: this device no longer remembers anyone.
func (s *Server) forget(w http.ResponseWriter, r *http.Request) error {
	s.setCookie(w, s.rememberCookieName(), "", zeroTime)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
