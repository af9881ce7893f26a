package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Pages the next issues fill in.

type loginEmail struct{ app.Compo }

func (p *loginEmail) Render() app.UI {
	return &shell{Title: "Logging you in", Content: []app.UI{app.P().Text("Checking your login link…")}}
}
