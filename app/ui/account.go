package ui

import (
	"net/url"

	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// account is the logged-in person's page; anyone else is sent to log in.
type account struct {
	app.Compo

	session session
}

func (p *account) OnMount(ctx app.Context) {
	ctx.ObserveState(stateSession, &p.session).OnChange(func() { p.guard(ctx) })
}

func (p *account) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Your account — Latchkey")
	if app.IsServer {
		return
	}
	ctx.GetState(stateSession, &p.session)
	p.guard(ctx)
}

// guard sends a visitor without a session to the login page, which brings
// them back here afterwards.
func (p *account) guard(ctx app.Context) {
	if p.session.Status == loaded && p.session.User == nil {
		ctx.Navigate(shared.PageLogin + "?next=" + url.QueryEscape(shared.PageAccount))
	}
}

func (p *account) Render() app.UI {
	if !p.session.LoggedIn() {
		return &shell{Title: "Your account", Content: []app.UI{
			app.P().Class("muted").ID("account-loading").Text("Loading your account…"),
		}}
	}
	u := p.session.User
	name := u.DisplayName
	if name == "" {
		name = u.Username
	}
	return &shell{Title: "Your account", Content: []app.UI{
		app.P().Class("lead").ID("account-greeting").Text("Welcome, " + name + "!"),
		app.Div().Class("card").Body(
			app.Dl().Class("details").Body(
				app.Dt().Text("Username"), app.Dd().ID("account-username").Text(u.Username),
				app.Dt().Text("Email"), app.Dd().ID("account-email").Text(u.Email),
			),
		),
		app.Div().Class("actions").Body(
			app.Button().Class("button button-secondary").ID("account-logout").Text("Log out").OnClick(logout),
		),
	}}
}
