package flow

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/app/cancelctx"
	"github.com/latchkey/latchkey/shared"
)

// ErrNoAutofill ends an autofill login that logged nobody in: the browser
// cannot offer passkeys in the field, or the person never picked one, or
// the page withdrew the offer. The form is still there; nothing to say.
var ErrNoAutofill = errors.New("passkey autofill ended without a login")

// Remembered is the username this device remembers.
func (f Flows) Remembered(ctx context.Context) (string, error) {
	r, err := f.API.Remembered(ctx)
	if err != nil {
		return "", err
	}
	return r.Username, nil
}

// LoginName is what the first stage sends: the typed name, trimmed; an
// empty one is a Problem the page shows at once.
func LoginName(typed string) (string, error) {
	name := strings.TrimSpace(typed)
	if name == "" {
		return "", &Problem{Msg: "Enter your username or email address."}
	}
	return name, nil
}

// Identify is the first stage: it begins a login for a typed name. The
// ceremony names the user the second stage greets.
func (f Flows) Identify(ctx context.Context, typed string) (*shared.CeremonyResponse, error) {
	name, err := LoginName(typed)
	if err != nil {
		return nil, err
	}
	return f.API.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
}

// Login is Device Login: the passkey prompt limited to username's
// passkeys. pending is the ceremony Identify began, used once; nil begins
// afresh.
func (f Flows) Login(ctx context.Context, username string, pending *shared.CeremonyResponse) (*shared.UserResponse, error) {
	begin := pending
	if begin == nil {
		var err error
		if begin, err = f.API.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: username}); err != nil {
			return nil, loginProblem(err)
		}
	}
	r, err := f.finishLogin(ctx, begin, false)
	return r, loginProblem(err)
}

// Discoverable asks for any passkey of this site ("Sign in with a
// passkey").
func (f Flows) Discoverable(ctx context.Context) (*shared.UserResponse, error) {
	begin, err := f.API.LoginBegin(ctx, shared.LoginBeginRequest{})
	if err != nil {
		return nil, loginProblem(err)
	}
	r, err := f.finishLogin(ctx, begin, false)
	return r, loginProblem(err)
}

// Autofill is a discoverable login with conditional mediation: the
// browser lists passkeys under the username field and the request waits,
// without any prompt, until the person picks one (then step says so) or
// ctx ends. Anything short of a picked passkey is ErrNoAutofill.
func (f Flows) Autofill(ctx context.Context, step Step) (*shared.UserResponse, error) {
	if !f.Creds.Supported() || !f.Creds.ConditionalMediationAvailable(ctx) {
		return nil, ErrNoAutofill
	}
	begin, err := f.API.LoginBegin(ctx, shared.LoginBeginRequest{})
	if err != nil {
		return nil, ErrNoAutofill
	}
	cred, err := f.Creds.Get(ctx, begin.Options, true)
	if err != nil {
		return nil, ErrNoAutofill // withdrawn or dismissed
	}
	orNop(step)("Logging you in…")
	c, cancel := cancelctx.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	r, err := f.API.LoginFinish(c, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	return r, loginProblem(err)
}

// finishLogin runs the browser's prompt for begin and completes the login.
func (f Flows) finishLogin(ctx context.Context, begin *shared.CeremonyResponse, conditional bool) (*shared.UserResponse, error) {
	cred, err := f.Creds.Get(ctx, begin.Options, conditional)
	if err != nil {
		return nil, err
	}
	c, cancel := cancelctx.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	return f.API.LoginFinish(c, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
}

// Forget forgets the remembered user (Switch User).
func (f Flows) Forget(ctx context.Context) error { return f.API.Forget(ctx) }

// EmailLink asks for a login link for username and returns the sentence
// that tells the person, with the link's lifetime as the server answers it.
// authorize is the application's sign-in the login is part of ("" for
// none): using the link then continues it.
func (f Flows) EmailLink(ctx context.Context, username, authorize string) (string, error) {
	r, err := f.API.EmailLoginLink(ctx, shared.EmailLoginRequest{UsernameOrEmail: username, Authorize: authorize})
	if err != nil {
		return "", err
	}
	return "Check your email: we sent a login link that works once, for " + Lifetime(time.Duration(r.ExpiresInSeconds)*time.Second) + ". Open it on this device.", nil
}

// Lifetime says how long something lasts, in the largest whole unit that
// fits ("15 minutes", "1 hour", "90 seconds").
func Lifetime(d time.Duration) string {
	switch {
	case d <= 0:
		return "a short time"
	case d%time.Hour == 0:
		return count(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return count(int(d/time.Minute), "minute")
	}
	return count(int((d+time.Second-1)/time.Second), "second")
}

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// Logout ends this session.
func (f Flows) Logout(ctx context.Context) error { return f.API.Logout(ctx) }
