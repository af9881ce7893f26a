package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// person is another person on the same service, with an authenticator of
// their own.
func (e *env) person() *env {
	c := *e
	c.key = passkeytest.New(origin, rpID)
	return &c
}

// mailTo returns the messages sent to addr, oldest first.
func (e *env) mailTo(addr string) []auth.Message {
	e.svc.WaitForMail()
	var out []auth.Message
	for _, m := range e.mail.messages() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// linkIn returns the login link token in m.
func linkIn(t *testing.T, m auth.Message) string {
	t.Helper()
	got := linkPattern.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("no link in %q", m.Text)
	}
	return got[1]
}

const week = 7 * 24 * time.Hour

// Pre-hijacking (issue 14, item 2): an attacker signs up with the victim's
// address before the victim does.
func TestPreHijackedAccountIsDisownedByTheAddressOwner(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		attacker := e.person()
		begin, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: "victim@example.com", DisplayName: "Security team: call 555-0100"})
		if err != nil {
			t.Fatal(err)
		}
		cred, _ := attacker.key.Register(begin.Options)
		signup, err := e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
		if err != nil {
			t.Fatal(err)
		}
		acct, attackerToken := signup.User, signup.Token
		if !acct.EmailVerifiedAt.IsZero() {
			t.Fatal("a sign-up proved its address")
		}
		// The welcome mail goes to the victim, with a link and without the
		// attacker's display name.
		welcome := e.mailTo("victim@example.com")
		if len(welcome) != 1 || !strings.Contains(welcome[0].Subject, "Welcome") {
			t.Fatalf("welcome mails: %+v", welcome)
		}
		if strings.Contains(welcome[0].Text+welcome[0].HTML, "555-0100") {
			t.Fatal("the welcome mail carries the display name the attacker typed")
		}
		token := linkIn(t, welcome[0])
		// Nor does a login link asked for the account.
		if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "mallory"}); err != nil {
			t.Fatal(err)
		}
		if m := e.mailTo("victim@example.com"); len(m) != 2 || strings.Contains(m[1].Text+m[1].HTML, "555-0100") || !strings.Contains(m[1].Text, "Hello mallory") {
			t.Fatalf("the login mail: %+v", m)
		}

		// The link page names the account without using the link.
		named, err := e.svc.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
		if err != nil || named.Username != "mallory" {
			t.Fatalf("EmailLinkAccount = %+v, %v", named, err)
		}
		login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}, chromeOnMac)
		if err != nil {
			t.Fatalf("the link no longer works after being read: %v", err)
		}
		u, sess, victimToken := login.User, login.Session, login.Token
		if !login.MayDisown {
			t.Error("the first proof of the address does not offer to disown the account")
		}
		if u.EmailVerifiedAt.IsZero() {
			t.Fatal("using the link did not prove the address")
		}
		stored, _ := e.users.UserByID(ctx, u.ID)
		if !stored.EmailVerifiedAt.Equal(e.clock.Now().UTC()) {
			t.Fatalf("EmailVerifiedAt = %v, want %v", stored.EmailVerifiedAt, e.clock.Now())
		}
		if ok, err := e.svc.MayDisown(ctx, sess); err != nil || !ok {
			t.Fatalf("MayDisown after the proving link = %v, %v", ok, err)
		}
		// Another session of the same account may not use the grant.
		attackerSess, attackerUser, err := e.svc.Authenticate(ctx, attackerToken)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.Disown(ctx, attackerSess, attackerUser), shared.CodeForbidden)

		if err := e.svc.Disown(ctx, sess, u); err != nil {
			t.Fatalf("Disown: %v", err)
		}
		if _, err := e.users.UserByUsername(ctx, "mallory"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("the account survived: %v", err)
		}
		for _, id := range attacker.key.Credentials() {
			if _, err := e.users.PasskeyByCredentialID(ctx, id); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("the attacker's passkey survived: %v", err)
			}
		}
		for _, tok := range []string{attackerToken, victimToken} {
			if _, _, err := e.svc.Authenticate(ctx, tok); auth.ErrorCode(err) != shared.CodeUnauthenticated {
				t.Fatalf("a session survived the account: %v", err)
			}
		}
		if sessions, _ := e.svc.Sessions(ctx, u); len(sessions) != 0 {
			t.Fatalf("%d sessions left in the store", len(sessions))
		}
		// The victim signs up with their own address.
		victim := e.person()
		if v, _ := victim.signup(t, "victim", "victim@example.com"); v.Email != "victim@example.com" {
			t.Fatalf("the victim's account has %q", v.Email)
		}
	})
}

