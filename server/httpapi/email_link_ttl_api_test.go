package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// The link page says how long a link works; that comes from the API, so
// the page cannot promise 15 minutes when EMAIL_LINK_TTL says otherwise.
func TestEmailLoginAnswersTheLinkLifetime(t *testing.T) {
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPIWith(t, s, func(o *auth.Options) { o.EmailLinkTTL = 7 * time.Minute })
			signUp(t, client.NewHTTP(a.URL, nil), passkeytest.New(a.URL, "localhost"), "alice", "alice@example.com")
			for _, name := range []string{"alice", "nobody@example.com"} {
				status, body := rawPost(t, a.URL+shared.APILoginEmail, `{"username_or_email":"`+name+`"}`)
				var got shared.EmailLoginResponse
				if err := json.Unmarshal([]byte(body), &got); err != nil || status != 202 || got.ExpiresInSeconds != 7*60 {
					t.Errorf("%s: %d %s", name, status, body)
				}
			}
			r, err := client.NewHTTP(a.URL, nil).EmailLoginLink(context.Background(), shared.EmailLoginRequest{UsernameOrEmail: "alice"})
			if err != nil || r.ExpiresInSeconds != 420 {
				t.Errorf("client: %+v, %v", r, err)
			}
		})
	}
}
