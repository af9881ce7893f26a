package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/store/memstore"
	"github.com/latchkey/latchkey/shared"
)

func wantAPIError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if e, ok := client.APIError(err); !ok || e.Status != status || e.Code != code {
		t.Errorf("%s: got %v, want %d %s", what, err, status, code)
	}
}

// Whoever reads the owner's email gets a session that may add a passkey and
// nothing that locks the owner out (issue 14, item 1).
func TestEmailLinkSessionsCannotLockTheOwnerOut(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a, box, _ := mailAPI(t, s)
			owner := client.NewHTTP(a.URL, newJarClient())
			laptop := passkeytest.New(a.URL, "localhost")
			signUp(t, owner, laptop, "alice", "alice@example.com")
			ownSessions, err := owner.Sessions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ownKeys, _ := owner.Passkeys(ctx)

			attacker := client.NewHTTP(a.URL, newJarClient())
			before := countTo(box, "alice@example.com", len(box.Messages()))
			if err := attacker.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice"}); err != nil {
				t.Fatal(err)
			}
			if _, err := attacker.EmailVerify(ctx, shared.EmailVerifyRequest{Token: linkFor(t, box, "alice@example.com", before)}); err != nil {
				t.Fatal(err)
			}
			if me, err := attacker.Me(ctx); err != nil || me.Method != "email" {
				t.Fatalf("me: %+v %v", me, err)
			}

			// Adding a passkey works, and the API says it is provisional.
			theirs := passkeytest.New(a.URL, "localhost")
			begin, err := attacker.PasskeyBegin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cred, _ := theirs.Register(begin.Options)
			added, err := attacker.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
			if err != nil {
				t.Fatal(err)
			}
			if added.Passkey.ProvisionalUntil == nil {
				t.Fatalf("the added passkey is not provisional: %+v", added.Passkey)
			}

			check := func(who string) {
				t.Helper()
				wantAPIError(t, who+": delete the owner's passkey", attacker.DeletePasskey(ctx, ownKeys.Passkeys[0].ID), http.StatusForbidden, shared.CodeReauthRequired)
				wantAPIError(t, who+": end the owner's session", attacker.EndSession(ctx, ownSessions.Sessions[0].ID), http.StatusForbidden, shared.CodeReauthRequired)
				wantAPIError(t, who+": log out everywhere", attacker.LogoutEverywhere(ctx), http.StatusForbidden, shared.CodeReauthRequired)
			}
			check("email session")
			// Logging in with the passkey they added changes nothing.
			login(t, attacker, theirs, "alice")
			check("provisional passkey session")

			if _, err := owner.Me(ctx); err != nil {
				t.Fatalf("the owner was logged out: %v", err)
			}
			if keys, _ := owner.Passkeys(ctx); len(keys.Passkeys) != 2 {
				t.Errorf("the owner has %d passkeys", len(keys.Passkeys))
			}

			// The owner logs out everywhere: every session ends, theirs too.
			if err := owner.LogoutEverywhere(ctx); err != nil {
				t.Fatalf("log out everywhere: %v", err)
			}
			for who, c := range map[string]*client.Client{"owner": owner, "attacker": attacker} {
				if _, err := c.Me(ctx); client.Code(err) != shared.CodeUnauthenticated {
					t.Errorf("%s still logged in: %v", who, err)
				}
			}
		})
	}
}

// A full in-process challenge store refuses new ceremonies with 503 busy
// instead of growing (issue 14, item 4).
func TestFullInProcessStoreAnswersBusy(t *testing.T) {
	ctx := context.Background()
	st := teststores.SQLite(t)
	mem := memstore.New(memstore.WithMaxChallenges(3))
	t.Cleanup(func() { mem.Close() })
	st.Challenges, st.Sessions, st.Limiter = mem, mem, mem
	a := newAPI(t, st)
	for i := range 4 {
		c := client.NewHTTP(a.URL, nil)
		_, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: "user" + string(rune('a'+i)), Email: "u" + string(rune('a'+i)) + "@example.com"})
		if i < 3 && err != nil {
			t.Fatalf("begin %d: %v", i, err)
		}
		if i == 3 {
			wantAPIError(t, "begin into a full store", err, http.StatusServiceUnavailable, shared.CodeBusy)
			if e, _ := client.APIError(err); e != nil && e.Message != "Too many sign-ins are in progress; try again in a moment." {
				t.Errorf("message %q", e.Message)
			}
		}
	}
}
