package ui

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/app/cancelctx"
	"github.com/latchkey/latchkey/app/credentials"
	"github.com/latchkey/latchkey/app/flow"
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
// (or an emailed link on a device without one). The ceremonies are
// flow.Flows' Identify, Login, Discoverable, Autofill and EmailLink.
//
// With ?authorize=ID the login is part of an application's sign-in
// (flow.Flows.OpenLogin): the page names the application, and every login
// ends with a full page load of the sign-in's resume address instead of
// next.
type login struct {
	app.Compo

	stage    loginStage
	name     string // what was typed in the first stage
	username string // whom the second stage greets
	next     string

	// authorize is the application's sign-in, "" for none (or one that
	// could not be read: appErr says why); appName names the application.
	authorize, appName string
	appErr             error

	// pending is the ceremony the first stage began; Device Login uses it
	// once, later attempts begin afresh.
	pending *shared.CeremonyResponse

	task   task
	notice string

	// stopAutofill withdraws the passkey-autofill request.
	stopAutofill context.CancelFunc
}

func (p *login) OnMount(ctx app.Context) { p.task.mount(ctx) }

func (p *login) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Log in — Latchkey")
	p.next = safeNext(ctx.Page().URL())
	p.authorize = ctx.Page().URL().Query().Get(shared.QueryAuthorize)
	p.appName, p.appErr = "", nil
	if app.IsServer {
		p.stage = stageIdentify
		return
	}
	p.task.mount(ctx)
	p.stage, p.notice, p.task.Err = stageChecking, "", nil
	authorize := p.authorize
	p.task.load(func(c context.Context) func(app.Context) {
		o := flows.OpenLogin(c, authorize)
		return func(ctx app.Context) {
			if o.Resume != "" {
				p.leave(o.Resume)
				return
			}
			if o.App != nil {
				p.appName = o.App.App
			} else {
				p.authorize, p.appErr = "", o.AppErr
			}
			if o.Name != "" {
				p.name = o.Name
			} else if o.Remembered != "" {
				p.stage, p.username = stageHello, o.Remembered
				return
			}
			p.toIdentify()
		}
	})
}

// leave goes on to u with a full page load; until the browser has left,
// the page shows nothing to press.
func (p *login) leave(u string) {
	p.cancelAutofill()
	p.stage = stageChecking
	leave(u)
}

func (p *login) OnDismount() {
	p.cancelAutofill()
	p.task.dismount()
}

func (p *login) Render() app.UI {
	var body []app.UI
	switch p.stage {
	case stageChecking:
		body = []app.UI{text("p", "muted", "", "One moment…")}
	case stageIdentify:
		body = p.renderIdentify()
	case stageHello:
		body = p.renderHello()
	}
	title := "Login"
	if p.appName != "" {
		title = ""
		body = append([]app.UI{el("h1", "", "",
			app.Text("Log in to continue to "), text("span", "", "login-app", p.appName),
		)}, body...)
	}
	if p.appErr != nil {
		body = append([]app.UI{announced("p", "callout callout-warning", "login-app-error", "alert", flow.Message(p.appErr))}, body...)
	}
	return &shell{Title: title, Content: body}
}

func (p *login) renderIdentify() []app.UI {
	busy := p.task.Busy
	return []app.UI{
		text("p", "", "login-intro", "Enter your username or email address to start logging in."),
		app.Elem("form").Class("card").ID("login-form").Attr("novalidate", true).On("submit", p.startLogin).Body(
			// "username webauthn" lets the browser offer passkeys right in
			// this field (conditional mediation).
			field{ID: "username_or_email", Label: "Username or Email", Type: "text", Autocomplete: "username webauthn",
				Value: &p.name, Required: true, Disabled: busy, Autofocus: true}.render(),
			submit("button", "login-start", "Start Login", busy),
			progress("login-progress", busy, p.task.Progress),
			alert("login-error", p.task.Message()),
		),
		text("div", "divider", "", "or"),
		button("button button-secondary", "login-passkey", "Sign in with a passkey", busy, p.passkeyLogin),
		el("p", "muted", "",
			app.Text("New here? "),
			link("", "login-signup", withAuthorize(shared.PageSignup, p.authorize), "Create an account"),
		),
	}
}

func (p *login) renderHello() []app.UI {
	busy := p.task.Busy
	return []app.UI{
		text("h2", "", "login-hello", "Hello, "+p.username),
		text("p", "", "", "Use a passkey made on this device: your fingerprint, your face or your security key."),
		text("p", "muted", "", "On a new device, use an email login link instead, then add a passkey for that device."),
		el("div", "actions", "",
			button("button", "login-device", "Device Login", busy, p.deviceLogin),
			button("button button-secondary", "login-email", "Email me a login link", busy, p.emailLink),
			button("button button-secondary", "login-switch", "Switch User", busy, p.switchUser),
		),
		progress("login-progress", busy, p.task.Progress),
		when(p.notice != "", announced("p", "callout", "login-notice", "status", p.notice)),
		alert("login-error", p.task.Message()),
	}
}

