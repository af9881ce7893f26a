package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// emailLogin answers 202 whether or not the account exists; the domain
// sends the link in the background so timing says nothing either. The
// limits count the name as typed, so a 429 says nothing about the account
// either, and tells a person why no mail is coming.
func (s *Server) emailLogin(w http.ResponseWriter, r *http.Request) error {
	var req shared.EmailLoginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.limit(w, r, auth.ActionEmailLink, req.UsernameOrEmail); err != nil {
		return err
	}
	if err := s.opts.Auth.EmailLogin(r.Context(), req); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, shared.EmailLoginResponse{ExpiresInSeconds: int(s.opts.Auth.EmailLinkTTL().Seconds())})
	return nil
}

func (s *Server) emailVerify(w http.ResponseWriter, r *http.Request) error {
	var req shared.EmailVerifyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	l, err := s.opts.Auth.EmailVerify(r.Context(), req, s.client(r))
	if err != nil {
		return err
	}
	s.startSession(w, r, l)
	writeJSON(w, http.StatusOK, loginResponse(l))
	return nil
}

// emailLinkAccount names a link's account without using the link, so the
// page can ask "Log in as …?" first. Any failure is the one token_invalid.
func (s *Server) emailLinkAccount(w http.ResponseWriter, r *http.Request) error {
	var req shared.EmailVerifyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.opts.Auth.EmailLinkAccount(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, shared.EmailLinkResponse{Username: u.Username})
	return nil
}

// accountEmail sends a link that gives the account an address; 202, since
// the address is only the account's once the link is used.
func (s *Server) accountEmail(w http.ResponseWriter, r *http.Request) error {
	var req shared.AccountEmailRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.limit(w, r, auth.ActionEmailLink, req.Email); err != nil {
		return err
	}
	a := current(r)
	if err := s.opts.Auth.RequestEmail(r.Context(), a.session, a.user, req); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}

// accountDisown deletes the account for the person whose link just proved
// its address and who says it is not theirs; the browser is logged out and
// no longer remembers the account.
func (s *Server) accountDisown(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	if err := s.opts.Auth.Disown(r.Context(), a.session, a.user); err != nil {
		return err
	}
	s.setCookie(w, s.sessionCookieName(), "", zeroTime)
	s.setCookie(w, s.rememberCookieName(), "", zeroTime)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
