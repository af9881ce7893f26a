package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

func (s *Server) passkeys(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	keys, err := s.opts.Auth.Passkeys(r.Context(), a.user)
	if err != nil {
		return err
	}
	out := shared.PasskeysResponse{Passkeys: make([]shared.Passkey, 0, len(keys))}
	for _, p := range keys {
		out.Passkeys = append(out.Passkeys, apiPasskey(p, s.opts.Now()))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) passkeyBegin(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	a := current(r)
	// Each begin writes ceremony state that lives until it expires or is
	// replaced; the limit bounds how fast one account can make the store
	// do that work.
	if err := s.limit(w, r, auth.ActionAddPasskey, a.user.UID); err != nil {
		return err
	}
	resp, err := s.opts.Auth.PasskeyBegin(r.Context(), a.session, a.user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) passkeyFinish(w http.ResponseWriter, r *http.Request) error {
	var req shared.PasskeyFinishRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a := current(r)
	p, err := s.opts.Auth.PasskeyFinish(r.Context(), a.session, a.user, req, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, shared.PasskeyResponse{Passkey: apiPasskey(*p, s.opts.Now())})
	return nil
}

func (s *Server) passkeyRename(w http.ResponseWriter, r *http.Request) error {
	var req shared.PasskeyRenameRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.opts.Auth.RenamePasskey(r.Context(), current(r).user, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, shared.PasskeyResponse{Passkey: apiPasskey(*p, s.opts.Now())})
	return nil
}

func (s *Server) passkeyDelete(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	if err := s.opts.Auth.DeletePasskey(r.Context(), a.session, a.user, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	list, err := s.opts.Auth.Sessions(r.Context(), a.user)
	if err != nil {
		return err
	}
	out := shared.SessionsResponse{Sessions: make([]shared.Session, 0, len(list))}
	for _, sess := range list {
		out.Sessions = append(out.Sessions, shared.Session{
			ID:         sess.ID,
			Current:    sess.ID == a.session.ID,
			Method:     sess.Method,
			Device:     auth.DeviceName(sess.UserAgent),
			UserAgent:  sess.UserAgent,
			IP:         sess.IP,
			CreatedAt:  sess.CreatedAt,
			LastSeenAt: sess.LastSeenAt,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) sessionEnd(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	if err := s.opts.Auth.EndUserSession(r.Context(), a.session, a.user, r.PathValue("id")); err != nil {
		return err
	}
	if r.PathValue("id") == a.session.ID {
		s.setCookie(w, s.sessionCookieName(), "", zeroTime)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionsEnd is "log out everywhere": every session of the user ends,
// this one too.
func (s *Server) sessionsEnd(w http.ResponseWriter, r *http.Request) error {
	a := current(r)
	if err := s.opts.Auth.LogoutEverywhere(r.Context(), a.session, a.user); err != nil {
		return err
	}
	s.setCookie(w, s.sessionCookieName(), "", zeroTime)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
