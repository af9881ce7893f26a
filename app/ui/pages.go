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
		el("section", "hero", "",
			text("h1", "", "landing-title", "Sign in without passwords"),
			text("p", "lead", "", "Latchkey logs you in with a passkey: your fingerprint, your face, or a security key. There is no password to remember, reuse or leak."),
			el("div", "actions", "",
				link("button", "cta-signup", shared.PageSignup, "Create an account"),
				link("button button-secondary", "cta-login", shared.PageLogin, "Log in"),
			),
		),
		el("ul", "features", "",
			text("li", "", "", "Phishing-resistant: a passkey only works on the site it was made for."),
			text("li", "", "", "New device? An emailed one-time link logs you in, then you add a passkey there."),
			text("li", "", "", "Install Latchkey as an app from your browser's menu."),
		),
	}}
}

// offline is what the installed app shows when it starts without a network.
type offline struct{ app.Compo }

func (o *offline) Render() app.UI {
	return &shell{Title: "You are offline", Content: []app.UI{
		text("p", "", "offline-message", "Latchkey needs a network connection to sign you in. Reconnect, then try again."),
		link("button", "", shared.PageHome, "Try again"),
	}}
}
