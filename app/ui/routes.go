package ui

import (
	"github.com/latchkey/latchkey/shared"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Register routes every page of shared.Pages; the server (prerendering) and
// the wasm entry point both call it, so the two always agree.
func Register() {
	registerActions()
	pages := map[string]func() app.Composer{
		shared.PageHome:       func() app.Composer { return &home{} },
		shared.PageSignup:     func() app.Composer { return &signup{} },
		shared.PageLogin:      func() app.Composer { return &login{} },
		shared.PageLoginEmail: func() app.Composer { return &loginEmail{} },
		shared.PageAccount:    func() app.Composer { return &account{} },
		shared.PageOffline:    func() app.Composer { return &offline{} },
		shared.PageConsent:    func() app.Composer { return &consent{} },
		shared.PageLogout:     func() app.Composer { return &logoutPage{} },
	}
	for _, p := range shared.Pages {
		newPage, ok := pages[p]
		if !ok {
			panic("ui: no component for page " + p)
		}
		app.Route(p, newPage)
	}
}
