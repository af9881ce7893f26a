package ui

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// loginStage is where the two-stage login is.
type loginStage int

const (
	stageChecking loginStage = iota // asking whether this device remembers someone
	stageIdentify                   // "Enter your username or email address…"
	stageHello                      // "Hello, {username}"
)

// login is the two-stage login: who are you, then prove it with a passkey
// (or an emailed link on a device without one).
type login struct {
	app.Compo

	stage    loginStage
	name     string // what was typed in the first stage
	username string // whom the second stage greets
	next     string

	// pending is the ceremony the first stage began; Device Login uses it
	// once, later attempts begin afresh.
	pending *shared.CeremonyResponse

	busy     bool
	progress string
	notice   string
	errs     formErrors

	// stopAutofill withdraws the passkey-autofill request.
	stopAutofill context.CancelFunc

	// ui is the component's own context. go-app drops a Dispatch whose
	// context belongs to an element that has since left the page (the
	// Switch User button, once the first stage shows), so work that
	// outlives a click reports back through this one.
	ui app.Context
}

func (p *login) OnMount(ctx app.Context) { p.ui = ctx }

func (p *login) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Log in — Latchkey")
	p.next = safeNext(ctx.Page().URL())
	if app.IsServer {
		p.stage = stageIdentify
		return
	}
	p.stage, p.notice = stageChecking, ""
	p.errs.clear()
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		r, err := api.Remembered(c)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				p.stage, p.username = stageHello, r.Username
				return
			}
			p.toIdentify(ctx)
		})
	})
}

func (p *login) OnDismount() { p.cancelAutofill() }

func (p *login) Render() app.UI {
	var body []app.UI
	switch p.stage {
	case stageChecking:
		body = []app.UI{app.P().Class("muted").Text("One moment…")}
	case stageIdentify:
		body = p.renderIdentify()
	case stageHello:
		body = p.renderHello()
	}
	return &shell{Title: "Login", Content: body}
}

func (p *login) renderIdentify() []app.UI {
	return []app.UI{
		app.P().ID("login-intro").Text("Enter your username or email address to start logging in."),
		app.Form().Class("card").ID("login-form").NoValidate(true).OnSubmit(p.startLogin).Body(
			// "username webauthn" lets the browser offer passkeys right in
			// this field (conditional mediation).
			field{ID: "username_or_email", Label: "Username or Email", Type: "text", Autocomplete: "username webauthn",
				Value: &p.name, Required: true, Disabled: p.busy, Autofocus: true}.render(),
			app.Button().Class("button").ID("login-start").Type("submit").Disabled(p.busy).Text("Start Login"),
			app.If(p.busy, func() app.UI { return app.P().Class("progress").ID("login-progress").Text(p.progress) }),
			app.If(p.errs.Form != "", func() app.UI {
				return app.P().Class("form-error").ID("login-error").Attr("role", "alert").Text(p.errs.Form)
			}),
		),
		app.Div().Class("divider").Text("or"),
		app.Button().Class("button button-secondary").ID("login-passkey").Disabled(p.busy).
			Text("Sign in with a passkey").OnClick(p.passkeyLogin),
		app.P().Class("muted").Body(
			app.Text("New here? "),
			app.A().Href(shared.PageSignup).Text("Create an account"),
		),
	}
}

func (p *login) renderHello() []app.UI {
	return []app.UI{
		app.H2().ID("login-hello").Text("Hello, " + p.username),
		app.P().Text("Use a passkey made on this device: your fingerprint, your face or your security key."),
		app.P().Class("muted").Text("On a new device, use an email login link instead, then add a passkey for that device."),
		app.Div().Class("actions").Body(
			app.Button().Class("button").ID("login-device").Disabled(p.busy).Text("Device Login").OnClick(p.deviceLogin),
			app.Button().Class("button button-secondary").ID("login-email").Disabled(p.busy).Text("Email me a login link").OnClick(p.emailLink),
			app.Button().Class("button button-secondary").ID("login-switch").Disabled(p.busy).Text("Switch User").OnClick(p.switchUser),
		),
		app.If(p.busy, func() app.UI { return app.P().Class("progress").ID("login-progress").Text(p.progress) }),
		app.If(p.notice != "", func() app.UI {
			return app.P().Class("callout").ID("login-notice").Attr("role", "status").Text(p.notice)
		}),
		app.If(p.errs.Form != "", func() app.UI {
			return app.P().Class("form-error").ID("login-error").Attr("role", "alert").Text(p.errs.Form)
		}),
	}
}

// toIdentify shows the first stage and, where the browser can, offers
// passkeys in the username field.
func (p *login) toIdentify(ctx app.Context) {
	p.stage, p.username, p.pending, p.busy = stageIdentify, "", nil, false
	p.startAutofill(ctx)
}

func (p *login) startLogin(_ app.Context, e app.Event) {
	e.PreventDefault()
	ctx := p.ui // see login.ui
	if p.busy {
		return
	}
	name := strings.TrimSpace(p.name)
	if name == "" {
		p.errs.Form = "Enter your username or email address."
		return
	}
	p.cancelAutofill()
	p.busy, p.progress = true, "Looking you up…"
	p.errs.clear()
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		begin, err := api.LoginBegin(c, shared.LoginBeginRequest{UsernameOrEmail: name})
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.errs.Form = messageOf(err)
				p.startAutofill(ctx)
				return
			}
			p.stage, p.username, p.pending = stageHello, begin.Username, begin
		})
	})
}

