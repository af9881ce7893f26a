package auth

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
)

// Mails never carry text a person typed, except the username, whose
// character set is restricted: a display name in a genuine Latchkey mail
// would be a phishing channel for whoever chose it (issue 14, item 2).
// mailData has no field that could carry anything else.
type mailData struct {
	Username string
	// Link is a login link (empty in the mails that carry none).
	Link    string
	Minutes int
	// LoginURL is the login page; Days how long an unproven address stays.
	LoginURL string
	Days     int
}

type mailTemplate struct {
	subject string
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

func newMail(subject, text, html string) mailTemplate {
	return mailTemplate{
		subject: subject,
		text:    texttemplate.Must(texttemplate.New("text").Parse(text)),
		html: htmltemplate.Must(htmltemplate.Must(htmltemplate.New("html").Parse(htmlLayout)).
			New("body").Parse(html)),
	}
}

func render(m mailTemplate, to string, data mailData) (Message, error) {
	var text, html bytes.Buffer
	if err := m.text.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("%s: text: %w", m.subject, err)
	}
	if err := m.html.ExecuteTemplate(&html, "html", data); err != nil {
		return Message{}, fmt.Errorf("%s: html: %w", m.subject, err)
	}
	return Message{To: to, Subject: m.subject, Text: text.String(), HTML: html.String()}, nil
}

const htmlLayout = `<!doctype html>
<html lang="en"><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #111827">
{{template "body" .}}
</body></html>
{{define "button"}}<p><a href="{{.Link}}" style="display: inline-block; padding: 12px 20px; background: #1d4ed8; color: #ffffff; border-radius: 8px; text-decoration: none; font-weight: 600">Log in to Latchkey</a></p>
<p>Or paste this link into your browser:<br><a href="{{.Link}}">{{.Link}}</a></p>{{end}}`

var (
	loginMail = newMail("Your Latchkey login link", `Hello {{.Username}},

Use this link to log in to Latchkey:

{{.Link}}

It works once, for {{.Minutes}} minutes. Open it on the device you want to log in on; you can then add a passkey for that device.

If you did not ask for this, ignore this email: nobody can log in without the link.
`, `<p>Hello {{.Username}},</p>
<p>Use this button to log in to Latchkey:</p>
{{template "button" .}}
<p>It works once, for {{.Minutes}} minutes. Open it on the device you want to log in on; you can then add a passkey for that device.</p>
<p style="color: #4b5563">If you did not ask for this, ignore this email: nobody can log in without the link.</p>`)

	welcomeMail = newMail("Welcome to Latchkey: confirm your email address", `Hello {{.Username}},

A Latchkey account with the username {{.Username}} was just created with this email address. Use this link to confirm that the address is yours (it also logs you in):

{{.Link}}

It works once, for {{.Minutes}} minutes; you can ask for a new one on the login page. If nobody confirms the address within {{.Days}} days, it is removed from the account.

Did not create this account? Open the link anyway: Latchkey will ask whether the account is yours, and you can delete it. Or ignore this email.
`, `<p>Hello {{.Username}},</p>
<p>A Latchkey account with the username <strong>{{.Username}}</strong> was just created with this email address. Use this button to confirm that the address is yours (it also logs you in):</p>
{{template "button" .}}
<p>It works once, for {{.Minutes}} minutes; you can ask for a new one on the login page. If nobody confirms the address within {{.Days}} days, it is removed from the account.</p>
<p style="color: #4b5563">Did not create this account? Open the link anyway: Latchkey will ask whether the account is yours, and you can delete it. Or ignore this email.</p>`)

	confirmMail = newMail("Confirm your email address for Latchkey", `Hello {{.Username}},

The Latchkey account {{.Username}} asked to use this email address. Use this link to confirm it (it also logs you in):

{{.Link}}

It works once, for {{.Minutes}} minutes. The address is only added when the link is used.

Did not ask for this? Ignore this email. If you open the link by mistake, Latchkey will ask whether the account is yours, and you can delete it.
`, `<p>Hello {{.Username}},</p>
<p>The Latchkey account <strong>{{.Username}}</strong> asked to use this email address. Use this button to confirm it (it also logs you in):</p>
{{template "button" .}}
<p>It works once, for {{.Minutes}} minutes. The address is only added when the link is used.</p>
<p style="color: #4b5563">Did not ask for this? Ignore this email. If you open the link by mistake, Latchkey will ask whether the account is yours, and you can delete it.</p>`)

	// existsMail goes to an address someone tried to give a new account
	// while another account holds it (account enumeration protection on):
	// the person asking learns nothing, the address's owner learns all.
	existsMail = newMail("You already have a Latchkey account", `Hello,

Someone just tried to use this email address for another Latchkey account, but the account {{.Username}} already has it. The other account did not get the address.

If that was you, you do not need a new account: log in as {{.Username}} at {{.LoginURL}} with your passkey, or ask there for a login link to be sent to this address.

If it was not you, you can ignore this email.
`, `<p>Hello,</p>
<p>Someone just tried to use this email address for another Latchkey account, but the account <strong>{{.Username}}</strong> already has it. The other account did not get the address.</p>
<p>If that was you, you do not need a new account: log in as <strong>{{.Username}}</strong> at <a href="{{.LoginURL}}">{{.LoginURL}}</a> with your passkey, or ask there for a login link to be sent to this address.</p>
<p style="color: #4b5563">If it was not you, you can ignore this email.</p>`)
)
