package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// field is a labelled input with its error message. autocomplete matters:
// "username webauthn" is what lets the browser offer passkeys in the field.
type field struct {
	ID, Label, Type, Autocomplete, Hint string
	Value                               *string
	Error                               string
	// MaxLength is the most characters the server accepts, 0 for no limit.
	MaxLength                     int
	Required, Disabled, Autofocus bool
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
	if f.MaxLength > 0 {
		input = input.Attr("maxlength", f.MaxLength)
	}
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
