package ui

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// account is the logged-in person's page: who they are, their passkeys and
// their sessions. Anyone else is sent to log in. The actions are
// flow.Account's.
type account struct {
	app.Compo

	session flow.Session
	task    task

	keysStatus flow.Status
	keys       []shared.Passkey
	sessions   []shared.Session
	apps       []shared.App

	newEmail string // the address typed into the "add an address" form

	renaming   string // id of the passkey being renamed
	renameTo   string
	confirming string // id of the passkey awaiting delete confirmation
}

func (p *account) OnMount(ctx app.Context) {
	p.task.mount(ctx)
	ctx.ObserveState(stateSession, &p.session).OnChange(func() { p.sessionChanged(ctx) })
}

func (p *account) OnDismount() { p.task.dismount() }

func (p *account) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Your account — Latchkey")
	if app.IsServer {
		return
	}
	p.task.mount(ctx)
	ctx.GetState(stateSession, &p.session)
	p.sessionChanged(ctx)
}

// sessionChanged sends a visitor without a session to the login page
// (which brings them back) and loads the lists once someone is logged in.
func (p *account) sessionChanged(ctx app.Context) {
	switch {
	case p.session.Status == flow.Loaded && p.session.User == nil:
		ctx.Navigate(shared.PageLogin + "?next=" + url.QueryEscape(shared.PageAccount))
	case p.session.LoggedIn() && p.keysStatus == flow.NotLoaded:
		p.reload()
	}
}

// actions are the account flows for whoever is logged in now, reporting
// progress and any re-authentication to this page.
func (p *account) actions() flow.Account {
	a := flow.Account{Flows: flows, Method: p.session.Method, Step: p.task.step, Reauthed: p.reauthed}
	if p.session.User != nil {
		a.Username = p.session.User.Username
	}
	return a
}

// reauthed records the session a re-authentication started. (A method, not
// a func literal in actions: each action inlines actions, and with it a copy
// of every func literal inside.)
func (p *account) reauthed(r *shared.UserResponse) {
	p.task.dispatch(func(ctx app.Context) { setSession(ctx, r) })
}

// reload fetches the passkeys and sessions.
func (p *account) reload() {
	p.keysStatus = flow.Loading
	a := p.actions()
	p.task.load(func(c context.Context) func(app.Context) {
		lists, err := a.Load(c)
		return func(ctx app.Context) {
			if err != nil {
				p.keysStatus, p.task.Err = flow.LoadFailed, err
				if client.Code(err) == shared.CodeUnauthenticated {
					clearSession(ctx)
				}
				return
			}
			p.keysStatus, p.keys, p.sessions, p.apps = flow.Loaded, lists.Passkeys, lists.Sessions, lists.Apps
		}
	})
}

func (p *account) Render() app.UI {
	if !p.session.LoggedIn() {
		return &shell{Title: "Your account", Content: []app.UI{
			text("p", "muted", "account-loading", "Loading your account…"),
		}}
	}
	u := p.session.User
	name := u.DisplayName
	if name == "" {
		name = u.Username
	}
	busy := p.task.Busy
	unconfirmed := u.Email != "" && !u.EmailVerified
	var addEmail app.UI
	if u.Email == "" {
		addEmail = app.Elem("form").Class("callout").ID("email-form").On("submit", func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			p.requestEmail(p.newEmail)
		}).Body(
			text("p", "", "", "Your account has no email address. Add one so you can log in with an emailed link when you have no passkey at hand. We send a link to it; the address is added when you use the link."),
			field{ID: "new-email", Label: "Email address", Type: "email", Autocomplete: "email", Value: &p.newEmail, Required: true}.render(),
			submit("button", "email-add", "Send the link", busy),
		)
	}
	return &shell{Title: "Your account", Content: []app.UI{
		text("p", "lead", "account-greeting", "Welcome, "+name+"!"),
		when(p.session.Method == shared.MethodEmail, el("div", "callout", "add-passkey-callout",
			text("p", "", "", "You logged in with an email link. Add a passkey for this device, and next time your fingerprint, face or security key is all it takes."),
			button("button", "add-passkey-device", "Add a passkey for this device", busy, p.addPasskey),
		)),
		el("div", "card", "",
			el("dl", "details", "",
				text("dt", "", "", "Username"), text("dd", "", "account-username", u.Username),
				text("dt", "", "", "Email"), el("dd", "", "account-email",
					app.Text(u.Email),
					when(unconfirmed, text("span", "badge", "email-unconfirmed", "Not confirmed")),
				),
			),
			when(unconfirmed, el("div", "", "",
				text("p", "muted", "", "Use the link we emailed you to confirm this address. An address nobody confirms is removed from the account after 7 days."),
				button("button button-small button-secondary", "email-resend", "Send a new link", busy,
					func(ctx app.Context, e app.Event) { p.requestEmail(u.Email) }),
			)),
		),
		addEmail,
		progress("account-progress", busy, p.task.Progress),
		alert("account-error", p.task.Message()),
		text("h2", "", "", "Passkeys"),
		p.renderPasskeys(),
		el("div", "actions", "",
			button("button button-secondary", "add-passkey", "Add a passkey", busy, p.addPasskey),
		),
		text("h2", "", "", "Apps"),
		p.renderApps(),
		text("h2", "", "", "Signed-in sessions"),
		p.renderSessions(),
		el("div", "actions", "",
			button("button button-secondary", "account-logout", "Log out", false, logout),
		),
	}}
}