func TestDisowningNeedsTheProvingSessionAndIsShortLived(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		u, passkeyToken := e.signup(t, "alice", "alice@example.com")
		welcome := linkIn(t, e.mailTo("alice@example.com")[0])

		// A passkey session never may.
		sess, _, _ := e.svc.Authenticate(ctx, passkeyToken)
		wantCode(t, e.svc.Disown(ctx, sess, u), shared.CodeForbidden)

		// The proving session may, within the re-auth window only.
		login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: welcome}, chromeOnMac)
		if err != nil {
			t.Fatal(err)
		}
		proving := login.Session
		e.clock.Advance(5*time.Minute + time.Second)
		if ok, _ := e.svc.MayDisown(ctx, proving); ok {
			t.Fatal("the grant outlived the re-auth window")
		}
		wantCode(t, e.svc.Disown(ctx, proving, u), shared.CodeForbidden)

		// A later link proves nothing new and grants nothing.
		if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"}); err != nil {
			t.Fatal(err)
		}
		login, err = e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: e.lastLink(t)}, chromeOnMac)
		if err != nil {
			t.Fatal(err)
		}
		later := login.Session
		if ok, _ := e.svc.MayDisown(ctx, later); ok || login.MayDisown {
			t.Fatal("a second link granted disowning")
		}
		wantCode(t, e.svc.Disown(ctx, later, u), shared.CodeForbidden)
		if _, err := e.users.UserByID(ctx, u.ID); err != nil {
			t.Fatalf("the account is gone: %v", err)
		}
	})
}

