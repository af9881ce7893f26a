package ui

import (
	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// signup creates an account whose only credential is a passkey.
type signup struct {
	app.Compo

	username, email, displayName string
	busy                         bool
	progress                     string
	errs                         formErrors
	unsupported                  bool
	ui                           app.Context // see login.ui
}

func (p *signup) OnNav(ctx app.Context) { ctx.Page().SetTitle("Create your account — Latchkey") }

func (p *signup) OnMount(ctx app.Context) {
	p.ui = ctx
	p.unsupported = !credentials.Supported()
}

func (p *signup) Render() app.UI {
	return &shell{Title: "Create your account", Content: []app.UI{
		app.P().Class("muted").Text("Your account is protected by a passkey: your device asks for your fingerprint, face, PIN or security key. There is no password."),
		app.If(p.unsupported, func() app.UI {
			return app.P().Class("form-error").ID("signup-unsupported").Text("This browser cannot create passkeys. Please use an up-to-date browser to sign up.")
		}),
		app.Form().Class("card").ID("signup-form").NoValidate(true).OnSubmit(p.submit).Body(
			field{ID: "username", Label: "Username", Type: "text", Autocomplete: "username", Value: &p.username,
				Hint: "3–32 letters, digits, '.', '_' or '-'.", Error: p.errs.Fields["username"], Required: true, Disabled: p.busy, Autofocus: true}.render(),
			field{ID: "email", Label: "Email", Type: "email", Autocomplete: "email", Value: &p.email,
				Hint: "For login links on new devices.", Error: p.errs.Fields["email"], Required: true, Disabled: p.busy}.render(),
			field{ID: "display_name", Label: "Display name (optional)", Type: "text", Autocomplete: "name", Value: &p.displayName,
				Error: p.errs.Fields["display_name"], Disabled: p.busy}.render(),
			app.Button().Class("button").ID("signup-submit").Type("submit").Disabled(p.busy || p.unsupported).Text("Create account"),
			app.If(p.busy, func() app.UI {
				return app.P().Class("progress").ID("signup-progress").Aria("live", "polite").Text(p.progress)
			}),
			app.If(p.errs.Form != "", func() app.UI {
				return app.P().Class("form-error").ID("signup-error").Attr("role", "alert").Text(p.errs.Form)
			}),
		),
		app.P().Class("muted").Body(
			app.Text("Already have an account? "),
			app.A().Href(shared.PageLogin).Text("Log in"),
		),
	}}
}

func (p *signup) submit(_ app.Context, e app.Event) {
	e.PreventDefault()
	ctx := p.ui // see login.ui
	if p.busy {
		return
	}
	p.busy, p.progress = true, "Checking your details…"
	p.errs.clear()
	req := shared.SignupBeginRequest{Username: p.username, Email: p.email, DisplayName: p.displayName}
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		fail := func(err error) {
			ctx.Dispatch(func(ctx app.Context) {
				p.busy = false
				p.errs.set(err)
			})
		}
		begin, err := api.SignupBegin(c, req)
		if err != nil {
			fail(err)
			return
		}
		ctx.Dispatch(func(ctx app.Context) { p.progress = "Follow your browser's prompt to create your passkey…" })
		cred, err := credentials.Create(c, begin.Options)
		if err != nil {
			fail(err)
			return
		}
		ctx.Dispatch(func(ctx app.Context) { p.progress = "Creating your account…" })
		done, err := api.SignupFinish(c, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
		if err != nil {
			fail(err)
			return
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			setSession(ctx, done)
			toast(ctx, "Account created")
			ctx.Navigate(shared.PageAccount)
		})
	})
}
