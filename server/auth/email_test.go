package auth_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

var linkPattern = regexp.MustCompile(`https://latchkey\.test/login/email#token=([A-Za-z0-9_%-]+)`)

// lastLink returns the token of the newest login link sent.
func (e *env) lastLink(t *testing.T) string {
	t.Helper()
	e.svc.WaitForMail()
	msgs := e.mail.messages()
	if len(msgs) == 0 {
		t.Fatal("no email was sent")
	}
	m := linkPattern.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		t.Fatalf("no link in %q", msgs[len(msgs)-1].Text)
	}
	tok, _ := url.QueryUnescape(m[1])
	return tok
}

func TestEmailLogin(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("sends a single-use link that logs the person in", func(t *testing.T) {
			e := newEnv(t, b)
			alice, _ := e.signup(t, "alice", "alice@example.com")
			if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "Alice"}); err != nil {
				t.Fatal(err)
			}
			token := e.lastLink(t)
			msgs := e.mail.messages()
			m := msgs[len(msgs)-1]
			if m.To != "alice@example.com" || !strings.Contains(m.Subject, "login link") || !strings.Contains(m.HTML, "#token=") || !strings.Contains(m.Text, "15 minutes") {
				t.Errorf("message %+v", m)
			}
			// Only the token's hash is stored.
			if _, err := e.challenges.Take(ctx, "login-link:"+token); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("the raw token is a store key (err %v)", err)
			}
			login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}, chromeOnMac)
			if err != nil || login.User.ID != alice.ID || login.Session.Method != auth.MethodEmail || login.Token == "" {
				t.Fatalf("verify: %+v %v", login, err)
			}
			_, err = e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}, chromeOnMac)
			wantCode(t, err, shared.CodeTokenInvalid)
		})

		t.Run("answers the same for an unknown user and sends nothing", func(t *testing.T) {
			e := newEnv(t, b)
			for _, name := range []string{"nobody", "nobody@example.com"} {
				if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: name}); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			e.svc.WaitForMail()
			if n := len(e.mail.messages()); n != 0 {
				t.Errorf("%d messages sent for unknown users", n)
			}
		})

		t.Run("refuses an expired, unknown or malformed token", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "alice", "alice@example.com")
			e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice@example.com"})
			token := e.lastLink(t)
			e.clock.Advance(15*time.Minute + time.Second)
			_, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}, chromeOnMac)
			wantCode(t, err, shared.CodeTokenInvalid)
			for _, bad := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("x", 500)} {
				_, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: bad}, chromeOnMac)
				wantCode(t, err, shared.CodeTokenInvalid)
			}
		})

		t.Run("lets a fresh email login add a passkey, then asks for a passkey again", func(t *testing.T) {
			e := newEnv(t, b)
			alice, _ := e.signup(t, "alice", "alice@example.com")
			e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"})
			login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: e.lastLink(t)}, chromeOnMac)
			if err != nil {
				t.Fatal(err)
			}
			token := login.Token
			laptop := passkeytest.New(origin, rpID)
			p := addPasskey(t, e, token, laptop)
			if p.UserID != alice.ID || p.Name == "" {
				t.Errorf("added %+v", p)
			}
			// The new device's passkey logs in.
			if u, _, _ := e.login(t, laptop, "alice"); u.ID != alice.ID {
				t.Errorf("logged in as %v", u)
			}
			e.clock.Advance(6 * time.Minute)
			sess, u, err := e.svc.Authenticate(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.PasskeyBegin(ctx, sess, u)
			wantCode(t, err, shared.CodeReauthRequired)
			wantCode(t, e.svc.DeletePasskey(ctx, sess, u, p.UID), shared.CodeReauthRequired)
		})
	})
}

func TestManagePasskeys(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		alice, token := e.signup(t, "alice", "alice@example.com")
		other := &env{svc: e.svc, users: e.users, clock: e.clock, key: passkeytest.New(origin, rpID)}
		_, bobToken := other.signup(t, "bob", "bob@example.com")
		sess, u, _ := e.svc.Authenticate(ctx, token)
		bobSess, bob, _ := e.svc.Authenticate(ctx, bobToken)
		keys, _ := e.svc.Passkeys(ctx, alice)
		first := keys[0]

		t.Run("refuses to delete the last passkey", func(t *testing.T) {
			wantCode(t, e.svc.DeletePasskey(ctx, sess, u, first.UID), shared.CodeLastPasskey)
		})
		t.Run("renames a passkey within 1 to 64 characters", func(t *testing.T) {
			p, err := e.svc.RenamePasskey(ctx, u, first.UID, shared.PasskeyRenameRequest{Name: "  Work laptop "})
			if err != nil || p.Name != "Work laptop" {
				t.Fatalf("%+v %v", p, err)
			}
			for _, bad := range []string{"", "   ", strings.Repeat("x", 65), "bad\nname"} {
				_, err := e.svc.RenamePasskey(ctx, u, first.UID, shared.PasskeyRenameRequest{Name: bad})
				wantCode(t, err, shared.CodeInvalidInput)
			}
		})
		t.Run("treats another user's passkey as not found", func(t *testing.T) {
			_, err := e.svc.RenamePasskey(ctx, bob, first.UID, shared.PasskeyRenameRequest{Name: "mine now"})
			wantCode(t, err, shared.CodeNotFound)
			wantCode(t, e.svc.DeletePasskey(ctx, bobSess, bob, first.UID), shared.CodeNotFound)
			keys, _ := e.svc.Passkeys(ctx, alice)
			if len(keys) != 1 || keys[0].Name != "Work laptop" {
				t.Errorf("alice's passkeys changed: %+v", keys)
			}
		})
		t.Run("refuses to add a passkey the authenticator already holds", func(t *testing.T) {
			begin, err := e.svc.PasskeyBegin(ctx, sess, u)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.key.Register(begin.Options); err == nil || !strings.Contains(err.Error(), "InvalidStateError") {
				t.Errorf("excludeCredentials did not list the existing passkey: %v", err)
			}
		})
		t.Run("deletes a passkey once there are two", func(t *testing.T) {
			added := addPasskey(t, e, token, passkeytest.New(origin, rpID))
			if err := e.svc.DeletePasskey(ctx, sess, u, first.UID); err != nil {
				t.Fatal(err)
			}
			keys, _ := e.svc.Passkeys(ctx, alice)
			if len(keys) != 1 || keys[0].UID != added.UID {
				t.Errorf("passkeys after delete: %+v", keys)
			}
			// The deleted passkey no longer logs in.
			begin, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{})
			cred, _ := e.key.Login(begin.Options)
			wantCode(t, e.finishLogin(begin, cred), shared.CodeCredentialRejected)
		})
		t.Run("lets only the session that began adding a passkey finish it", func(t *testing.T) {
			begin, err := e.svc.PasskeyBegin(ctx, sess, u)
			if err != nil {
				t.Fatal(err)
			}
			cred, _ := passkeytest.New(origin, rpID).Register(begin.Options)
			_, err = e.svc.PasskeyFinish(ctx, bobSess, bob, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
			wantCode(t, err, shared.CodeCeremonyInvalid)
		})
	})
}
