package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// A login link carries a random token. The store keeps only its SHA-256,
// so a copy of the store holds no working link.
const linkPrefix = "login-link:"

type linkState struct {
	UserID int64 `json:"user_id"`
	// Email is the address the link was sent to: using the link proves it.
	Email string `json:"email,omitempty"`
	// SetEmail: the account asked for Email as its address (from
	// /account), and gets it once the link is used.
	SetEmail bool      `json:"set_email,omitempty"`
	Expires  time.Time `json:"expires"`
	// Authorize is the application sign-in the link was asked for during:
	// using the link continues it.
	Authorize string `json:"authorize,omitempty"`
}

func linkKey(token string) string { return linkPrefix + hashString(token) }

// EmailLogin sends a single-use login link to the user named, if there is
// one. Its answer is the same either way, and the mail goes out in the
// background, so neither the result nor the time taken says whether an
// account exists. How many links may be asked for is the edge's Throttle
// (ActionEmailLink), which counts the name as typed.
//
// Errors: invalid_input (username_or_email, when empty), busy.
func (s *Service) EmailLogin(ctx context.Context, req shared.EmailLoginRequest) error {
	usernameOrEmail := req.UsernameOrEmail
	if strings.TrimSpace(usernameOrEmail) == "" {
		return errUsernameOrEmailMissing()
	}
	u, _, err := s.findUser(ctx, usernameOrEmail)
	if ErrorCode(err) == shared.CodeUserNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if u.Email == "" {
		// An account without an address (released, or never given) has
		// nowhere to send a link.
		return nil
	}
	st := linkState{UserID: u.ID, Email: u.Email}
	if req.Authorize != "" {
		// Only a sign-in that exists is carried; a stale one would only
		// send the person to an error after logging in.
		if _, _, err := s.AuthRequest(ctx, req.Authorize); err == nil {
			st.Authorize = req.Authorize
		}
	}
	link, err := s.newLink(ctx, st)
	if err != nil {
		return err
	}
	msg, err := render(loginMail, u.Email, mailData{Username: u.Username, Link: link, Minutes: s.linkMinutes()})
	if err != nil {
		return err
	}
	s.send(ctx, msg, u.UID, "login link")
	return nil
}

// newLink stores a single-use login link and returns its URL.
func (s *Service) newLink(ctx context.Context, st linkState) (string, error) {
	token := randomID(32)
	st.Expires = s.opts.Now().Add(s.opts.EmailLinkTTL)
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode login link: %w", err)
	}
	if err := s.putChallenge(ctx, linkKey(token), b, s.opts.EmailLinkTTL); err != nil {
		return "", err
	}
	return s.opts.Origin + shared.PageLoginEmail + "#token=" + url.QueryEscape(token), nil
}

// send hands a message to the mailer in the background, so the time a
// request takes says nothing about whether a mail went out.
func (s *Service) send(ctx context.Context, msg Message, userUID, what string) {
	s.sending.Add(1)
	go func() {
		defer s.sending.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.opts.Mailer.Send(sctx, msg); err != nil {
			s.log.ErrorContext(sctx, what+" not sent", "user", userUID, "err", err)
			return
		}
		s.log.InfoContext(sctx, what+" sent", "user", userUID)
	}()
}

func (s *Service) linkMinutes() int { return int(s.opts.EmailLinkTTL.Minutes()) }

// EmailLinkTTL is how long a login link works, for the API to tell the page.
func (s *Service) EmailLinkTTL() time.Duration { return s.opts.EmailLinkTTL }

// WaitForMail blocks until login links being sent have gone out (for
// shutdown and tests).
func (s *Service) WaitForMail() { s.sending.Wait() }

// readLink returns a live link's state and its user: consuming the link
// (take) or leaving it usable (peek). Every failure, whatever its cause, is
// the same token_invalid, so the answer tells nothing but "this link works".
func (s *Service) readLink(ctx context.Context, token string, take bool) (*linkState, *User, error) {
	if len(token) < 20 || len(token) > 128 {
		return nil, nil, errLinkInvalid()
	}
	read := s.challenges.Peek
	if take {
		read = s.challenges.Take
	}
	b, err := read(ctx, linkKey(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errLinkInvalid()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read login link: %w", err)
	}
	var st linkState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, fmt.Errorf("decode login link: %w", err)
	}
	if !s.opts.Now().Before(st.Expires) {
		return nil, nil, errLinkInvalid()
	}
	u, err := s.users.UserByID(ctx, st.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errLinkInvalid()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("login link user: %w", err)
	}
	return &st, u, nil
}

// EmailLinkAccount names the account a login link logs in to, without
// using the link: its page asks "Log in as …?" before anything happens, so
// a link someone else sent cannot log this browser in to their account
// unnoticed (login CSRF). It tells the holder of the link no more than
// using it would.
//
// Errors: token_invalid.
func (s *Service) EmailLinkAccount(ctx context.Context, req shared.EmailVerifyRequest) (*User, error) {
	_, u, err := s.readLink(ctx, req.Token, false)
	return u, err
}

// EmailVerify redeems a login link: once, before it expires. Using it
// proves the address it was sent to. When that is the first proof of the
// address, the new session may, for a few minutes, disown the account (see
// Disown): whoever reads the mail may find an account they never made.
//
// Errors: token_invalid, email_taken (a link that gives the account an
// address another account has taken since), busy.
func (s *Service) EmailVerify(ctx context.Context, req shared.EmailVerifyRequest, client Client) (*Login, error) {
	st, u, err := s.readLink(ctx, req.Token, true)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	var proved bool
	switch {
	case st.SetEmail:
		if err := s.users.SetEmail(ctx, u.ID, st.Email, now); err != nil {
			return nil, err
		}
		u.Email, u.EmailPending, u.EmailVerifiedAt, proved = st.Email, "", now, true
	case st.Email != "":
		if proved, err = s.users.MarkEmailProven(ctx, u.ID, st.Email, now); err != nil {
			return nil, fmt.Errorf("prove email: %w", err)
		}
		if proved {
			u.EmailVerifiedAt = now
		}
	}
	sess, tok, err := s.startSession(ctx, u, nil, client)
	if err != nil {
		return nil, err
	}
	if proved {
		if err := s.grantDisown(ctx, sess, u); err != nil {
			return nil, err
		}
	}
	s.log.InfoContext(ctx, "logged in by email link", "user", u.UID, "proved_email", proved)
	l := &Login{User: u, Session: sess, Token: tok, MayDisown: proved}
	if st.Authorize != "" {
		l.Continue = ResumeURL(st.Authorize)
	}
	return l, nil
}
