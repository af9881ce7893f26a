package ui

import (
	"context"
	"net/url"

	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// logoutPage asks "Log out of Latchkey?" (for an application's logout
// request, ?request=ID, naming the application that asked) and says when
// the person is logged out. Confirming an application's request goes on,
// with a full page load, to where the server finishes it (flow.Flows'
// OpenLogout and ConfirmLogout).
type logoutPage struct {
	app.Compo

	task    task
	request string // as the address gave it
	status  flow.Status
	q       flow.LogoutQuestion
	leaving bool
}

func (p *logoutPage) OnMount(ctx app.Context) { p.task.mount(ctx) }

func (p *logoutPage) OnDismount() { p.task.dismount() }

func (p *logoutPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Log out — Latchkey")
	p.q, p.leaving, p.task.Err = flow.LogoutQuestion{}, false, nil
	if app.IsServer {
		return
	}
	p.task.mount(ctx)
	p.status = flow.Loading
	p.request = ctx.Page().URL().Query().Get(shared.QueryLogout)
	request := p.request
	p.task.load(func(c context.Context) func(app.Context) {
		q, err := flows.OpenLogout(c, request)
		return func(ctx app.Context) {
			if err != nil {
				p.status, p.task.Err = flow.LoadFailed, err
				return
			}
			p.status, p.q = flow.Loaded, *q
		}
	})
}

func (p *logoutPage) confirm(ctx app.Context, e app.Event) {
	if p.leaving {
		return
	}
	request := p.q.Request
	p.task.start("Logging out…", func(c context.Context) (func(app.Context), error) {
		next, err := flows.ConfirmLogout(c, request)
		if err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			clearSession(ctx)
			if next != "" {
				p.leaving = true
				leave(next)
				return
			}
			p.q.LoggedIn = false
		}, nil
	})
}

// finish goes on to where the server finishes the application's request.
func (p *logoutPage) finish(ctx app.Context, e app.Event) {
	p.leaving = true
	leave(flow.LogoutDoneURL(p.q.Request))
}

func (p *logoutPage) stay(ctx app.Context, e app.Event) { ctx.Navigate(shared.PageAccount) }

func (p *logoutPage) Render() app.UI {
	switch {
	case p.status == flow.LoadFailed:
		return &shell{Title: "Log out", Content: []app.UI{
			announced("p", "form-error", "logout-error", "alert", p.task.Message()),
			link("button", "", shared.PageLogout+"?"+shared.QueryLogout+"="+url.QueryEscape(p.request), "Try again"),
		}}
	case p.status != flow.Loaded:
		return &shell{Title: "Log out", Content: []app.UI{
			text("p", "muted", "logout-loading", "One moment…"),
		}}
	case !p.q.LoggedIn:
		// Logged out already (in another tab, say) while an application
		// waits on its request: the server finishes it at once.
		back := "Back to " + p.q.App
		if p.q.App == "" {
			back = "Back to the application"
		}
		return &shell{Title: "Logged out", Content: []app.UI{
			announced("p", "", "logout-done", "status", "You are logged out of Latchkey."),
			el("div", "actions", "",
				when(p.q.Request != "", button("button", "logout-return", back, p.leaving, p.finish)),
				link("button button-secondary", "logout-login", shared.PageLogin, "Log in"),
			),
		}}
	}
	busy := p.task.Busy || p.leaving
	return &shell{Title: "Log out of Latchkey?", Content: []app.UI{
		when(p.q.App != "", text("p", "", "logout-app", p.q.App+" asked to log you out.")),
		text("p", "muted", "", "Logging out ends your Latchkey session in this browser. Apps you signed in to may keep their own."),
		el("div", "actions", "",
			button("button", "logout-confirm", "Log out", busy, p.confirm),
			button("button button-secondary", "logout-stay", "Stay logged in", busy, p.stay),
		),
		progress("logout-progress", busy, p.task.Progress),
		alert("logout-error", p.task.Message()),
	}}
}
