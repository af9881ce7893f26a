package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// The pages build their markup with the few helpers below, on go-app's one
// generic element (app.Elem), and each helper returns an app.UI ready to go
// into a body. That is for the wasm's size (budget in app/cmd/wasm): go-app
// has a Go type per HTML tag, and every tag used links twenty-odd methods
// of its own; every chained call (.Class(…).ID(…).Text(…)) and every
// conversion of go-app's HTMLxxx to app.UI is code at each call site; and
// every func literal is a Go function, which costs the wasm some 60 bytes
// compressed in the runtime's tables besides its code. A page's Render
// written with these helpers compiles to about half its chained size.
//
// class and id may be "" for none: go-app leaves out empty attributes.

// el is an element with a body.
func el(tag, class, id string, body ...app.UI) app.UI {
	return app.Elem(tag).Class(class).ID(id).Body(body...)
}

// text is an element holding text.
func text(tag, class, id, s string) app.UI {
	return app.Elem(tag).Class(class).ID(id).Text(s)
}

// announced is text that assistive technology reads out when it appears:
// role "alert" for problems, "status" for news.
func announced(tag, class, id, role, s string) app.UI {
	return app.Elem(tag).Class(class).ID(id).Attr("role", role).Text(s)
}

// alert is a form's error message, or nothing when msg is "".
func alert(id, msg string) app.UI {
	if msg == "" {
		return nil
	}
	return announced("p", "form-error", id, "alert", msg)
}

// progress says what a busy page is doing, or is nothing when it is not
// busy.
func progress(id string, busy bool, msg string) app.UI {
	if !busy {
		return nil
	}
	return app.Elem("p").Class("progress").ID(id).Aria("live", "polite").Text(msg)
}

// button is a button that runs onClick.
func button(class, id, label string, disabled bool, onClick app.EventHandler) app.UI {
	return app.Elem("button").Class(class).ID(id).Attr("disabled", disabled).Text(label).On("click", onClick)
}

// submit is a form's submit button.
func submit(class, id, label string, disabled bool) app.UI {
	return app.Elem("button").Class(class).ID(id).Attr("type", "submit").Attr("disabled", disabled).Text(label)
}

// link is a link (class "button" makes it look like one).
func link(class, id, href, label string) app.UI {
	return app.Elem("a").Class(class).ID(id).Attr("href", href).Text(label)
}

// when is ui when cond holds, else nothing. ui is built either way, so it
// must be safe to build (no nil to follow).
func when(cond bool, ui app.UI) app.UI {
	if !cond {
		return nil
	}
	return ui
}
