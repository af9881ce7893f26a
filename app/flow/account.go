package flow

import (
	"context"
	"strings"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/shared"
)

// Account runs the account page's actions for the logged-in user. Actions
// the server guards with a recent authentication first ask for one
// (reAuth) and then run again.
type Account struct {
	Flows
	// Username and Method are who is logged in and how.
	Username, Method string
	// Step reports progress (the re-authentication's prompt among it).
	Step Step
	// Reauthed hears of the session a re-authentication started, before
	// the action runs again.
	Reauthed func(*shared.UserResponse)
}

// Lists are the account page's lists.
type Lists struct {
	Passkeys []shared.Passkey
	Sessions []shared.Session
	// Apps are the applications the person allowed to sign them in.
	Apps []shared.App
}

// Load reads the passkeys, the sessions and the applications.
func (a Account) Load(ctx context.Context) (*Lists, error) {
	keys, err := a.API.Passkeys(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.API.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	apps, err := a.API.Apps(ctx)
	if err != nil {
		return nil, err
	}
	return &Lists{Passkeys: keys.Passkeys, Sessions: list.Sessions, Apps: apps.Apps}, nil
}

// withRecentAuth runs op; if the server wants a recent authentication
// first, it runs a passkey prompt for this user and then op again.
func (a Account) withRecentAuth(ctx context.Context, op func() error) error {
	err := op()
	if client.Code(err) != shared.CodeReauthRequired {
		return err
	}
	prompt := "For your security, confirm it's you with your passkey…"
	if a.Method == shared.MethodEmail {
		// The server wants a passkey the account already had, not one
		// added from this email-link session.
		prompt = "You logged in with an email link. Confirm it's you with a passkey you already had…"
	}
	orNop(a.Step)(prompt)
	begin, err := a.API.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: a.Username})
	if err != nil {
		return err
	}
	cred, err := a.Creds.Get(ctx, begin.Options, false)
	if err != nil {
		return err
	}
	done, err := a.API.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err != nil {
		return err
	}
	if a.Reauthed != nil {
		a.Reauthed(done)
	}
	return op()
}

// AddPasskey makes a passkey on this device and adds it to the account.
func (a Account) AddPasskey(ctx context.Context) (*shared.Passkey, error) {
	var begin *shared.CeremonyResponse
	err := a.withRecentAuth(ctx, func() (err error) {
		begin, err = a.API.PasskeyBegin(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	orNop(a.Step)("Follow your browser's prompt to create a passkey…")
	cred, err := a.Creds.Create(ctx, begin.Options)
	if err != nil {
		return nil, err
	}
	added, err := a.API.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err != nil {
		return nil, err
	}
	return &added.Passkey, nil
}

// RequestEmail sends a link that confirms (or adds) an address.
func (a Account) RequestEmail(ctx context.Context, addr string) error {
	return a.withRecentAuth(ctx, func() error { return a.API.SetEmail(ctx, shared.AccountEmailRequest{Email: addr}) })
}

// RenamePasskey renames one of the account's passkeys.
func (a Account) RenamePasskey(ctx context.Context, id, name string) error {
	_, err := a.API.RenamePasskey(ctx, id, strings.TrimSpace(name))
	return err
}

// DeletePasskey deletes one of the account's passkeys.
func (a Account) DeletePasskey(ctx context.Context, id string) error {
	return a.withRecentAuth(ctx, func() error { return a.API.DeletePasskey(ctx, id) })
}

// EndSessions ends the given sessions; one that has ended meanwhile is no
// failure.
func (a Account) EndSessions(ctx context.Context, ids []string) error {
	return a.withRecentAuth(ctx, func() error {
		for _, id := range ids {
			if err := a.API.EndSession(ctx, id); err != nil && client.Code(err) != shared.CodeNotFound {
				return err
			}
		}
		return nil
	})
}

// LogoutEverywhere ends every session of the account, this one included.
func (a Account) LogoutEverywhere(ctx context.Context) error {
	return a.withRecentAuth(ctx, func() error { return a.API.LogoutEverywhere(ctx) })
}