func (p *account) renderPasskeys() app.UI {
	if p.keysStatus != flow.Loaded {
		return text("p", "muted", "", "Loading your passkeys…")
	}
	items := make([]app.UI, len(p.keys))
	for i, k := range p.keys {
		items[i] = p.renderPasskey(k)
	}
	return el("ul", "list", "passkeys", items...)
}

func (p *account) renderPasskey(k shared.Passkey) app.UI {
	busy := p.task.Busy
	where := "This device only"
	if k.Synced {
		where = "Synced"
	}
	used := "Never used"
	if k.LastUsedAt != nil {
		used = "Last used " + formatDate(*k.LastUsedAt)
	}
	meta := "Created " + formatDate(k.CreatedAt) + " · " + used
	if k.AuthenticatorName != "" && k.AuthenticatorName != k.Name {
		meta = k.AuthenticatorName + " · " + meta
	}
	var actions app.UI
	switch {
	case p.renaming == k.ID:
		actions = app.Elem("form").Class("actions").ID("rename-form").On("submit", p.saveRename).Body(
			app.ElemSelfClosing("input").ID("rename-input").Attr("type", "text").Attr("value", p.renameTo).
				Attr("maxlength", shared.PasskeyNameMaxLen).Aria("label", "New name").
				On("input", func(ctx app.Context, e app.Event) { p.renameTo = ctx.JSSrc().Get("value").String() }),
			submit("button button-small", "rename-save", "Save", false),
			app.Elem("button").Class("button button-small button-secondary").Attr("type", "button").Text("Cancel").
				On("click", func(ctx app.Context, e app.Event) { p.renaming = "" }),
		)
	case p.confirming == k.ID:
		actions = el("div", "actions", "",
			text("span", "", "", "Delete this passkey? It will no longer log you in."),
			button("button button-small button-danger", "delete-confirm", "Delete", busy,
				func(ctx app.Context, e app.Event) { p.deletePasskey(k.ID) }),
			button("button button-small button-secondary", "", "Cancel", false,
				func(ctx app.Context, e app.Event) { p.confirming = "" }),
		)
	default:
		actions = el("div", "actions", "",
			button("button button-small button-secondary rename", "", "Rename", busy,
				func(ctx app.Context, e app.Event) {
					p.renaming, p.renameTo, p.confirming, p.task.Err = k.ID, k.Name, "", nil
				}),
			button("button button-small button-danger delete", "", "Delete", busy,
				func(ctx app.Context, e app.Event) { p.confirming, p.renaming, p.task.Err = k.ID, "", nil }),
		)
	}
	icon := k.AuthenticatorIcon
	if icon == "" {
		icon = "passkey"
	}
	var provisional, provisionalNote app.UI
	if k.ProvisionalUntil != nil {
		provisional = text("span", "badge badge-warn provisional", "", "Provisional until "+formatDate(*k.ProvisionalUntil))
		provisionalNote = text("div", "meta", "", "Added after an email login. Until then it logs you in, but can't delete passkeys or end other sessions.")
	}
	return app.Elem("li").Class("passkey").DataSet("id", k.ID).Body(
		app.ElemSelfClosing("img").Class("passkey-icon").Attr("src", "/web/icons/"+icon+".svg").Attr("alt", ""),
		el("div", "grow", "",
			text("strong", "passkey-name", "", k.Name),
			text("span", "badge", "", where),
			provisional,
			text("div", "meta", "", meta),
			provisionalNote,
		),
		actions,
	)
}

// renderApps lists the applications the person allowed to sign them in,
// with what each receives in the consent page's words.
func (p *account) renderApps() app.UI {
	switch {
	case p.keysStatus != flow.Loaded:
		return text("p", "muted", "", "Loading your apps…")
	case len(p.apps) == 0:
		return text("p", "muted", "apps-none", "No apps sign you in with Latchkey yet.")
	}
	items := make([]app.UI, len(p.apps))
	for i, a := range p.apps {
		receives := "Only an identifier for your account"
		if lines := flow.ScopeLines(a.Scopes); len(lines) > 0 {
			receives = strings.Join(lines, " · ")
		}
		items[i] = app.Elem("li").Class("app").DataSet("id", a.ID).Body(
			el("div", "grow", "",
				text("strong", "app-name", "", a.Name),
				text("div", "meta", "", "Allowed since "+formatDate(a.GrantedAt)),
				text("div", "meta", "", receives),
			),
			app.Elem("button").Class("button button-small button-danger").ID("app-remove-"+a.ID).Attr("disabled", p.task.Busy).
				Aria("label", "Remove access for "+a.Name).Text("Remove access").
				On("click", func(ctx app.Context, e app.Event) { p.removeApp(a) }),
		)
	}
	return el("div", "", "",
		text("p", "muted", "", "These apps may sign you in with Latchkey. Removing access forgets your permission and ends the app's access; it asks again the next time you use it."),
		el("ul", "list", "apps", items...),
	)
}

