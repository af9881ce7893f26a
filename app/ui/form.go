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
	value := f.Value
	input := app.ElemSelfClosing("input").
		ID(f.ID).
		Attr("name", f.ID).
		Attr("type", f.Type).
		Attr("value", *f.Value).
		Attr("required", f.Required).
		Attr("disabled", f.Disabled).
		Attr("autofocus", f.Autofocus).
		Attr("autocomplete", f.Autocomplete).
		Attr("autocapitalize", "off").
		Attr("spellcheck", "false").
		Aria("invalid", f.Error != "").
		On("input", func(ctx app.Context, e app.Event) { *value = ctx.JSSrc().Get("value").String() })
	if f.MaxLength > 0 {
		input = input.Attr("maxlength", f.MaxLength)
	}
	var note app.UI
	switch {
	case f.Error != "":
		input = input.Aria("describedby", f.ID+"-error")
		note = announced("span", "field-error", f.ID+"-error", "alert", f.Error)
	case f.Hint != "":
		note = text("span", "hint", "", f.Hint)
	}
	return el("div", "field", "",
		app.Elem("label").Attr("for", f.ID).Text(f.Label),
		input,
		note,
	)
}
