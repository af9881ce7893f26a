package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/store/memstore"
	"github.com/latchkey/latchkey/shared"
)

// emailSession logs name in through an emailed link, as someone who reads
// the mailbox can, and returns the session's token.
func (e *env) emailSession(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: name}); err != nil {
		t.Fatal(err)
	}
	login, err := e.svc.EmailVerify(ctx, shared.EmailVerifyRequest{Token: e.lastLink(t)}, chromeOnMac)
	if err != nil {
		t.Fatalf("EmailVerify: %v", err)
	}
	token := login.Token
	return token
}

func (e *env) authenticate(t *testing.T, token string) (*auth.Session, *auth.User) {
	t.Helper()
	sess, u, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return sess, u
}

func (e *env) passkeys(t *testing.T, u *auth.User) []auth.Passkey {
	t.Helper()
	keys, err := e.svc.Passkeys(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// What whoever reads someone's mailbox can and cannot do with it (issue 14,
// item 1), and what a passkey they add can do.
func TestMailboxAccessIsNotAccountOwnership(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("an email-link session adds a passkey, which is provisional", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "alice", "alice@example.com")
			p := addPasskey(t, e, e.emailSession(t, "alice"), passkeytest.New(origin, rpID))
			if want := e.clock.Now().Add(72 * time.Hour); !p.ProvisionalUntil.Equal(want) {
				t.Fatalf("provisional until %v, want %v", p.ProvisionalUntil, want)
			}
		})

		t.Run("an email-link session cannot delete a passkey, end another session or log out everywhere", func(t *testing.T) {
			e := newEnv(t, b)
			owner, ownerToken := e.signup(t, "alice", "alice@example.com")
			ownerSess, _ := e.authenticate(t, ownerToken)
			attacker := e.emailSession(t, "alice")
			addPasskey(t, e, attacker, passkeytest.New(origin, rpID))
			sess, u := e.authenticate(t, attacker)
			first := e.passkeys(t, owner)[0]
			wantCode(t, e.svc.DeletePasskey(ctx, sess, u, first.UID), shared.CodeReauthRequired)
			wantCode(t, e.svc.EndUserSession(ctx, sess, u, ownerSess.ID), shared.CodeReauthRequired)
			wantCode(t, e.svc.LogoutEverywhere(ctx, sess, u), shared.CodeReauthRequired)
			if n := len(e.passkeys(t, owner)); n != 2 {
				t.Errorf("the owner has %d passkeys, want 2", n)
			}
			e.authenticate(t, ownerToken) // still logged in
			// Its own session it may end: that is logging out.
			if err := e.svc.EndUserSession(ctx, sess, u, sess.ID); err != nil {
				t.Fatalf("ending its own session: %v", err)
			}
		})

		t.Run("a login with a passkey added by email link does not authorise removing the owner's", func(t *testing.T) {
			e := newEnv(t, b)
			owner, ownerToken := e.signup(t, "alice", "alice@example.com")
			ownerSess, _ := e.authenticate(t, ownerToken)
			first := e.passkeys(t, owner)[0]
			// The attacker reads alice's mail, adds their passkey, and logs
			// in with it: a fresh passkey login.
			theirs := passkeytest.New(origin, rpID)
			added := addPasskey(t, e, e.emailSession(t, "alice"), theirs)
			_, sess, token := e.login(t, theirs, "alice")
			if sess.Method != auth.MethodPasskey || sess.PasskeyUID != added.UID {
				t.Fatalf("session %+v", sess)
			}
			sess, u := e.authenticate(t, token)
			err := e.svc.DeletePasskey(ctx, sess, u, first.UID)
			wantCode(t, err, shared.CodeReauthRequired)
			if msg := err.(*auth.Error).Message; !strings.Contains(msg, "added through an email login") {
				t.Errorf("message %q does not say why", msg)
			}
			wantCode(t, e.svc.EndUserSession(ctx, sess, u, ownerSess.ID), shared.CodeReauthRequired)
			wantCode(t, e.svc.LogoutEverywhere(ctx, sess, u), shared.CodeReauthRequired)
			// Nor can it launder itself through another passkey: what it
			// adds is provisional too.
			again := addPasskey(t, e, token, passkeytest.New(origin, rpID))
			if again.ProvisionalUntil.IsZero() {
				t.Fatal("a passkey added by a provisional passkey's session is not provisional")
			}
			if n := len(e.passkeys(t, owner)); n != 3 {
				t.Errorf("the owner has %d passkeys, want 3", n)
			}
			e.authenticate(t, ownerToken)

			// The owner, logged in with their own passkey, can remove the
			// attacker's at once.
			sess, u = e.authenticate(t, ownerToken)
			if err := e.svc.DeletePasskey(ctx, sess, u, added.UID); err != nil {
				t.Fatalf("the owner deleting the provisional passkey: %v", err)
			}
			// Which also logs out whoever logged in with it.
			_, _, err = e.svc.Authenticate(ctx, token)
			wantCode(t, err, shared.CodeUnauthenticated)
		})

		t.Run("after the cooling-off period a provisional passkey counts in full", func(t *testing.T) {
			e := newEnv(t, b)
			owner, _ := e.signup(t, "alice", "alice@example.com")
			first := e.passkeys(t, owner)[0]
			phone := passkeytest.New(origin, rpID)
			addPasskey(t, e, e.emailSession(t, "alice"), phone)
			e.clock.Advance(72 * time.Hour)
			for _, k := range e.passkeys(t, owner) {
				if k.Provisional(e.clock.Now()) {
					t.Errorf("passkey %s still provisional", k.Name)
				}
			}
			_, _, token := e.login(t, phone, "alice")
			sess, u := e.authenticate(t, token)
			if err := e.svc.DeletePasskey(ctx, sess, u, first.UID); err != nil {
				t.Fatalf("delete after the period: %v", err)
			}
		})

		t.Run("a trusted passkey login adds passkeys that are not provisional", func(t *testing.T) {
			e := newEnv(t, b)
			_, token := e.signup(t, "alice", "alice@example.com")
			if p := addPasskey(t, e, token, passkeytest.New(origin, rpID)); !p.ProvisionalUntil.IsZero() {
				t.Fatalf("provisional until %v", p.ProvisionalUntil)
			}
		})

		t.Run("a trusted login older than the re-auth window must log in again", func(t *testing.T) {
			e := newEnv(t, b)
			owner, token := e.signup(t, "alice", "alice@example.com")
			addPasskey(t, e, token, passkeytest.New(origin, rpID))
			e.clock.Advance(5*time.Minute + time.Second)
			sess, u := e.authenticate(t, token)
			wantCode(t, e.svc.DeletePasskey(ctx, sess, u, e.passkeys(t, owner)[0].UID), shared.CodeReauthRequired)
		})
	})
}

