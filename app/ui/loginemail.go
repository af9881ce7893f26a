package ui

import (
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// loginEmail redeems a login link. The token travels in the fragment
// (#token=…), which browsers never send to servers or in Referer headers.
type loginEmail struct {
	app.Compo

	status loadStatus
	err    string
}

func (p *loginEmail) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Logging you in — Latchkey")
	if app.IsServer {
		return
	}
	token := tokenFromFragment(app.Window().Get("location").Get("hash").String())
	// Drop the token from the address bar and history straight away.
	app.Window().Get("history").Call("replaceState", nil, "", shared.PageLoginEmail)
	if token == "" {
		p.status, p.err = loadFailed, "This page needs the link from your email. Open the link again, or ask for a new one."
		return
	}
	p.status = loading
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		done, err := api.EmailVerify(c, shared.EmailVerifyRequest{Token: token})
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.status, p.err = loadFailed, messageOf(err)
				return
			}
			p.status = loaded
			setSession(ctx, done)
			toast(ctx, "Logged in")
			ctx.Navigate(shared.PageAccount)
		})
	})
}

func (p *loginEmail) Render() app.UI {
	var body app.UI
	switch p.status {
	case loadFailed:
		body = app.Div().Body(
			app.P().Class("form-error").ID("email-login-error").Attr("role", "alert").Text(p.err),
			app.A().Class("button").Href(shared.PageLogin).Text("Back to login"),
		)
	default:
		body = app.P().Class("muted").ID("email-login-progress").Text("Checking your login link…")
	}
	return &shell{Title: "Logging you in", Content: []app.UI{body}}
}

func tokenFromFragment(hash string) string {
	v, err := url.ParseQuery(strings.TrimPrefix(hash, "#"))
	if err != nil {
		return ""
	}
	return v.Get("token")
}
