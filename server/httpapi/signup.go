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
	l, err := s.opts.Auth.SignupFinish(r.Context(), req, s.client(r))
	if err != nil {
		return err
	}
	s.startSession(w, r, l)
	writeJSON(w, http.StatusCreated, loginResponse(l))
	return nil
}
