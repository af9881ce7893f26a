package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// An address is unproven until a login link sent to it is used, and an
// unproven address stays with its account for Options.EmailProofPeriod
// only, so nobody can hold someone else's address for long (security rule
// 11 in docs/PRODUCT.md).
// The release happens in two ways, so the rule holds even if no sweep ever
// runs: on demand, whenever the address is looked up (releaseOverdue) or a
// new account finds it taken (SignupFinish), and periodically
// (ReleaseUnprovenEmails, started by the composition root) so that the
// accounts show it too.

// proofCutoff is the creation time before which an account's unproven
// address is released.
func (s *Service) proofCutoff() time.Time {
	return s.opts.Now().UTC().Add(-s.opts.EmailProofPeriod)
}

// overdue reports an unproven address past its time.
func (s *Service) overdue(u *User) bool {
	return u.EmailVerifiedAt.IsZero() && (u.Email != "" || u.EmailPending != "") && u.CreatedAt.Before(s.proofCutoff())
}

// userByEmail finds the account holding an address. An overdue unproven
// address is released on the spot and finds nobody.
func (s *Service) userByEmail(ctx context.Context, email string) (*User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if err := s.releaseOverdue(ctx, u, email); err != nil {
		return nil, err
	}
	return u, nil
}

// releaseOverdue releases email, which u was found holding, if it is an
// overdue unproven address; then the address finds nobody (ErrNotFound).
func (s *Service) releaseOverdue(ctx context.Context, u *User, email string) error {
	if !s.overdue(u) {
		return nil
	}
	if _, err := s.users.ReleaseUnprovenEmails(ctx, s.proofCutoff(), email); err != nil {
		return fmt.Errorf("release unproven email: %w", err)
	}
	s.log.InfoContext(ctx, "unproven email released", "user", u.UID)
	return fmt.Errorf("email released: %w", ErrNotFound)
}

// ReleaseUnprovenEmails takes every overdue unproven address off its
// account; the accounts keep their passkeys, and /account asks for an
// address. It returns how many were released.
//
// Errors: none of its own (a store failure only).
func (s *Service) ReleaseUnprovenEmails(ctx context.Context) (int, error) {
	n, err := s.users.ReleaseUnprovenEmails(ctx, s.proofCutoff(), "")
	if err != nil {
		return 0, fmt.Errorf("release unproven emails: %w", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "unproven emails released", "count", n)
	}
	return n, nil
}

