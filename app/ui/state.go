package ui

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// loadStatus is the explicit state of something fetched from the server.
type loadStatus int

const (
	notLoaded loadStatus = iota
	loading
	loadFailed
	loaded
)

// State keys shared between components.
const (
	stateSession = "session"
	stateToast   = "toast"
	// stateOffline is true while Latchkey cannot be reached, whether the
	// browser knows it is offline or the server just does not answer.
	stateOffline = "offline"
)

// session is who is logged in, as far as this page knows.
type session struct {
	Status loadStatus
	User   *shared.User
	// Method is how the session was authenticated ("passkey" or "email").
	Method string
}

// LoggedIn reports a loaded session with a user.
func (s session) LoggedIn() bool { return s.Status == loaded && s.User != nil }

// Actions published by components and handled in one place.
const (
	actionRefreshSession = "session/refresh"
	actionToast          = "toast"
)

// api is the client every component uses.
var api = newClient()

func requestContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// sessionGen counts the session changes this page made itself (login,
// logout). A check of /api/me that started before such a change must not
// overwrite it when its answer arrives late: a login link redeemed while
// the page's first check is in flight would otherwise look logged out.
// Only the UI goroutine touches it.
var sessionGen int

// registerActions installs the handlers that own shared state.
func registerActions() {
	app.Handle(actionRefreshSession, func(ctx app.Context, a app.Action) {
		var s session
		ctx.GetState(stateSession, &s)
		if s.Status == notLoaded {
			ctx.SetState(stateSession, session{Status: loading})
		}
		gen := sessionGen
		ctx.Async(func() {
			c, cancel := requestContext()
			defer cancel()
			me, err := api.Me(c)
			ctx.Dispatch(func(ctx app.Context) {
				ctx.SetState(stateOffline, errors.Is(err, client.ErrNetwork))
				if gen != sessionGen {
					return
				}
				switch {
				case err == nil:
					ctx.SetState(stateSession, session{Status: loaded, User: &me.User, Method: me.Method})
				case client.Code(err) == shared.CodeUnauthenticated:
					ctx.SetState(stateSession, session{Status: loaded})
				default:
					ctx.SetState(stateSession, session{Status: loadFailed})
				}
			})
		})
	})
	app.Handle(actionToast, func(ctx app.Context, a app.Action) {
		msg, _ := a.Value.(string)
		ctx.SetState(stateToast, msg)
		ctx.After(3*time.Second, func(ctx app.Context) {
			var cur string
			ctx.GetState(stateToast, &cur)
			if cur == msg {
				ctx.SetState(stateToast, "")
			}
		})
	})
}

// setSession records a session the client has just started, without a
// round trip.
func setSession(ctx app.Context, r *shared.UserResponse) {
	u := r.User
	putSession(ctx, session{Status: loaded, User: &u, Method: r.Method})
}

// clearSession records that this page logged out.
func clearSession(ctx app.Context) { putSession(ctx, session{Status: loaded}) }

// putSession is every change of session the page makes itself.
func putSession(ctx app.Context, s session) {
	sessionGen++
	ctx.SetState(stateSession, s)
}

// toast shows a short confirmation.
func toast(ctx app.Context, msg string) { ctx.NewActionWithValue(actionToast, msg) }