// deviceLogin runs the passkey prompt limited to this user's passkeys.
func (p *login) deviceLogin(_ app.Context, e app.Event) {
	ctx := p.ui // see login.ui
	if p.busy {
		return
	}
	p.busy, p.progress, p.notice = true, "Follow your browser's prompt to use your passkey…", ""
	p.errs.clear()
	pending, username := p.pending, p.username
	p.pending = nil
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		begin := pending
		if begin == nil {
			var err error
			if begin, err = api.LoginBegin(c, shared.LoginBeginRequest{UsernameOrEmail: username}); err != nil {
				p.failed(ctx, err)
				return
			}
		}
		p.finish(ctx, c, begin, false)
	})
}

// passkeyLogin asks for any passkey of this site (a discoverable login).
func (p *login) passkeyLogin(_ app.Context, e app.Event) {
	ctx := p.ui // see login.ui
	if p.busy {
		return
	}
	p.cancelAutofill()
	p.busy, p.progress = true, "Follow your browser's prompt to choose a passkey…"
	p.errs.clear()
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		begin, err := api.LoginBegin(c, shared.LoginBeginRequest{})
		if err != nil {
			p.failed(ctx, err)
			return
		}
		p.finish(ctx, c, begin, false)
	})
}

// startAutofill begins a discoverable login with conditional mediation: the
// browser lists passkeys under the username field and the request waits,
// without any prompt, until the person picks one.
func (p *login) startAutofill(ctx app.Context) {
	p.cancelAutofill()
	if !credentials.Supported() {
		return
	}
	c, cancel := context.WithCancel(context.Background())
	p.stopAutofill = cancel
	ctx.Async(func() {
		if !credentials.ConditionalMediationAvailable(c) {
			return
		}
		begin, err := api.LoginBegin(c, shared.LoginBeginRequest{})
		if err != nil {
			return
		}
		p.finish(ctx, c, begin, true)
	})
}

func (p *login) cancelAutofill() {
	if p.stopAutofill != nil {
		p.stopAutofill()
		p.stopAutofill = nil
	}
}

// finish runs the browser's prompt for begin and completes the login. It
// runs off the UI goroutine.
func (p *login) finish(ctx app.Context, c context.Context, begin *shared.CeremonyResponse, conditional bool) {
	cred, err := credentials.Get(c, begin.Options, conditional)
	if err != nil {
		if conditional {
			return // withdrawn or dismissed: the form is still there
		}
		p.failed(ctx, err)
		return
	}
	if conditional {
		ctx.Dispatch(func(ctx app.Context) { p.busy, p.progress = true, "Logging you in…" })
	}
	fc, cancel := requestContext()
	defer cancel()
	done, err := api.LoginFinish(fc, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err != nil {
		p.failed(ctx, err)
		return
	}
	ctx.Dispatch(func(ctx app.Context) {
		p.busy = false
		setSession(ctx, done)
		toast(ctx, "Logged in")
		ctx.Navigate(p.next)
	})
}

func (p *login) failed(ctx app.Context, err error) {
	ctx.Dispatch(func(ctx app.Context) {
		p.busy = false
		switch {
		case errors.Is(err, credentials.ErrCancelled):
			p.errs.Form = "The passkey prompt was cancelled or no passkey was chosen. You can try again, or use an email login link."
		case client.Code(err) == shared.CodeCredentialRejected:
			p.errs.Form = "That passkey could not be verified. Please try again."
		default:
			p.errs.Form = messageOf(err)
		}
		if p.stage == stageIdentify {
			p.startAutofill(ctx)
		}
	})
}

// switchUser forgets the remembered user and any pending login.
func (p *login) switchUser(_ app.Context, e app.Event) {
	ctx := p.ui // see login.ui
	p.busy = true
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		err := api.Forget(c)
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.errs.Form = messageOf(err)
				return
			}
			p.name = ""
			p.errs.clear()
			p.notice = ""
			p.toIdentify(ctx)
		})
	})
}

// emailLink asks for a login link for the greeted user.
func (p *login) emailLink(_ app.Context, e app.Event) {
	ctx := p.ui // see login.ui
	if p.busy {
		return
	}
	p.busy, p.progress, p.notice = true, "Sending…", ""
	p.errs.clear()
	username := p.username
	ctx.Async(func() {
		c, cancel := requestContext()
		defer cancel()
		err := api.EmailLogin(c, shared.EmailLoginRequest{UsernameOrEmail: username})
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.errs.Form = messageOf(err)
				return
			}
			p.notice = "Check your email: we sent a login link that works once, for 15 minutes. Open it on this device."
		})
	})
}

// safeNext is where to go after logging in: the next parameter when it is
// a path on this site, else /account. Anything with a scheme or host, or a
// path a browser would read as another host ("//x", "/\x"), is ignored.
func safeNext(u *url.URL) string {
	next := u.Query().Get("next")
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return shared.PageAccount
	}
	if v, err := url.Parse(next); err != nil || v.Scheme != "" || v.Host != "" || v.User != nil {
		return shared.PageAccount
	}
	return next
}