// SweepUnprovenEmails runs ReleaseUnprovenEmails every interval until ctx
// ends. Instances sharing a database may all run it: the release is one
// idempotent UPDATE.
func (s *Service) SweepUnprovenEmails(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ReleaseUnprovenEmails(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "could not release unproven emails; will try again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Disowning an account. The first use of a link sent to an address proves
// it; whoever did that may be the address's owner finding an account someone
// else made with it (pre-hijacking). They get a grant: for ReauthWindow, the
// session that the proving link started, and only that one, may delete the
// account without the recent passkey login that deleting an account
// otherwise needs. The grant lives in the challenge store under the
// session's id and is used once.
const disownPrefix = "disown:"

type disownGrant struct {
	UserID  int64     `json:"user_id"`
	Expires time.Time `json:"expires"`
}

func (s *Service) grantDisown(ctx context.Context, sess *Session, u *User) error {
	b, err := json.Marshal(disownGrant{UserID: u.ID, Expires: s.opts.Now().Add(s.opts.ReauthWindow)})
	if err != nil {
		return fmt.Errorf("encode disown grant: %w", err)
	}
	return s.putChallenge(ctx, disownPrefix+sess.ID, b, s.opts.ReauthWindow)
}

// readGrant reads (or takes) the session's grant and reports whether it is
// live and for the session's user. The store's expiry is a backstop; the
// service's clock decides.
func (s *Service) readGrant(ctx context.Context, sess *Session, take bool) (bool, error) {
	read := s.challenges.Peek
	if take {
		read = s.challenges.Take
	}
	b, err := read(ctx, disownPrefix+sess.ID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read disown grant: %w", err)
	}
	var g disownGrant
	if err := json.Unmarshal(b, &g); err != nil {
		return false, fmt.Errorf("decode disown grant: %w", err)
	}
	return g.UserID == sess.UserID && s.opts.Now().Before(g.Expires), nil
}

// MayDisown reports whether the session holds a live disown grant for its
// user: the page that redeemed the link then asks "Is this your account?".
// EmailVerify's Login.MayDisown already says so at login.
//
// Errors: none of its own (a store failure only).
func (s *Service) MayDisown(ctx context.Context, sess *Session) (bool, error) {
	return s.readGrant(ctx, sess, false)
}

// Disown deletes the session's account on behalf of the person who just
// proved its address and says it is not theirs: passkeys with the user, then
// every session through EndAllSessions.
//
// Errors: forbidden (no live grant: the answer is 403).
func (s *Service) Disown(ctx context.Context, sess *Session, u *User) error {
	refused := errDisownRefused()
	if sess.Method != MethodEmail || sess.UserID != u.ID {
		return refused
	}
	ok, err := s.readGrant(ctx, sess, true)
	if err != nil {
		return err
	}
	if !ok {
		return refused
	}
	if err := s.users.DeleteUser(ctx, u.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete disowned account: %w", err)
	}
	// The user row is gone, so a session that survived a failure here
	// would find nobody; ending them all is still the one way out.
	if err := s.EndAllSessions(ctx, u.ID); err != nil {
		s.log.ErrorContext(ctx, "disowned account deleted, but not every session ended", "user", u.UID, "err", err)
	}
	s.log.InfoContext(ctx, "account deleted by the owner of its email address", "user", u.UID)
	return nil
}

// RequestEmail gives the account an address, for an account that lost or
// never had one, or to replace one: a link goes to the address, and the
// address becomes the account's, proven, when the link is used. Changing a
// proven address could lock the owner out, so it needs what deleting a
// passkey needs: a recent login with a passkey that is not provisional.
// With enumeration protection, an address another account holds gets that
// account's owner a note instead, and the answer is the same.
//
// Errors: invalid_input (email), reauth_required (replacing a proven
// address without a trusted login), email_taken (unless enumeration
// protection hides it), busy.
func (s *Service) RequestEmail(ctx context.Context, sess *Session, u *User, req shared.AccountEmailRequest) error {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if u.Email != "" && !u.EmailVerifiedAt.IsZero() {
		if EmailKey(email) == EmailKey(u.Email) {
			return nil
		}
		if err := s.requireTrustedAuth(ctx, sess, u); err != nil {
			return err
		}
	}
	holder, err := s.userByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return fmt.Errorf("look up email: %w", err)
	case holder.ID != u.ID:
		if !s.opts.EnumerationProtection {
			return EmailTaken(nil)
		}
		return s.sendExists(ctx, email, holder)
	default:
		// Its own unproven address: an ordinary link proves it.
		return s.sendLink(ctx, u, linkState{UserID: u.ID, Email: u.Email}, loginMail)
	}
	return s.sendLink(ctx, u, linkState{UserID: u.ID, Email: email, SetEmail: true}, confirmMail)
}

// sendLink stores a link with st and mails it to st.Email with template m.
func (s *Service) sendLink(ctx context.Context, u *User, st linkState, m mailTemplate) error {
	link, err := s.newLink(ctx, st)
	if err != nil {
		return err
	}
	msg, err := render(m, st.Email, mailData{Username: u.Username, Link: link, Minutes: s.linkMinutes(), Days: int(s.opts.EmailProofPeriod.Hours() / 24)})
	if err != nil {
		return err
	}
	s.send(ctx, msg, u.UID, m.subject)
	return nil
}

// sendExists tells the owner of an address that another account tried to
// use it.
func (s *Service) sendExists(ctx context.Context, email string, holder *User) error {
	msg, err := render(existsMail, email, mailData{Username: holder.Username, LoginURL: s.opts.Origin + shared.PageLogin})
	if err != nil {
		return err
	}
	s.send(ctx, msg, holder.UID, "account-exists note")
	return nil
}
