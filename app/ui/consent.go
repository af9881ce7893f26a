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
			app.P().Class("form-error").ID("consent-error").Attr("role", "alert").Text(p.task.Message()),
		}}
	case p.q == nil:
		return &shell{Title: "Sign in to an application", Content: []app.UI{
			app.P().Class("muted").ID("consent-loading").Text("One moment…"),
		}}
	}
	name, busy := p.q.App.App, p.task.Busy || p.leaving
	return &shell{Content: []app.UI{
		app.H1().Body(app.Span().ID("consent-app").Text(name), app.Text(" wants to sign you in")),
		app.P().ID("consent-user").Text("You are logged in to Latchkey as " + p.q.Username + "."),
		app.If(len(p.q.Lines) == 0, func() app.UI {
			return app.P().ID("consent-nothing").Text("If you allow it, " + name + " receives only an identifier for your account, nothing else.")
		}).Else(func() app.UI {
			return app.Div().Class("card").Body(
				app.P().Text("If you allow it, "+name+" receives:"),
				app.Ul().Class("scopes").ID("consent-scopes").Body(
					app.Range(p.q.Lines).Slice(func(i int) app.UI { return app.Li().Text(p.q.Lines[i]) }),
				),
			)
		}),
		app.Div().Class("actions").Body(
			app.Button().Class("button").ID("consent-allow").Disabled(busy).Text("Allow").
				OnClick(func(ctx app.Context, e app.Event) { p.answer(true) }),
			app.Button().Class("button button-secondary").ID("consent-deny").Disabled(busy).Text("Deny").
				OnClick(func(ctx app.Context, e app.Event) { p.answer(false) }),
		),
		app.If(busy, func() app.UI {
			return app.P().Class("progress").ID("consent-progress").Aria("live", "polite").Text(p.task.Progress)
		}),
		app.If(p.task.Message() != "", func() app.UI {
			return app.P().Class("form-error").ID("consent-error").Attr("role", "alert").Text(p.task.Message())
		}),
	}}
}
