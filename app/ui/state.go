package ui

import (
	"errors"
	"time"

	"github.com/latchkey/latchkey/app/cancelctx"
	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// State keys shared between components.
const (
	// stateSession holds a flow.Session: who is logged in.
	stateSession = "session"
	stateToast   = "toast"
	// stateOffline is true while Latchkey cannot be reached, whether the
	// browser knows it is offline or the server just does not answer.
	stateOffline = "offline"
)

// Actions published by components and handled in one place.
const (
	actionRefreshSession = "session/refresh"
	actionToast          = "toast"
)

// api is the client every component uses; flows run the ceremonies
// against it and the browser's passkey prompt.
var (
	api   = newClient()
	flows = flow.Flows{API: api, Creds: &credentials.Browser{}}
)

// registerActions installs the handlers that own shared state.
func registerActions() {
	app.Handle(actionRefreshSession, func(ctx app.Context, a app.Action) {
		var s flow.Session
		ctx.GetState(stateSession, &s)
		if s.Status == flow.NotLoaded {
			s.Status = flow.Loading
			ctx.SetState(stateSession, s)
		}
		// The answer only lands if the page has not changed the session
		// itself meanwhile (flow.Session.Gen).
		gen := s.Gen
		ctx.Async(func() {
			c, cancel := cancelctx.WithTimeout(ctx, flow.RequestTimeout)
			defer cancel()
			me, err := api.Me(c)
			ctx.Dispatch(func(ctx app.Context) {
				ctx.SetState(stateOffline, errors.Is(err, client.ErrNetwork))
				var cur flow.Session
				ctx.GetState(stateSession, &cur)
				if next, ok := cur.Checked(gen, me, err); ok {
					ctx.SetState(stateSession, next)
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

// changeSession is every change of session the page makes itself (a
// login, a logout): it moves the session to its next generation, so a
// check of /api/me already under way cannot undo it.
func changeSession(ctx app.Context, change func(flow.Session) flow.Session) {
	var cur flow.Session
	ctx.GetState(stateSession, &cur)
	ctx.SetState(stateSession, change(cur))
}

// setSession records a session the client has just started, without a
// round trip.
func setSession(ctx app.Context, r *shared.UserResponse) {
	changeSession(ctx, func(s flow.Session) flow.Session { return s.Started(r) })
}

// clearSession records that this page logged out.
func clearSession(ctx app.Context) { changeSession(ctx, flow.Session.Ended) }

// toast shows a short confirmation.
func toast(ctx app.Context, msg string) { ctx.NewActionWithValue(actionToast, msg) }

// leave loads u as a new page. An application's sign-in goes on at paths
// the server answers, and at the application itself; ctx.Navigate would
// route those inside this app instead of asking the server.
func leave(u string) { app.Window().Get("location").Call("assign", u) }