// toIdentify shows the first stage and, where the browser can, offers
// passkeys in the username field.
func (p *login) toIdentify() {
	p.stage, p.username, p.pending, p.task.Busy = stageIdentify, "", nil, false
	p.startAutofill()
}

func (p *login) startLogin(_ app.Context, e app.Event) {
	e.PreventDefault()
	if p.task.Busy {
		return
	}
	if _, err := flow.LoginName(p.name); err != nil {
		p.task.Err = err
		return
	}
	p.cancelAutofill()
	name := p.name
	p.task.start("Looking you up…", func(c context.Context) (func(app.Context), error) {
		begin, err := flows.Identify(c, name)
		return func(ctx app.Context) {
			if err != nil {
				p.startAutofill()
				return
			}
			p.stage, p.username, p.pending = stageHello, begin.Username, begin
		}, err
	})
}

// deviceLogin runs the passkey prompt limited to this user's passkeys.
func (p *login) deviceLogin(_ app.Context, e app.Event) {
	if p.task.Busy {
		return
	}
	p.notice = ""
	pending, username := p.pending, p.username
	p.pending = nil
	p.task.start("Follow your browser's prompt to use your passkey…", func(c context.Context) (func(app.Context), error) {
		return p.loggedIn(flows.Login(c, username, pending))
	})
}

// passkeyLogin asks for any passkey of this site (a discoverable login).
func (p *login) passkeyLogin(_ app.Context, e app.Event) {
	if p.task.Busy {
		return
	}
	p.cancelAutofill()
	p.task.start("Follow your browser's prompt to choose a passkey…", func(c context.Context) (func(app.Context), error) {
		return p.loggedIn(flows.Discoverable(c))
	})
}

// loggedIn is what a login ends with: the next page, or the first stage
// offering autofill again.
func (p *login) loggedIn(done *shared.UserResponse, err error) (func(app.Context), error) {
	if err != nil {
		return func(ctx app.Context) {
			if p.stage == stageIdentify {
				p.startAutofill()
			}
		}, err
	}
	return func(ctx app.Context) {
		setSession(ctx, done)
		if p.authorize != "" {
			p.leave(flow.ResumeURL(p.authorize))
			return
		}
		toast(ctx, "Logged in")
		ctx.Navigate(p.next)
	}, nil
}

// startAutofill begins a discoverable login with conditional mediation
// (flow.Flows.Autofill). It waits, without showing anything, until the
// person picks a passkey in the field; the task shows busy from then on.
func (p *login) startAutofill() {
	p.cancelAutofill()
	if !credentials.Supported() {
		return
	}
	c, cancel := cancelctx.WithCancel(p.task.context())
	p.stopAutofill = cancel
	p.task.ui.Async(func() {
		done, err := flows.Autofill(c, p.task.step)
		if errors.Is(err, flow.ErrNoAutofill) {
			return // withdrawn or dismissed: the form is still there
		}
		then, err := p.loggedIn(done, err)
		p.task.dispatch(func(ctx app.Context) {
			p.task.Busy, p.task.Err = false, err
			then(ctx)
		})
	})
}

func (p *login) cancelAutofill() {
	if p.stopAutofill != nil {
		p.stopAutofill()
		p.stopAutofill = nil
	}
}

// switchUser forgets the remembered user and any pending login.
func (p *login) switchUser(_ app.Context, e app.Event) {
	p.task.start(p.task.Progress, func(c context.Context) (func(app.Context), error) {
		if err := flows.Forget(c); err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			p.name, p.notice = "", ""
			p.toIdentify()
		}, nil
	})
}

// emailLink asks for a login link for the greeted user.
func (p *login) emailLink(_ app.Context, e app.Event) {
	if p.task.Busy {
		return
	}
	p.notice = ""
	username, authorize := p.username, p.authorize
	p.task.start("Sending…", func(c context.Context) (func(app.Context), error) {
		notice, err := flows.EmailLink(c, username, authorize)
		if err != nil {
			return nil, err
		}
		return func(ctx app.Context) { p.notice = notice }, nil
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

// withAuthorize is page carrying an application's sign-in along, when
// there is one.
func withAuthorize(page, authorize string) string {
	if authorize == "" {
		return page
	}
	return page + "?" + shared.QueryAuthorize + "=" + url.QueryEscape(authorize)
}
