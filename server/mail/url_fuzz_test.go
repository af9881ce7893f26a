package mail

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSMTPURL feeds SMTP_URL values to NewSMTP: no panic, and no error
// holding the password. The URL is SCHEME://user:PASSWORD@REST, so the
// password is known even when REST makes it unparseable.
func FuzzSMTPURL(f *testing.F) {
	for _, seed := range [][3]string{
		{"smtp", "s3cr3t-pw", "mail.example.com:587"},
		{"smtps", "s3cr3t-pw", "mail.example.com"},
		{"smtp", "s3cr3t-pw", "localhost:25?tls=none&timeout=30s"},
		{"smtp", "s3cr3t-pw", "h:99999"},
		{"smtp", "s3cr3t-pw", "h?tls=maybe"},
		{"smtps", "s3cr3t-pw", "h?tls=none"},
		{"smtp", "p%40ss%3Aword", "[::1:25"},
		{"smtp", "s3cr3t-pw", "h/path#frag"},
		{"smtp", "s3cr3t-pw", "h?timeout=-1s&timeout=2s&x=%zz"},
		{"http", "s3cr3t-pw", "h"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	const from = "Latchkey <login@example.com>"
	f.Fuzz(func(t *testing.T, scheme, password, rest string) {
		raw := scheme + "://user:" + password + "@" + rest
		_, err := NewSMTP(raw, from)
		if err == nil {
			return
		}
		// Text that holds the password for another reason is no leak.
		other := "user:" + scheme + rest
		if _, err2 := NewSMTP(scheme+"://user:pw@"+rest, from); err2 != nil {
			other += err2.Error()
		}
		for _, secret := range secretForms(password) {
			if len(secret) >= 4 && !strings.Contains(other, secret) && strings.Contains(err.Error(), secret) {
				t.Fatalf("NewSMTP(%q): the error %q contains the password %q", raw, err, secret)
			}
		}
	})
}

// secretForms is the password as typed and percent-decoded, unless it cannot
// be one (/ ? and # end the authority).
func secretForms(p string) []string {
	if strings.ContainsAny(p, "/?#") {
		return nil
	}
	forms := []string{p}
	if d, err := url.PathUnescape(p); err == nil && d != p {
		forms = append(forms, d)
	}
	return forms
}
