package ui

import (
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// home is the landing page.
type home struct{ app.Compo }

func (h *home) OnNav(ctx app.Context) { ctx.Page().SetTitle("Latchkey — sign in without passwords") }

func (h *home) Render() app.UI {
	return &shell{Content: []app.UI{
		app.Section().Class("hero").Body(
			app.H1().ID("landing-title").Text("Sign in without passwords"),
			app.P().Class("lead").Text("Latchkey logs you in with a passkey: your fingerprint, your face, or a security key. There is no password to remember, reuse or leak."),
			app.Div().Class("actions").Body(
				app.A().Class("button").ID("cta-signup").Href(shared.PageSignup).Text("Create an account"),
				app.A().Class("button button-secondary").ID("cta-login").Href(shared.PageLogin).Text("Log in"),
			),
		),
		app.Ul().Class("features").Body(
			app.Li().Text("Phishing-resistant: a passkey only works on the site it was made for."),
			app.Li().Text("New device? An emailed one-time link logs you in, then you add a passkey there."),
			app.Li().Text("Install Latchkey as an app from your browser's menu."),
		),
	}}
}

// offline is what the installed app shows when it starts without a network.
type offline struct{ app.Compo }

func (o *offline) Render() app.UI {
	return &shell{Title: "You are offline", Content: []app.UI{
		app.P().ID("offline-message").Text("Latchkey needs a network connection to sign you in. Reconnect, then try again."),
		app.A().Class("button").Href(shared.PageHome).Text("Try again"),
	}}
}
