package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/shared"
)

// The pages' side of applications signing people in with Latchkey: what a
// pending sign-in is (for /login and /consent), the consent answer, an
// app's logout request (for /logout), and the apps on /account. The
// protocol itself is package openid's.

func (s *Server) authorization(w http.ResponseWriter, r *http.Request) error {
	info, err := s.opts.Auth.AuthorizationInfo(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) consent(w http.ResponseWriter, r *http.Request) error {
	var req shared.ConsentRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	next, err := s.opts.Auth.Consent(r.Context(), current(r).session, r.PathValue("id"), req.Allow)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, shared.ContinueResponse{Continue: next})
	return nil
}

func (s *Server) logoutRequest(w http.ResponseWriter, r *http.Request) error {
	info, err := s.opts.Auth.LogoutInfo(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) apps(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.opts.Auth.ConsentedApps(r.Context(), current(r).user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, shared.AppsResponse{Apps: apps})
	return nil
}

func (s *Server) appRemove(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Auth.RemoveAccess(r.Context(), current(r).user, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