func TestUnprovenAddressIsReleasedAfterAWeek(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("on demand, without a sweep", func(t *testing.T) {
			e := newEnv(t, b)
			attacker := e.person()
			squatter, _ := attacker.signup(t, "mallory", "victim@example.com")
			victim := e.person()
			_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "victim", Email: "victim@example.com"})
			wantCode(t, err, shared.CodeEmailTaken)

			e.clock.Advance(week - time.Minute)
			_, err = e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "victim", Email: "victim@example.com"})
			wantCode(t, err, shared.CodeEmailTaken)

			e.clock.Advance(2 * time.Minute)
			v, _ := victim.signup(t, "victim", "victim@example.com")
			if v.Email != "victim@example.com" {
				t.Fatalf("the victim's account has %q", v.Email)
			}
			// The squatter keeps the account and its passkey, without the
			// address; login by name still works, by address finds the victim.
			kept, err := e.users.UserByID(ctx, squatter.ID)
			if err != nil || kept.Email != "" {
				t.Fatalf("squatter after release: %+v, %v", kept, err)
			}
			if u, _, _ := attacker.login(t, attacker.key, "mallory"); u.ID != squatter.ID {
				t.Fatal("the squatter could not log in by name")
			}
			begin, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "victim@example.com"})
			if err != nil || begin.Username != "victim" {
				t.Fatalf("login by address: %+v, %v", begin, err)
			}
			// No address, no link, same answer.
			before := len(e.mail.messages())
			if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "mallory"}); err != nil {
				t.Fatal(err)
			}
			if e.svc.WaitForMail(); len(e.mail.messages()) != before {
				t.Fatal("a link went out for an account without an address")
			}
		})

		t.Run("a login by address releases it too", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "mallory", "victim@example.com")
			e.clock.Advance(week + time.Second)
			_, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "victim@example.com"})
			wantCode(t, err, shared.CodeUserNotFound)
			u, _ := e.users.UserByUsername(ctx, "mallory")
			if u.Email != "" {
				t.Fatalf("the address was not released: %+v", u)
			}
		})

		t.Run("by the sweep, never a proven one", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "mallory", "victim@example.com")
			alice := e.person()
			alice.signup(t, "alice", "alice@example.com")
			if _, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkIn(t, e.mailTo("alice@example.com")[0])}, chromeOnMac); err != nil {
				t.Fatal(err)
			}
			if n, err := e.svc.ReleaseUnprovenEmails(ctx); err != nil || n != 0 {
				t.Fatalf("released %d too early (%v)", n, err)
			}
			e.clock.Advance(week + time.Second)
			if n, err := e.svc.ReleaseUnprovenEmails(ctx); err != nil || n != 1 {
				t.Fatalf("released %d, want 1 (%v)", n, err)
			}
			if u, err := e.users.UserByEmail(ctx, "alice@example.com"); err != nil || u.Username != "alice" {
				t.Fatalf("the proven address went: %v", err)
			}
		})

		t.Run("changing a proven address needs a trusted passkey login", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "alice", "alice@example.com")
			login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkIn(t, e.mailTo("alice@example.com")[0])}, chromeOnMac)
			if err != nil {
				t.Fatal(err)
			}
			linkToken := login.Token
			// Whoever reads the mailbox cannot move the account elsewhere.
			sess, u, _ := e.svc.Authenticate(ctx, linkToken)
			wantCode(t, e.svc.RequestEmail(ctx, sess, u, shared.AccountEmailRequest{Email: "thief@example.com"}), shared.CodeReauthRequired)
			if len(e.mailTo("thief@example.com")) != 0 {
				t.Fatal("a link went to the new address")
			}
			_, passkeySess, _ := e.login(t, e.key, "alice")
			if err := e.svc.RequestEmail(ctx, passkeySess, u, shared.AccountEmailRequest{Email: "alice@new.example"}); err != nil {
				t.Fatalf("the owner could not change the address: %v", err)
			}
		})

		t.Run("the owner gives the account an address again, proven by a link", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "mallory", "old@example.com")
			e.clock.Advance(week + time.Second)
			if _, err := e.svc.ReleaseUnprovenEmails(ctx); err != nil {
				t.Fatal(err)
			}
			// A week on, the sign-up session has gone idle: the owner logs
			// in with the passkey, by username.
			_, _, token := e.login(t, e.key, "mallory")
			sess, u, err := e.svc.Authenticate(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			other := e.person()
			other.signup(t, "bob", "bob@example.com")
			wantCode(t, e.svc.RequestEmail(ctx, sess, u, shared.AccountEmailRequest{Email: "bob@example.com"}), shared.CodeEmailTaken)
			wantCode(t, e.svc.RequestEmail(ctx, sess, u, shared.AccountEmailRequest{Email: "not an address"}), shared.CodeInvalidInput)
			if err := e.svc.RequestEmail(ctx, sess, u, shared.AccountEmailRequest{Email: "new@example.com"}); err != nil {
				t.Fatal(err)
			}
			if u, _ := e.users.UserByID(ctx, u.ID); u.Email != "" {
				t.Fatal("the address was set before it was proven")
			}
			mails := e.mailTo("new@example.com")
			if len(mails) != 1 {
				t.Fatalf("mails to the new address: %+v", mails)
			}
			login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkIn(t, mails[0])}, chromeOnMac)
			if err != nil || login.User.Email != "new@example.com" || login.User.EmailVerifiedAt.IsZero() {
				t.Fatalf("after the link: %+v, %v", login, err)
			}
			if found, err := e.users.UserByEmail(ctx, "new@example.com"); err != nil || found.ID != u.ID {
				t.Fatalf("the address does not find the account: %v", err)
			}
		})
	})
}

func TestLinkPageReadsWithoutUsing(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.signup(t, "alice", "alice@example.com")
		e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"})
		token := e.lastLink(t)
		for range 2 {
			if u, err := e.svc.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token}); err != nil || u.Username != "alice" {
				t.Fatalf("EmailLinkAccount = %+v, %v", u, err)
			}
		}
		if _, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token}, chromeOnMac); err != nil {
			t.Fatal(err)
		}
		// Used, unknown, malformed or expired: one answer.
		_, err := e.svc.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
		wantCode(t, err, shared.CodeTokenInvalid)
		for _, bad := range []string{"", "short", strings.Repeat("A", 43)} {
			_, err := e.svc.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: bad})
			wantCode(t, err, shared.CodeTokenInvalid)
		}
		e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"})
		token = e.lastLink(t)
		e.clock.Advance(15*time.Minute + time.Second)
		_, err = e.svc.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
		wantCode(t, err, shared.CodeTokenInvalid)
	})
}

func protected(o *auth.Options) {
	o.EnumerationProtection = true
	o.Secret = []byte("0123456789abcdef0123456789abcdef")
}

