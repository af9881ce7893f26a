package ui

import (
	"github.com/latchkey/latchkey/app/client"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// formErrors holds the messages of one form: per field, and for the whole.
type formErrors struct {
	Fields map[string]string
	Form   string
}

// set files err under the field the server named, or under the form.
func (f *formErrors) set(err error) {
	f.Fields = map[string]string{}
	f.Form = ""
	if e, ok := client.APIError(err); ok && e.Field != "" {
		f.Fields[e.Field] = e.Message
		return
	}
	f.Form = messageOf(err)
}

func (f *formErrors) clear() { f.Fields, f.Form = nil, "" }

// field is a labelled input with its error message. autocomplete matters:
// "username webauthn" is what lets the browser offer passkeys in the field.
type field struct {
	ID, Label, Type, Autocomplete, Hint string
	Value                               *string
	Error                               string
	Required, Disabled, Autofocus       bool
}

func (f field) render() app.UI {
	input := app.Input().
		ID(f.ID).
		Name(f.ID).
		Type(f.Type).
		Value(*f.Value).
		Required(f.Required).
		Disabled(f.Disabled).
		AutoFocus(f.Autofocus).
		Attr("autocomplete", f.Autocomplete).
		Attr("autocapitalize", "off").
		Attr("spellcheck", "false").
		Aria("invalid", f.Error != "").
		OnInput(func(ctx app.Context, e app.Event) { *f.Value = ctx.JSSrc().Get("value").String() })
	if f.Error != "" {
		input = input.Aria("describedby", f.ID+"-error")
	}
	return app.Div().Class("field").Body(
		app.Label().For(f.ID).Text(f.Label),
		input,
		app.If(f.Hint != "" && f.Error == "", func() app.UI { return app.Span().Class("hint").Text(f.Hint) }),
		app.If(f.Error != "", func() app.UI {
			return app.Span().Class("field-error").ID(f.ID+"-error").Attr("role", "alert").Text(f.Error)
		}),
	)
}
