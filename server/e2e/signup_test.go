package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/latchkey/latchkey/server/auth"
)

// signUp fills in /signup and waits for /account to greet the new user.
// It returns how long the ceremony took from the click to the greeting.
func signUp(b *browser, base, username, email string) time.Duration {
	b.t.Helper()
	b.do(60*time.Second,
		chromedp.Navigate(base+"/signup"),
		wasmReady(),
		typeInto("#username", username),
		typeInto("#email", email),
	)
	b.screenshot("signup-filled")
	start := time.Now()
	b.do(30*time.Second,
		chromedp.Click(chromedp.CSS("#signup-submit")),
		waitText("#account-username", username),
	)
	return time.Since(start)
}

func TestSignupInTheBrowser(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	b := newBrowser(t)
	authID := b.authenticator(true)

	took := signUp(b, in.URL, "Alice_1", "alice@example.com")
	t.Logf("sign-up ceremony in the browser: %v (click to /account)", took)

	if url := eval[string](b, `location.pathname`); url != "/account" {
		t.Errorf("landed on %s", url)
	}
	if got := b.text("#account-greeting"); got != "Welcome, Alice_1!" {
		t.Errorf("greeting %q", got)
	}
	ctx := context.Background()
	u, err := in.Users.UserByUsername(ctx, "alice_1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := in.Users.Passkeys(ctx, u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("passkeys %v %v", keys, err)
	}
	creds := b.storedCredentials(authID)
	if len(creds) != 1 || !creds[0].IsResidentCredential || string(creds[0].CredentialID) != string(keys[0].CredentialID) {
		t.Fatalf("the authenticator holds %+v; the server stored %x", creds, keys[0].CredentialID)
	}
	if keys[0].Name == "" || len(keys[0].Transports) == 0 {
		t.Errorf("passkey stored as %+v", keys[0])
	}
	t.Logf("stored passkey: name %q, transports %v, attestation %q", keys[0].Name, keys[0].Transports, keys[0].AttestationType)

	// The session survives a reload: /account still knows who this is.
	b.do(30*time.Second, chromedp.Reload(), waitText("#account-username", "Alice_1"))
	if p := b.Problems(); len(p) > 0 {
		t.Errorf("the page logged problems: %v", p)
	}
}

func TestSignupErrorsInTheBrowser(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	page := newBrowser(t)
	authID := page.authenticator(true)

	t.Run("a cancelled prompt leaves no account and can be retried", func(t *testing.T) {
		b := page.on(t)
		b.setVerified(authID, false) // verification fails, as when the person cancels
		b.do(60*time.Second,
			chromedp.Navigate(in.URL+"/signup"),
			wasmReady(),
			typeInto("#username", "bob"),
			typeInto("#email", "bob@example.com"),
			chromedp.Click(chromedp.CSS("#signup-submit")),
			waitText("#signup-error", "cancelled"),
			chromedp.WaitEnabled(chromedp.CSS("#signup-submit")),
		)
		if _, err := in.Users.UserByUsername(context.Background(), "bob"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("an account exists after a cancelled prompt: %v", err)
		}
		if path := eval[string](b, `location.pathname`); path != "/signup" {
			t.Errorf("moved to %s", path)
		}
		// With a working authenticator the same name can be taken.
		b.setVerified(authID, true)
		signUp(b, in.URL, "bob", "bob@example.com")
	})

	t.Run("a taken username is shown beside the field before any prompt", func(t *testing.T) {
		b := page.on(t)
		b.do(60*time.Second,
			chromedp.Navigate(in.URL+"/signup"),
			wasmReady(),
			typeInto("#username", "BOB"),
			typeInto("#email", "other@example.com"),
			chromedp.Click(chromedp.CSS("#signup-submit")),
			waitText("#username-error", "taken"),
		)
	})

	t.Run("an invalid email is shown beside the field", func(t *testing.T) {
		b := page.on(t)
		b.do(60*time.Second,
			chromedp.Navigate(in.URL+"/signup"),
			wasmReady(),
			typeInto("#username", "carol"),
			typeInto("#email", "carol-at-example"),
			chromedp.Click(chromedp.CSS("#signup-submit")),
			waitText("#email-error", "email address"),
		)
	})
}

// Browsers without WebAuthn Level 3's JSON helpers (older Safari and
// Firefox) take the wasm's own conversion path; removing the helpers from
// Chromium exercises it for real.
func TestSignupWithoutTheBrowsersJSONHelpers(t *testing.T) {
	t.Parallel()
	in := start(t, nil)
	b := newBrowser(t)
	b.authenticator(true)
	b.do(60*time.Second,
		chromedp.Navigate(in.URL+"/signup"),
		wasmReady(),
	)
	removed := eval[bool](b, `(() => {
		delete PublicKeyCredential.parseCreationOptionsFromJSON;
		delete PublicKeyCredential.parseRequestOptionsFromJSON;
		delete PublicKeyCredential.prototype.toJSON;
		return !PublicKeyCredential.parseCreationOptionsFromJSON && !PublicKeyCredential.prototype.toJSON;
	})()`)
	if !removed {
		t.Fatal("could not remove the JSON helpers")
	}
	b.do(30*time.Second,
		typeInto("#username", "dana"),
		typeInto("#email", "dana@example.com"),
		chromedp.Click(chromedp.CSS("#signup-submit")),
		waitText("#account-username", "dana"),
	)
	u, err := in.Users.UserByUsername(context.Background(), "dana")
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := in.Users.Passkeys(context.Background(), u.ID); len(keys) != 1 || len(keys[0].Transports) == 0 {
		t.Errorf("passkeys %+v", keys)
	}
}
