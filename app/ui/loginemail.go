package ui

import (
	"context"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// loginEmail is the page of a login link. The token travels in the
// fragment (#token=…), which browsers never send to servers or in Referer
// headers. Opening the page changes nothing: it names the account and logs
// in only when the person clicks (a link someone else sent must not log
// this browser in to their account unnoticed, issue 14 item 7). When the
// link proves the account's address for the first time, the page then asks
// whether the account is the person's (item 2).
//
// A link asked for during an application's sign-in continues it
// (flow.Redeemed.Continue) with a full page load once the person is logged
// in; when the page first asks whether the account is theirs, *It's mine*
// continues it, and deleting the account abandons it.
type loginEmail struct {
	app.Compo

	task  task
	step  linkStep
	token string
	// username is the link's account; current, whoever this browser is
	// logged in as now ("" for nobody).
	username, current string

	keys []shared.Passkey
	// cont is where an application's sign-in continues, "" for /account.
	cont string
}

type linkStep int

const (
	linkChecking linkStep = iota
	linkAsk
	linkFailed
	linkOwner
	linkDisowned
	linkLeaving // on the way back to an application's sign-in
)

// errNoToken is the page opened without the link's token.
var errNoToken = &flow.Problem{Msg: "This page needs the link from your email. Open the link again, or ask for a new one."}

func (p *loginEmail) OnMount(ctx app.Context) { p.task.mount(ctx) }

func (p *loginEmail) OnDismount() { p.task.dismount() }

func (p *loginEmail) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Log in with an email link — Latchkey")
	if app.IsServer {
		return
	}
	p.task.mount(ctx)
	token := tokenFromFragment(app.Window().Get("location").Get("hash").String())
	// Drop the token from the address bar and history straight away.
	app.Window().Get("history").Call("replaceState", nil, "", shared.PageLoginEmail)
	if token == "" {
		if p.token == "" {
			p.step, p.task.Err = linkFailed, errNoToken
		}
		return
	}
	p.token, p.step = token, linkChecking
	p.task.load(func(c context.Context) func(app.Context) {
		named, err := flows.ReadLink(c, token)
		return func(ctx app.Context) {
			if err != nil {
				p.step, p.task.Err = linkFailed, err
				return
			}
			p.step, p.username, p.current = linkAsk, named.Username, named.Current
		}
	})
}

// logIn uses the link, on the person's click only.
func (p *loginEmail) logIn(ctx app.Context, e app.Event) {
	token := p.token
	p.task.start("", func(c context.Context) (func(app.Context), error) {
		done, err := flows.RedeemLink(c, token)
		if err != nil {
			return func(ctx app.Context) { p.step = linkFailed }, err
		}
		return func(ctx app.Context) {
			p.token, p.cont = "", done.Continue
			setSession(ctx, done.Session)
			if done.Session.ConfirmOwner {
				p.keys, p.step = done.Passkeys, linkOwner
				return
			}
			p.loggedIn(ctx)
		}, nil
	})
}

func (p *loginEmail) mine(ctx app.Context, e app.Event) { p.loggedIn(ctx) }

// loggedIn goes on: to the application's sign-in the link was asked for
// in, or to /account.
func (p *loginEmail) loggedIn(ctx app.Context) {
	if p.cont != "" {
		p.step = linkLeaving
		leave(p.cont)
		return
	}
	toast(ctx, "Logged in")
	ctx.Navigate(shared.PageAccount)
}

func (p *loginEmail) notMine(ctx app.Context, e app.Event) {
	p.task.start("", func(c context.Context) (func(app.Context), error) {
		if err := flows.Disown(c); err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			clearSession(ctx)
			p.step = linkDisowned
		}, nil
	})
}

func (p *loginEmail) Render() app.UI {
	title := "Log in with an email link"
	var body []app.UI
	busy := p.task.Busy
	switch p.step {
	case linkFailed:
		body = []app.UI{
			announced("p", "form-error", "email-login-error", "alert", p.task.Message()),
			link("button", "", shared.PageLogin, "Back to login"),
		}
	case linkAsk:
		title = "Log in as " + p.username + "?"
		var warning app.UI
		if p.current != "" && !strings.EqualFold(p.current, p.username) {
			warning = app.Elem("div").Class("callout callout-warning").ID("email-login-warning").Attr("role", "alert").Body(
				text("p", "", "", "You are logged in as "+p.current+" in this browser. If you continue, "+p.current+" is logged out here and you are logged in as "+p.username+". Anything you do next, like adding a passkey, happens in "+p.username+"'s account."),
			)
		}
		body = []app.UI{
			text("p", "", "email-login-question", "This link logs this browser in to the Latchkey account "+p.username+". Continue only if you asked for the link."),
			warning,
			el("div", "actions", "",
				button("button", "email-login-confirm", "Log in as "+p.username, busy, p.logIn),
				link("button button-secondary", "email-login-cancel", shared.PageHome, "Cancel"),
			),
			alert("", p.task.Message()),
		}
	case linkOwner:
		title = "Is this your account?"
		keys := make([]app.UI, len(p.keys))
		for i, k := range p.keys {
			keys[i] = el("li", "", "", el("div", "grow", "",
				text("strong", "", "", k.Name),
				text("div", "meta", "", "Made "+formatDate(k.CreatedAt)),
			))
		}
		body = []app.UI{
			text("p", "", "owner-question", "You have confirmed your email address. It belongs to the Latchkey account "+p.username+". Did you create this account?"),
			el("div", "card", "",
				el("dl", "details", "",
					text("dt", "", "", "Username"), text("dd", "", "owner-username", p.username),
				),
				text("h2", "", "", "Its passkeys"),
				el("ul", "list", "owner-passkeys", keys...),
			),
			text("p", "", "", "If you did not make this account or these passkeys, someone else used your address. Deleting the account removes it with its passkeys and logs everyone out of it; you can then sign up with your address."),
			el("div", "actions", "",
				button("button", "owner-mine", "It's mine", busy, p.mine),
				button("button button-danger", "owner-not-mine", "This account isn't mine: delete it", busy, p.notMine),
			),
			alert("owner-error", p.task.Message()),
		}
	case linkDisowned:
		title = "Account deleted"
		body = []app.UI{
			announced("p", "", "disowned", "status", "The account "+p.username+" and its passkeys are deleted, and nobody is logged in to it any more. Your email address is free: you can sign up with it now."),
			link("button", "disowned-signup", shared.PageSignup, "Sign up"),
		}
	case linkLeaving:
		title = "Logged in"
		body = []app.UI{announced("p", "muted", "email-login-continue", "status", "Taking you back to the application…")}
	default:
		body = []app.UI{text("p", "muted", "email-login-progress", "Checking your login link…")}
	}
	return &shell{Title: title, Content: body}
}

func tokenFromFragment(hash string) string {
	v, err := url.ParseQuery(strings.TrimPrefix(hash, "#"))
	if err != nil {
		return ""
	}
	return v.Get("token")
}
