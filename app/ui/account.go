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
	a := flow.Account{Flows: flows, Method: p.session.Method, Step: p.task.step,
		Reauthed: func(r *shared.UserResponse) { p.task.dispatch(func(ctx app.Context) { setSession(ctx, r) }) }}
	if p.session.User != nil {
		a.Username = p.session.User.Username
	}
	return a
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
			app.P().Class("muted").ID("account-loading").Text("Loading your account…"),
		}}
	}
	u := p.session.User
	name := u.DisplayName
	if name == "" {
		name = u.Username
	}
	return &shell{Title: "Your account", Content: []app.UI{
		app.P().Class("lead").ID("account-greeting").Text("Welcome, " + name + "!"),
		app.If(p.session.Method == shared.MethodEmail, func() app.UI {
			return app.Div().Class("callout").ID("add-passkey-callout").Body(
				app.P().Text("You logged in with an email link. Add a passkey for this device, and next time your fingerprint, face or security key is all it takes."),
				app.Button().Class("button").ID("add-passkey-device").Disabled(p.task.Busy).Text("Add a passkey for this device").OnClick(p.addPasskey),
			)
		}),
		app.Div().Class("card").Body(
			app.Dl().Class("details").Body(
				app.Dt().Text("Username"), app.Dd().ID("account-username").Text(u.Username),
				app.Dt().Text("Email"), app.Dd().ID("account-email").Body(
					app.Text(u.Email),
					app.If(u.Email != "" && !u.EmailVerified, func() app.UI {
						return app.Span().Class("badge").ID("email-unconfirmed").Text("Not confirmed")
					}),
				),
			),
			app.If(u.Email != "" && !u.EmailVerified, func() app.UI {
				return app.Div().Body(
					app.P().Class("muted").Text("Use the link we emailed you to confirm this address. An address nobody confirms is removed from the account after 7 days."),
					app.Button().Class("button button-small button-secondary").ID("email-resend").Disabled(p.task.Busy).Text("Send a new link").
						OnClick(func(ctx app.Context, e app.Event) { p.requestEmail(u.Email) }),
				)
			}),
		),
		app.If(u.Email == "", func() app.UI {
			return app.Form().Class("callout").ID("email-form").OnSubmit(func(ctx app.Context, e app.Event) {
				e.PreventDefault()
				p.requestEmail(p.newEmail)
			}).Body(
				app.P().Text("Your account has no email address. Add one so you can log in with an emailed link when you have no passkey at hand. We send a link to it; the address is added when you use the link."),
				field{ID: "new-email", Label: "Email address", Type: "email", Autocomplete: "email", Value: &p.newEmail, Required: true}.render(),
				app.Button().Class("button").ID("email-add").Type("submit").Disabled(p.task.Busy).Text("Send the link"),
			)
		}),
		app.If(p.task.Busy, func() app.UI {
			return app.P().Class("progress").ID("account-progress").Aria("live", "polite").Text(p.task.Progress)
		}),
		app.If(p.task.Message() != "", func() app.UI {
			return app.P().Class("form-error").ID("account-error").Attr("role", "alert").Text(p.task.Message())
		}),
		app.H2().Text("Passkeys"),
		p.renderPasskeys(),
		app.Div().Class("actions").Body(
			app.Button().Class("button button-secondary").ID("add-passkey").Disabled(p.task.Busy).Text("Add a passkey").OnClick(p.addPasskey),
		),
		app.H2().Text("Apps"),
		p.renderApps(),
		app.H2().Text("Signed-in sessions"),
		p.renderSessions(),
		app.Div().Class("actions").Body(
			app.Button().Class("button button-secondary").ID("account-logout").Text("Log out").OnClick(logout),
		),
	}}
}

