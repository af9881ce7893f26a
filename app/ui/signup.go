package ui

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// signup creates an account whose only credential is a passkey; the
// ceremony is flow.Flows.Signup. With ?authorize=ID (from the login page of
// an application's sign-in) it names the application and, once the account
// exists, continues that sign-in with a full page load.
type signup struct {
	app.Compo

	username, email, displayName string
	task                         task
	unsupported                  bool

	authorize, appName string
	appErr             error
	leaving            bool
}

func (p *signup) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Create your account — Latchkey")
	p.authorize = ctx.Page().URL().Query().Get(shared.QueryAuthorize)
	p.appName, p.appErr, p.leaving = "", nil, false
	if app.IsServer || p.authorize == "" {
		return
	}
	p.task.mount(ctx)
	authorize := p.authorize
	p.task.load(func(c context.Context) func(app.Context) {
		info, err := flows.Authorization(c, authorize)
		return func(ctx app.Context) {
			if err != nil {
				p.authorize, p.appErr = "", err
				return
			}
			p.appName = info.App
		}
	})
}

func (p *signup) OnMount(ctx app.Context) {
	p.task.mount(ctx)
	p.unsupported = !credentials.Supported()
}

func (p *signup) OnDismount() { p.task.dismount() }

// usernameHint says what a username may hold, with the limits the server
// checks.
var usernameHint = fmt.Sprintf("%d–%d letters, digits, '.', '_' or '-'.", shared.UsernameMinLen, shared.UsernameMaxLen)

func (p *signup) Render() app.UI {
	busy := p.task.Busy || p.leaving
	title := "Create your account"
	if p.appName != "" {
		title = "Create your account to continue to " + p.appName
	}
	var appErr app.UI
	if p.appErr != nil {
		appErr = announced("p", "callout callout-warning", "signup-app-error", "alert", flow.Message(p.appErr))
	}
	return &shell{Title: title, Content: []app.UI{
		appErr,
		text("p", "muted", "", "Your account is protected by a passkey: your device asks for your fingerprint, face, PIN or security key. There is no password."),
		when(p.unsupported, text("p", "form-error", "signup-unsupported", "This browser cannot create passkeys. Please use an up-to-date browser to sign up.")),
		app.Elem("form").Class("card").ID("signup-form").Attr("novalidate", true).On("submit", p.submit).Body(
			field{ID: "username", Label: "Username", Type: "text", Autocomplete: "username", Value: &p.username, MaxLength: shared.UsernameMaxLen,
				Hint: usernameHint, Error: p.task.FieldMessage("username"), Required: true, Disabled: busy, Autofocus: true}.render(),
			field{ID: "email", Label: "Email", Type: "email", Autocomplete: "email", Value: &p.email,
				Hint: "For login links on new devices.", Error: p.task.FieldMessage("email"), Required: true, Disabled: busy}.render(),
			field{ID: "display_name", Label: "Display name (optional)", Type: "text", Autocomplete: "name", Value: &p.displayName, MaxLength: shared.DisplayNameMaxLen,
				Error: p.task.FieldMessage("display_name"), Disabled: busy}.render(),
			submit("button", "signup-submit", "Create account", busy || p.unsupported),
			progress("signup-progress", busy, p.task.Progress),
			alert("signup-error", p.task.FormMessage()),
		),
		el("p", "muted", "",
			app.Text("Already have an account? "),
			link("", "signup-login", withAuthorize(shared.PageLogin, p.authorize), "Log in"),
		),
	}}
}

func (p *signup) submit(_ app.Context, e app.Event) {
	e.PreventDefault()
	req := shared.SignupBeginRequest{Username: p.username, Email: p.email, DisplayName: p.displayName}
	p.task.start("Checking your details…", func(c context.Context) (func(app.Context), error) {
		done, err := flows.Signup(c, req, p.task.step)
		if err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			setSession(ctx, done)
			if p.authorize != "" {
				p.leaving = true
				leave(flow.ResumeURL(p.authorize))
				return
			}
			toast(ctx, "Account created")
			ctx.Navigate(shared.PageAccount)
		}, nil
	})
}
