package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Pages the next issues fill in.

type login struct{ app.Compo }

func (p *login) Render() app.UI {
	return &shell{Title: "Login", Content: []app.UI{app.P().Text("Enter your username or email address to start logging in.")}}
}

type loginEmail struct{ app.Compo }

func (p *loginEmail) Render() app.UI {
	return &shell{Title: "Logging you in", Content: []app.UI{app.P().Text("Checking your login link…")}}
}