// Bounds on what one account and one process hold (issue 14, items 4 and 10).
func TestAccountAndCeremonyBounds(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("deleting a passkey ends the sessions it started, the sign-up session included", func(t *testing.T) {
			e := newEnv(t, b)
			owner, signupToken := e.signup(t, "alice", "alice@example.com")
			first := e.passkeys(t, owner)[0]
			_, _, loginToken := e.login(t, e.key, "alice")
			phone := passkeytest.New(origin, rpID)
			addPasskey(t, e, loginToken, phone)
			_, _, phoneToken := e.login(t, phone, "alice")
			emailToken := e.emailSession(t, "alice")
			sess, u := e.authenticate(t, phoneToken)
			if err := e.svc.DeletePasskey(ctx, sess, u, first.UID); err != nil {
				t.Fatal(err)
			}
			for name, tok := range map[string]string{"sign-up": signupToken, "login": loginToken} {
				if _, _, err := e.svc.Authenticate(ctx, tok); err == nil {
					t.Errorf("the %s session of the deleted passkey is still alive", name)
				}
			}
			e.authenticate(t, phoneToken)
			e.authenticate(t, emailToken)
		})

		t.Run("a new add-passkey begin replaces the session's open one", func(t *testing.T) {
			e := newEnv(t, b)
			u, token := e.signup(t, "alice", "alice@example.com")
			sess, _ := e.authenticate(t, token)
			key := passkeytest.New(origin, rpID)
			old, err := e.svc.PasskeyBegin(ctx, sess, u)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.PasskeyBegin(ctx, sess, u); err != nil {
				t.Fatal(err)
			}
			// The replaced ceremony is gone from the store, not just refused.
			if _, err := e.challenges.Take(ctx, "ceremony:"+old.Ceremony); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("the replaced ceremony is still stored (err %v)", err)
			}
			cred, _ := key.Register(old.Options)
			_, err = e.svc.PasskeyFinish(ctx, sess, u, shared.PasskeyFinishRequest{Ceremony: old.Ceremony, Credential: cred}, chromeOnMac)
			wantCode(t, err, shared.CodeCeremonyInvalid)
			if n := len(e.passkeys(t, u)); n != 1 {
				t.Errorf("%d passkeys", n)
			}
			// Many begins hold one ceremony, not many.
			for range 20 {
				if _, err := e.svc.PasskeyBegin(ctx, sess, u); err != nil {
					t.Fatal(err)
				}
			}
			addPasskey(t, e, token, key)
		})

		t.Run("an account holds at most MaxPasskeys passkeys", func(t *testing.T) {
			e := newEnv(t, b)
			u, token := e.signup(t, "alice", "alice@example.com")
			for range auth.MaxPasskeys - 1 {
				addPasskey(t, e, token, passkeytest.New(origin, rpID))
			}
			sess, _ := e.authenticate(t, token)
			_, err := e.svc.PasskeyBegin(ctx, sess, u)
			wantCode(t, err, shared.CodeLimitReached)
		})

		t.Run("an account keeps at most MaxSessions sessions, ending the least recently used", func(t *testing.T) {
			e := newEnv(t, b)
			u, oldest := e.signup(t, "alice", "alice@example.com")
			var newest string
			for range auth.MaxSessions {
				e.clock.Advance(time.Second)
				_, _, newest = e.login(t, e.key, "alice")
			}
			list, err := e.svc.Sessions(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != auth.MaxSessions {
				t.Fatalf("%d sessions, want %d", len(list), auth.MaxSessions)
			}
			_, _, err = e.svc.Authenticate(ctx, oldest)
			wantCode(t, err, shared.CodeUnauthenticated)
			e.authenticate(t, newest)
		})
	})

	t.Run("a full in-process store answers busy, and still starts sessions", func(t *testing.T) {
		e := newEnv(t, backend{Name: "SQLite+CappedInProcess", Open: func(t testing.TB) teststores.Stores {
			st := teststores.SQLite(t)
			// Three: alice's welcome link holds one.
			mem := memstore.New(memstore.WithMaxChallenges(3))
			t.Cleanup(func() { mem.Close() })
			st.Challenges, st.Sessions, st.Limiter = mem, mem, mem
			return st
		}})
		_, token := e.signup(t, "alice", "alice@example.com")
		for i := range 2 {
			if _, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("u%d@example.com", i)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: "m@example.com"})
		wantCode(t, err, shared.CodeBusy)
		_, err = e.svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
		wantCode(t, err, shared.CodeBusy)
		e.authenticate(t, token)
	})
}
