package flow

import (
	"context"

	"github.com/latchkey/latchkey/shared"
)

// LinkAccount is what opening a login link shows before anything changes.
type LinkAccount struct {
	// Username is the link's account.
	Username string
	// Current is whom this browser is logged in as now, "" for nobody.
	Current string
}

// ReadLink names the account of a login link without using it, and who is
// logged in here now, so the page can ask "Log in as …?" and warn when the
// link would switch accounts.
func (f Flows) ReadLink(ctx context.Context, token string) (*LinkAccount, error) {
	named, err := f.API.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
	if err != nil {
		return nil, err
	}
	a := &LinkAccount{Username: named.Username}
	if me, err := f.API.Me(ctx); err == nil {
		a.Current = me.User.Username
	}
	return a, nil
}

// Redeemed is a login link used.
type Redeemed struct {
	Session *shared.UserResponse
	// Passkeys are the account's, listed when the link proved its address
	// for the first time (Session.ConfirmOwner) so the person can tell
	// whether the account is theirs. Nil when they could not be read.
	Passkeys []shared.Passkey
	// Continue is where an application's sign-in continues when the link
	// was asked for during one (a full page load), "" otherwise.
	Continue string
}

// RedeemLink logs in with a login link; the page calls it on the person's
// click only.
func (f Flows) RedeemLink(ctx context.Context, token string) (*Redeemed, error) {
	done, err := f.API.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token})
	if err != nil {
		return nil, err
	}
	r := &Redeemed{Session: done}
	if done.Continue != "" {
		// The login worked either way; an address the page will not open
		// only loses the application's sign-in, so the page goes on to
		// /account instead.
		r.Continue, _ = continueURL(done.Continue)
	}
	if done.ConfirmOwner {
		if keys, err := f.API.Passkeys(ctx); err == nil {
			r.Passkeys = keys.Passkeys
		}
	}
	return r, nil
}

// Disown deletes the account the link just proved the address of, for a
// person who says it is not theirs.
func (f Flows) Disown(ctx context.Context) error { return f.API.Disown(ctx) }
