package ui

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// consent asks whether an application may sign the person in, naming what
// it receives (flow.Flows.OpenConsent and Consent). It needs a session:
// anyone else is sent to log in, and the login comes back through the
// sign-in. The answer, either way, goes on with a full page load to where
// the server says (the application, with a code or with access_denied).
type consent struct {
	app.Compo

	task      task
	authorize string
	status    flow.Status
	q         *flow.ConsentQuestion
	leaving   bool
}

func (p *consent) OnMount(ctx app.Context) { p.task.mount(ctx) }

func (p *consent) OnDismount() { p.task.dismount() }

func (p *consent) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Allow access — Latchkey")
	p.authorize = ctx.Page().URL().Query().Get(shared.QueryAuthorize)
	p.q, p.leaving, p.task.Err = nil, false, nil
	if app.IsServer {
		return
	}
	p.task.mount(ctx)
	p.status = flow.Loading
	authorize := p.authorize
	p.task.load(func(c context.Context) func(app.Context) {
		q, err := flows.OpenConsent(c, authorize)
		return func(ctx app.Context) {
			switch {
			case errors.Is(err, flow.ErrLoginNeeded):
				p.toLogin(ctx)
			case err != nil:
				p.status, p.task.Err = flow.LoadFailed, err
			default:
				p.status, p.q = flow.Loaded, q
			}
		}
	})
}

// toLogin sends someone without a session to log in for this sign-in.
func (p *consent) toLogin(ctx app.Context) {
	ctx.Navigate(withAuthorize(shared.PageLogin, p.authorize))
}

func (p *consent) answer(allow bool) {
	if p.leaving || p.q == nil {
		return
	}
	authorize := p.authorize
	progress := "Returning to " + p.q.App.App + "…"
	p.task.start(progress, func(c context.Context) (func(app.Context), error) {
		next, err := flows.Consent(c, authorize, allow)
		switch {
		case errors.Is(err, flow.ErrLoginNeeded):
			return p.toLogin, nil
		case err != nil:
			return nil, err
		}
		return func(ctx app.Context) {
			p.leaving = true
			leave(next)
		}, nil
	})
}

func (p *consent) Render() app.UI {
	switch {
	case p.status == flow.LoadFailed:
		return &shell{Title: "Sign in to an application", Content: []app.UI{
			announced("p", "form-error", "consent-error", "alert", p.task.Message()),
		}}
	case p.q == nil:
		return &shell{Title: "Sign in to an application", Content: []app.UI{
			text("p", "muted", "consent-loading", "One moment…"),
		}}
	}
	name, busy := p.q.App.App, p.task.Busy || p.leaving
	receives := text("p", "", "consent-nothing", "If you allow it, "+name+" receives only an identifier for your account, nothing else.")
	if len(p.q.Lines) > 0 {
		lines := make([]app.UI, len(p.q.Lines))
		for i, l := range p.q.Lines {
			lines[i] = text("li", "", "", l)
		}
		receives = el("div", "card", "",
			text("p", "", "", "If you allow it, "+name+" receives:"),
			el("ul", "scopes", "consent-scopes", lines...),
		)
	}
	return &shell{Content: []app.UI{
		el("h1", "", "", text("span", "", "consent-app", name), app.Text(" wants to sign you in")),
		text("p", "", "consent-user", "You are logged in to Latchkey as "+p.q.Username+"."),
		receives,
		el("div", "actions", "",
			button("button", "consent-allow", "Allow", busy, func(ctx app.Context, e app.Event) { p.answer(true) }),
			button("button button-secondary", "consent-deny", "Deny", busy, func(ctx app.Context, e app.Event) { p.answer(false) }),
		),
		progress("consent-progress", busy, p.task.Progress),
		alert("consent-error", p.task.Message()),
	}}
}
