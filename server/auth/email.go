package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// A login link carries a random token. The store keeps only its SHA-256,
// so a copy of the store holds no working link.
const linkPrefix = "login-link:"

type linkState struct {
	UserID  int64     `json:"user_id"`
	Expires time.Time `json:"expires"`
}

// linkLimit bounds the links one account can be sent, which also bounds
// how many are alive at once (each lives EmailLinkTTL).
var linkLimit = Limit{Events: 3, Per: 15 * time.Minute, Burst: 3}

func linkKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return linkPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// EmailLogin sends a single-use login link to the user named, if there is
// one. Its answer is the same either way, and the mail goes out in the
// background, so neither the result nor the time taken says whether an
// account exists.
func (s *Service) EmailLogin(ctx context.Context, usernameOrEmail string) error {
	if strings.TrimSpace(usernameOrEmail) == "" {
		return FieldError("username_or_email", "Enter your username or email address.")
	}
	u, err := s.FindUser(ctx, usernameOrEmail)
	if ErrorCode(err) == shared.CodeUserNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if s.opts.Limiter != nil {
		ok, _, err := s.opts.Limiter.Allow(ctx, "email:user:"+u.UID, linkLimit)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limiter unavailable for login links", "err", err)
		} else if !ok {
			s.log.WarnContext(ctx, "login link not sent: too many for this account", "user", u.UID)
			return nil
		}
	}
	token := randomID(32)
	b, err := json.Marshal(linkState{UserID: u.ID, Expires: s.opts.Now().Add(s.opts.EmailLinkTTL)})
	if err != nil {
		return fmt.Errorf("encode login link: %w", err)
	}
	if err := s.putChallenge(ctx, linkKey(token), b, s.opts.EmailLinkTTL); err != nil {
		return err
	}
	msg, err := s.loginLinkMessage(u, s.opts.Origin+shared.PageLoginEmail+"#token="+url.QueryEscape(token))
	if err != nil {
		return err
	}
	s.sending.Add(1)
	go func() {
		defer s.sending.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.opts.Mailer.Send(sctx, msg); err != nil {
			s.log.ErrorContext(sctx, "login link not sent", "user", u.UID, "err", err)
			return
		}
		s.log.InfoContext(sctx, "login link sent", "user", u.UID)
	}()
	return nil
}

// WaitForMail blocks until login links being sent have gone out (for
// shutdown and tests).
func (s *Service) WaitForMail() { s.sending.Wait() }

// EmailVerify redeems a login link: once, before it expires.
func (s *Service) EmailVerify(ctx context.Context, token string, client Client) (*User, *Session, string, error) {
	invalid := Errorf(shared.CodeTokenInvalid, "This login link is invalid, already used or expired. Please ask for a new one.")
	if len(token) < 20 || len(token) > 128 {
		return nil, nil, "", invalid
	}
	b, err := s.challenges.Take(ctx, linkKey(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, "", invalid
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("take login link: %w", err)
	}
	var st linkState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, "", fmt.Errorf("decode login link: %w", err)
	}
	if !s.opts.Now().Before(st.Expires) {
		return nil, nil, "", invalid
	}
	u, err := s.users.UserByID(ctx, st.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, "", invalid
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("login link user: %w", err)
	}
	sess, tok, err := s.StartSession(ctx, u, nil, client)
	if err != nil {
		return nil, nil, "", err
	}
	s.log.InfoContext(ctx, "logged in by email link", "user", u.UID)
	return u, sess, tok, nil
}

var (
	linkText = texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.Name}},

Use this link to log in to Latchkey:

{{.Link}}

It works once, for {{.Minutes}} minutes. Open it on the device you want to log in on; you can then add a passkey for that device.

If you did not ask for this, ignore this email: nobody can log in without the link.
`))
	linkHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #111827">
<p>Hello {{.Name}},</p>
<p>Use this button to log in to Latchkey:</p>
<p><a href="{{.Link}}" style="display: inline-block; padding: 12px 20px; background: #1d4ed8; color: #ffffff; border-radius: 8px; text-decoration: none; font-weight: 600">Log in to Latchkey</a></p>
<p>Or paste this link into your browser:<br><a href="{{.Link}}">{{.Link}}</a></p>
<p>It works once, for {{.Minutes}} minutes. Open it on the device you want to log in on; you can then add a passkey for that device.</p>
<p style="color: #4b5563">If you did not ask for this, ignore this email: nobody can log in without the link.</p>
</body></html>
`))
)

func (s *Service) loginLinkMessage(u *User, link string) (Message, error) {
	data := struct {
		Name, Link string
		Minutes    int
	}{u.DisplayName, link, int(s.opts.EmailLinkTTL.Minutes())}
	if data.Name == "" {
		data.Name = u.Username
	}
	var text, html bytes.Buffer
	if err := linkText.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("login link text: %w", err)
	}
	if err := linkHTML.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("login link html: %w", err)
	}
	return Message{To: u.Email, Subject: "Your Latchkey login link", Text: text.String(), HTML: html.String()}, nil
}
