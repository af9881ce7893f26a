package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/shared"
)

// emailLogin answers 202 whether or not the account exists; the domain
// sends the link in the background so timing says nothing either.
func (s *Server) emailLogin(w http.ResponseWriter, r *http.Request) error {
	var req shared.EmailLoginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.limit(w, r, "email", req.UsernameOrEmail); err != nil {
		return err
	}
	if err := s.opts.Auth.EmailLogin(r.Context(), req.UsernameOrEmail); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}

func (s *Server) emailVerify(w http.ResponseWriter, r *http.Request) error {
	var req shared.EmailVerifyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, sess, token, err := s.opts.Auth.EmailVerify(r.Context(), req.Token, s.client(r))
	if err != nil {
		return err
	}
	s.startSession(w, r, u, sess, token)
	writeJSON(w, http.StatusOK, shared.UserResponse{User: apiUser(u), Method: sess.Method})
	return nil
}