func (p *account) renderSessions() app.UI {
	others := false
	items := make([]app.UI, len(p.sessions))
	for i, s := range p.sessions {
		how := "passkey"
		if s.Method == shared.MethodEmail {
			how = "email link"
		}
		var end app.UI
		if !s.Current {
			others = true
			end = button("button button-small button-secondary end-session", "", "End", false,
				func(ctx app.Context, e app.Event) { p.endSessions([]string{s.ID}) })
		}
		items[i] = el("li", "session", "",
			el("div", "", "",
				text("strong", "", "", s.Device),
				when(s.Current, text("span", "badge", "", "This device")),
				text("div", "meta", "", "Signed in with a "+how+" on "+formatDate(s.CreatedAt)+" · last active "+formatDate(s.LastSeenAt)+" · "+s.IP),
			),
			end,
		)
	}
	return el("div", "", "",
		el("ul", "list", "sessions", items...),
		el("div", "actions", "",
			when(others, button("button button-secondary", "end-other-sessions", "Log out other sessions", p.task.Busy, p.endOtherSessions)),
			button("button button-danger", "logout-everywhere", "Log out everywhere", p.task.Busy, p.logoutEverywhere),
		),
	)
}

// endOtherSessions ends every session but this one, as the list stands
// when the button is pressed.
func (p *account) endOtherSessions(ctx app.Context, e app.Event) {
	var ids []string
	for _, s := range p.sessions {
		if !s.Current {
			ids = append(ids, s.ID)
		}
	}
	p.endSessions(ids)
}

func (p *account) addPasskey(ctx app.Context, e app.Event) {
	a := p.actions()
	p.task.start("Follow your browser's prompt to create a passkey…", func(c context.Context) (func(app.Context), error) {
		added, err := a.AddPasskey(c)
		if err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			// The new passkey makes this a passkey device: drop the callout.
			changeSession(ctx, func(s flow.Session) flow.Session { return s.WithMethod(shared.MethodPasskey) })
			toast(ctx, "Passkey added: "+added.Name)
			p.reload()
		}, nil
	})
}

// requestEmail sends a link that confirms (or adds) an address.
func (p *account) requestEmail(addr string) {
	a := p.actions()
	p.task.start("Sending…", func(c context.Context) (func(app.Context), error) {
		if err := a.RequestEmail(c, addr); err != nil {
			return nil, err
		}
		return func(ctx app.Context) { toast(ctx, "Check your email for the link") }, nil
	})
}

func (p *account) saveRename(ctx app.Context, e app.Event) {
	e.PreventDefault()
	a, id, name := p.actions(), p.renaming, p.renameTo
	p.task.start("Saving…", func(c context.Context) (func(app.Context), error) {
		if err := a.RenamePasskey(c, id, name); err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			p.renaming = ""
			toast(ctx, "Passkey renamed")
			p.reload()
		}, nil
	})
}

func (p *account) deletePasskey(id string) {
	a := p.actions()
	p.task.start("Deleting…", func(c context.Context) (func(app.Context), error) {
		err := a.DeletePasskey(c, id)
		return func(ctx app.Context) {
			p.confirming = ""
			if err == nil {
				toast(ctx, "Passkey deleted")
				p.reload()
			}
		}, err
	})
}

func (p *account) removeApp(target shared.App) {
	a := p.actions()
	p.task.start("Removing access…", func(c context.Context) (func(app.Context), error) {
		if err := a.RemoveApp(c, target.ID); err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			toast(ctx, "Access removed: "+target.Name)
			p.reload()
		}, nil
	})
}

func (p *account) endSessions(ids []string) {
	a := p.actions()
	p.task.start("Ending sessions…", func(c context.Context) (func(app.Context), error) {
		if err := a.EndSessions(c, ids); err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			toast(ctx, "Other sessions ended")
			p.reload()
		}, nil
	})
}

// logoutEverywhere ends every session of the account, this one included:
// what to do when a device is lost or someone else may have got in.
func (p *account) logoutEverywhere(ctx app.Context, e app.Event) {
	a := p.actions()
	p.task.start("Logging out everywhere…", func(c context.Context) (func(app.Context), error) {
		if err := a.LogoutEverywhere(c); err != nil {
			return nil, err
		}
		return func(ctx app.Context) {
			clearSession(ctx)
			toast(ctx, "Logged out everywhere")
			ctx.Navigate(shared.PageLogin)
		}, nil
	})
}

func formatDate(t time.Time) string { return t.Format("2 Jan 2006, 15:04 MST") }
