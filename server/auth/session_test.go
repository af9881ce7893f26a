package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared"
)

func TestSessionEnd(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("a request in flight during logout does not bring the session back", func(t *testing.T) {
			e := newEnv(t, b)
			e.signup(t, "alice", "alice@example.com")
			revived := 0
			for i := range 20 {
				_, _, token := e.login(t, e.key, "alice")
				// Past the refresh interval, so the request writes the
				// session's last-seen time.
				e.clock.Advance(2 * time.Minute)
				var wg sync.WaitGroup
				wg.Go(func() { e.svc.Authenticate(ctx, token) })
				if i%2 == 0 {
					// Both orders: the goroutine started last tends to run first.
					wg.Go(func() { e.svc.EndSessionByToken(ctx, token) })
				} else {
					e.svc.EndSessionByToken(ctx, token)
				}
				wg.Wait()
				if _, _, err := e.svc.Authenticate(ctx, token); err == nil {
					revived++
				} else {
					wantCode(t, err, shared.CodeUnauthenticated)
				}
			}
			if revived > 0 {
				t.Fatalf("%d of 20 logged-out sessions still worked", revived)
			}
		})

		t.Run("ending every session of a user leaves none", func(t *testing.T) {
			e := newEnv(t, b)
			u, first := e.signup(t, "alice", "alice@example.com")
			_, _, second := e.login(t, e.key, "alice")
			e.signup(t, "bob", "bob@example.com")
			_, _, bobs := e.login(t, e.key, "bob")
			if err := e.svc.EndAllSessions(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{first, second} {
				_, _, err := e.svc.Authenticate(ctx, tok)
				wantCode(t, err, shared.CodeUnauthenticated)
			}
			if _, _, err := e.svc.Authenticate(ctx, bobs); err != nil {
				t.Fatalf("another user's session ended too: %v", err)
			}
		})
	})
}
