package ui

import (
	"github.com/latchkey/latchkey/app/cancelctx"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// shell is the frame around every page: navigation, the page's content, a
// toast, and banners for "offline" and "new version".
type shell struct {
	app.Compo

	Title   string
	Content []app.UI

	session   flow.Session
	toast     string
	offline   bool
	updatable bool
	unlisten  func()
}

func (s *shell) OnMount(ctx app.Context) {
	ctx.ObserveState(stateSession, &s.session)
	ctx.ObserveState(stateToast, &s.toast)
	ctx.ObserveState(stateOffline, &s.offline)
	s.updatable = ctx.AppUpdateAvailable()
	if !app.Window().Get("navigator").Get("onLine").Bool() {
		ctx.SetState(stateOffline, true)
	}
	s.unlisten = listenConnectivity(ctx, func(ctx app.Context, online bool) {
		ctx.SetState(stateOffline, !online)
		if online {
			ctx.NewAction(actionRefreshSession)
		}
	})
	// go-app never looks for a new version by itself; asking on every
	// page change (a revalidated app-worker.js) lets an open app notice a
	// deploy, and OnAppUpdate then offers the reload.
	app.TryUpdate()
	var cur flow.Session
	ctx.GetState(stateSession, &cur)
	if cur.Status == flow.NotLoaded {
		ctx.NewAction(actionRefreshSession)
	}
}

func (s *shell) OnDismount() {
	if s.unlisten != nil {
		s.unlisten()
	}
}

// OnAppUpdate fires when the service worker has installed a newer version;
// the person chooses when to reload so a half-filled form is not lost.
func (s *shell) OnAppUpdate(ctx app.Context) { s.updatable = ctx.AppUpdateAvailable() }

func (s *shell) Render() app.UI {
	return el("div", "shell", "",
		el("header", "topbar", "",
			app.Elem("a").Class("brand").Attr("href", shared.PageHome).Body(
				app.ElemSelfClosing("img").Attr("src", "/web/icon.svg").Attr("alt", "").Class("brand-icon"),
				app.Text("Latchkey"),
			),
			el("nav", "nav", "", s.navLinks()...),
		),
		when(s.updatable, el("div", "banner banner-update", "update-banner",
			text("span", "", "", "A new version of Latchkey is ready."),
			button("button button-small", "", "Reload", false, func(ctx app.Context, e app.Event) { app.Window().Get("location").Call("reload") }),
		)),
		when(s.offline, el("div", "banner banner-offline", "offline-banner",
			app.Text("You are offline: Latchkey cannot be reached. Signing in needs a connection; try again when you are back online."),
			button("button button-small", "", "Try again", false, func(ctx app.Context, e app.Event) { ctx.NewAction(actionRefreshSession) }),
		)),
		el("main", "content", "",
			when(s.Title != "", text("h1", "", "", s.Title)),
			el("div", "", "", s.Content...),
		),
		when(s.toast != "", app.Elem("div").Class("toast").ID("toast").Aria("live", "polite").Text(s.toast)),
	)
}

func (s *shell) navLinks() []app.UI {
	switch {
	case s.session.LoggedIn():
		return []app.UI{
			link("", "nav-account", shared.PageAccount, "Account"),
			button("link", "nav-logout", "Log out", false, logout),
		}
	case s.session.Status == flow.Loaded || s.session.Status == flow.LoadFailed:
		return []app.UI{
			link("", "nav-login", shared.PageLogin, "Log in"),
			link("", "nav-signup", shared.PageSignup, "Sign up"),
		}
	}
	// Until the session is known (and while prerendering) show nothing
	// rather than links that may be wrong a moment later.
	return nil
}

// logout ends the session on the server, then everywhere on the page.
func logout(ctx app.Context, e app.Event) {
	ctx.Async(func() {
		c, cancel := cancelctx.WithTimeout(ctx, flow.RequestTimeout)
		defer cancel()
		err := flows.Logout(c)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				toast(ctx, "Could not log out: "+flow.Message(err))
				return
			}
			clearSession(ctx)
			toast(ctx, "Logged out")
			ctx.Navigate(shared.PageLogin)
		})
	})
}

// listenConnectivity calls f with the new state whenever the browser goes
// online or offline, and returns a function that stops listening.
func listenConnectivity(ctx app.Context, f func(ctx app.Context, online bool)) func() {
	win := app.Window()
	changed := app.FuncOf(func(this app.Value, args []app.Value) any {
		online := args[0].Get("type").String() == "online"
		ctx.Dispatch(func(ctx app.Context) { f(ctx, online) })
		return nil
	})
	win.Call("addEventListener", "online", changed)
	win.Call("addEventListener", "offline", changed)
	return func() {
		win.Call("removeEventListener", "online", changed)
		win.Call("removeEventListener", "offline", changed)
		changed.Release()
	}
}
