package httpapi_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// One address is one account however it is spelled, and names cannot carry
// direction overrides or invisible characters: over HTTP, on both
// deployments.
func TestSpellingsAndInvisibleCharactersAPI(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPI(t, s)
			eve := client.NewHTTP(a.URL, newJarClient())
			key := passkeytest.New(a.URL, "localhost")
			signUp(t, eve, key, "eve", "Éve@example.com")
			spellings := []string{"éve@example.com", "e\u0301ve@example.com", "ÉVE@EXAMPLE.COM"}

			wantError := func(t *testing.T, err error, status int, code, field string) {
				t.Helper()
				e, ok := client.APIError(err)
				if !ok || e.Status != status || e.Code != code || e.Field != field {
					t.Fatalf("got %v (%+v), want %d %s naming %q", err, e, status, code, field)
				}
			}

			t.Run("answers 409 email_taken for another spelling of the address", func(t *testing.T) {
				c := client.NewHTTP(a.URL, newJarClient())
				for _, email := range spellings {
					_, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: email})
					wantError(t, err, 409, shared.CodeEmailTaken, "email")
				}
			})

			t.Run("answers 400 for an address with a zero-width space", func(t *testing.T) {
				c := client.NewHTTP(a.URL, newJarClient())
				_, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: "eve\u200b@example.com"})
				wantError(t, err, 400, shared.CodeInvalidInput, "email")
			})

			t.Run("logs in by any spelling", func(t *testing.T) {
				for _, name := range spellings {
					c := client.NewHTTP(a.URL, newJarClient())
					if got := login(t, c, key, name); got.User.Username != "eve" || got.User.Email != "Éve@example.com" {
						t.Fatalf("login as %+q: %+v", name, got.User)
					}
				}
			})

			t.Run("answers 400 naming the field for bidi controls and zero-width spaces in names", func(t *testing.T) {
				c := client.NewHTTP(a.URL, newJarClient())
				_, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: "m@example.com", DisplayName: "Eve\u202Egpj.exe"})
				wantError(t, err, 400, shared.CodeInvalidInput, "display_name")

				list, err := eve.Passkeys(ctx)
				if err != nil {
					t.Fatal(err)
				}
				_, err = eve.RenamePasskey(ctx, list.Passkeys[0].ID, "Lap\u200Btop")
				wantError(t, err, 400, shared.CodeInvalidInput, "name")
				_, err = eve.RenamePasskey(ctx, list.Passkeys[0].ID, "\u2066Laptop\u2069")
				wantError(t, err, 400, shared.CodeInvalidInput, "name")
			})

			t.Run("accepts emoji joined by ZWJ", func(t *testing.T) {
				list, err := eve.Passkeys(ctx)
				if err != nil {
					t.Fatal(err)
				}
				r, err := eve.RenamePasskey(ctx, list.Passkeys[0].ID, "Laptop 👩\u200D💻")
				if err != nil || r.Passkey.Name != "Laptop 👩\u200D💻" {
					t.Fatalf("rename: %+v, %v", r, err)
				}
			})
		})
	}
}