func allowed(t *testing.T, begin *shared.CeremonyResponse) []string {
	t.Helper()
	var opts struct {
		AllowCredentials []struct{ ID string }
	}
	if err := json.Unmarshal(begin.Options, &opts); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range opts.AllowCredentials {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestEnumerationProtection(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("off: an unknown name is not found", func(t *testing.T) {
			e := newEnv(t, b)
			_, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "nobody"})
			wantCode(t, err, shared.CodeUserNotFound)
		})

		t.Run("on: an unknown name gets a second stage that cannot finish", func(t *testing.T) {
			e := newEnv(t, b, protected)
			alice, _ := e.signup(t, "alice", "alice@example.com")
			real, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "Alice@Example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if real.Username != "Alice@Example.com" {
				t.Fatalf("the greeting revealed the username behind an address: %q", real.Username)
			}
			first, err := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: " Nobody "})
			if err != nil {
				t.Fatalf("unknown name: %v", err)
			}
			if first.Username != "Nobody" || first.Ceremony == "" {
				t.Fatalf("decoy %+v", first)
			}
			ids := allowed(t, first)
			if len(ids) != 1 || len(allowed(t, real)) != 1 || len(ids[0]) != len(allowed(t, real)[0]) {
				t.Fatalf("decoy credentials %v, real ones %v", ids, allowed(t, real))
			}
			// Stable per name, across requests and across instances that
			// share the secret; different for another name.
			again, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "nobody"})
			twin := newEnv(t, b, protected)
			fromTwin, _ := twin.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "NOBODY"})
			other, _ := e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "somebody"})
			if allowed(t, again)[0] != ids[0] || allowed(t, fromTwin)[0] != ids[0] || allowed(t, other)[0] == ids[0] {
				t.Fatal("decoy credential ids are not stable per name")
			}
			// No authenticator holds the decoy credential; a real passkey
			// forced onto the decoy ceremony gets nowhere.
			if _, err := e.key.Login(first.Options); err == nil {
				t.Fatal("the authenticator found a passkey for the decoy")
			}
			cred, err := e.key.LoginWith(e.key.Credentials()[0], first.Options)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, e.finishLogin(first, cred), shared.CodeCredentialRejected)
			if u, _, _ := e.login(t, e.key, "alice"); u.ID != alice.ID {
				t.Fatal("the real login broke")
			}
		})

		t.Run("on: a taken address signs up like any other and never gets it", func(t *testing.T) {
			e := newEnv(t, b, protected)
			victim, _ := e.signup(t, "victim", "victim@example.com")
			if _, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkIn(t, e.mailTo("victim@example.com")[0])}, chromeOnMac); err != nil {
				t.Fatal(err)
			}
			e.mail.sent = nil
			attacker := e.person()
			_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "victim", Email: "x@example.com"})
			wantCode(t, err, shared.CodeUsernameTaken)
			acct, _ := attacker.signup(t, "mallory", "Victim@example.com")
			if acct.Email != "" || acct.EmailPending != "Victim@example.com" {
				t.Fatalf("the new account: %+v", acct)
			}
			if u, err := e.users.UserByEmail(ctx, "victim@example.com"); err != nil || u.ID != victim.ID {
				t.Fatalf("the address moved: %+v, %v", u, err)
			}
			mails := e.mailTo("Victim@example.com")
			if len(mails) != 1 || !strings.Contains(mails[0].Text, "already has it") || !strings.Contains(mails[0].Text, "victim") ||
				linkPattern.MatchString(mails[0].Text) || strings.Contains(mails[0].Text, "mallory") {
				t.Fatalf("mails to the address: %+v", mails)
			}
			// Asking for a link for the new account sends nothing anywhere.
			before := len(e.mail.messages())
			e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "mallory"})
			if e.svc.WaitForMail(); len(e.mail.messages()) != before {
				t.Fatal("a link went out for the account without the address")
			}
			// The pending address goes with the week, like an unproven one.
			e.clock.Advance(week + time.Second)
			if n, _ := e.svc.ReleaseUnprovenEmails(ctx); n != 1 {
				t.Fatalf("released %d", n)
			}
		})

		t.Run("on: an overdue unproven address goes to the new account", func(t *testing.T) {
			e := newEnv(t, b, protected)
			e.signup(t, "mallory", "victim@example.com")
			e.clock.Advance(week + time.Second)
			// No sweep ran, and sign-up does not look the address up
			// before finishing: the release at finish must do it.
			victim := e.person()
			v, _ := victim.signup(t, "victim", "victim@example.com")
			if v.Email != "victim@example.com" {
				t.Fatalf("the owner's new account did not get the address: %+v", v)
			}
		})
	})
}