func (p *account) renderPasskeys() app.UI {
	if p.keysStatus != flow.Loaded {
		return app.P().Class("muted").Text("Loading your passkeys…")
	}
	return app.Ul().Class("list").ID("passkeys").Body(
		app.Range(p.keys).Slice(func(i int) app.UI {
			k := p.keys[i]
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
				actions = app.Form().Class("actions").ID("rename-form").OnSubmit(p.saveRename).Body(
					app.Input().ID("rename-input").Type("text").Value(p.renameTo).Attr("maxlength", shared.PasskeyNameMaxLen).Aria("label", "New name").
						OnInput(func(ctx app.Context, e app.Event) { p.renameTo = ctx.JSSrc().Get("value").String() }),
					app.Button().Class("button button-small").ID("rename-save").Type("submit").Text("Save"),
					app.Button().Class("button button-small button-secondary").Type("button").Text("Cancel").
						OnClick(func(ctx app.Context, e app.Event) { p.renaming = "" }),
				)
			case p.confirming == k.ID:
				actions = app.Div().Class("actions").Body(
					app.Span().Text("Delete this passkey? It will no longer log you in."),
					app.Button().Class("button button-small button-danger").ID("delete-confirm").Disabled(p.task.Busy).Text("Delete").
						OnClick(func(ctx app.Context, e app.Event) { p.deletePasskey(k.ID) }),
					app.Button().Class("button button-small button-secondary").Text("Cancel").
						OnClick(func(ctx app.Context, e app.Event) { p.confirming = "" }),
				)
			default:
				actions = app.Div().Class("actions").Body(
					app.Button().Class("button button-small button-secondary").Class("rename").Disabled(p.task.Busy).Text("Rename").
						OnClick(func(ctx app.Context, e app.Event) {
							p.renaming, p.renameTo, p.confirming, p.task.Err = k.ID, k.Name, "", nil
						}),
					app.Button().Class("button button-small button-danger").Class("delete").Disabled(p.task.Busy).Text("Delete").
						OnClick(func(ctx app.Context, e app.Event) { p.confirming, p.renaming, p.task.Err = k.ID, "", nil }),
				)
			}
			icon := k.AuthenticatorIcon
			if icon == "" {
				icon = "passkey"
			}
			return app.Li().Class("passkey").DataSet("id", k.ID).Body(
				app.Img().Class("passkey-icon").Src("/web/icons/"+icon+".svg").Alt(""),
				app.Div().Class("grow").Body(
					app.Strong().Class("passkey-name").Text(k.Name),
					app.Span().Class("badge").Text(where),
					app.If(k.ProvisionalUntil != nil, func() app.UI {
						return app.Span().Class("badge badge-warn provisional").Text("Provisional until " + formatDate(*k.ProvisionalUntil))
					}),
					app.Div().Class("meta").Text(meta),
					app.If(k.ProvisionalUntil != nil, func() app.UI {
						return app.Div().Class("meta").Text("Added after an email login. Until then it logs you in, but can't delete passkeys or end other sessions.")
					}),
				),
				actions,
			)
		}),
	)
}

// renderApps lists the applications the person allowed to sign them in,
// with what each receives in the consent page's words.
func (p *account) renderApps() app.UI {
	switch {
	case p.keysStatus != flow.Loaded:
		return app.P().Class("muted").Text("Loading your apps…")
	case len(p.apps) == 0:
		return app.P().Class("muted").ID("apps-none").Text("No apps sign you in with Latchkey yet.")
	}
	return app.Div().Body(
		app.P().Class("muted").Text("These apps may sign you in with Latchkey. Removing access forgets your permission and ends the app's access; it asks again the next time you use it."),
		app.Ul().Class("list").ID("apps").Body(
			app.Range(p.apps).Slice(func(i int) app.UI {
				a := p.apps[i]
				receives := "Only an identifier for your account"
				if lines := flow.ScopeLines(a.Scopes); len(lines) > 0 {
					receives = strings.Join(lines, " · ")
				}
				return app.Li().Class("app").DataSet("id", a.ID).Body(
					app.Div().Class("grow").Body(
						app.Strong().Class("app-name").Text(a.Name),
						app.Div().Class("meta").Text("Allowed since "+formatDate(a.GrantedAt)),
						app.Div().Class("meta").Text(receives),
					),
					app.Button().Class("button button-small button-danger").ID("app-remove-"+a.ID).Disabled(p.task.Busy).
						Aria("label", "Remove access for "+a.Name).Text("Remove access").
						OnClick(func(ctx app.Context, e app.Event) { p.removeApp(a) }),
				)
			}),
		),
	)
}

func (p *account) renderSessions() app.UI {
	others := 0
	for _, s := range p.sessions {
		if !s.Current {
			others++
		}
	}
	return app.Div().Body(
		app.Ul().Class("list").ID("sessions").Body(
			app.Range(p.sessions).Slice(func(i int) app.UI {
				s := p.sessions[i]
				label := s.Device
				how := "passkey"
				if s.Method == shared.MethodEmail {
					how = "email link"
				}
				return app.Li().Class("session").Body(
					app.Div().Body(
						app.Strong().Text(label),
						app.If(s.Current, func() app.UI { return app.Span().Class("badge").Text("This device") }),
						app.Div().Class("meta").Text("Signed in with a "+how+" on "+formatDate(s.CreatedAt)+" · last active "+formatDate(s.LastSeenAt)+" · "+s.IP),
					),
					app.If(!s.Current, func() app.UI {
						return app.Button().Class("button button-small button-secondary").Class("end-session").Text("End").
							OnClick(func(ctx app.Context, e app.Event) { p.endSessions([]string{s.ID}) })
					}),
				)
			}),
		),
		app.Div().Class("actions").Body(
			app.If(others > 0, func() app.UI {
				return app.Button().Class("button button-secondary").ID("end-other-sessions").Disabled(p.task.Busy).Text("Log out other sessions").
					OnClick(func(ctx app.Context, e app.Event) {
						var ids []string
						for _, s := range p.sessions {
							if !s.Current {
								ids = append(ids, s.ID)
							}
						}
						p.endSessions(ids)
					})
			}),
			app.Button().Class("button button-danger").ID("logout-everywhere").Disabled(p.task.Busy).Text("Log out everywhere").
				OnClick(p.logoutEverywhere),
		),
	)
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
