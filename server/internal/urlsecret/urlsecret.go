// Package urlsecret keeps the passwords of configured URLs (DATABASE_URL,
// REDIS_URL, SMTP_URL) out of error messages, which end up in logs and on
// the one line a failed start prints. Every adapter that parses such a URL
// uses it, so there is one way of doing it to get right.
package urlsecret

import (
	"errors"
	"net/url"
	"strings"
)

// Mask replaces a secret in messages and URLs.
const Mask = "xxx"

// ParseError is url.Parse's error without the URL it quotes, password and
// all: only the reason.
func ParseError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Secrets lists what may be a secret in raw: the userinfo's password, the
// query parameters named, and whatever looks like a userinfo where url.Parse
// saw none (a mistyped scheme or a missing slash turns it into a path or an
// opaque part that errors would repeat).
func Secrets(raw string, params ...string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return rawUserinfo(raw)
	}
	var s []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p)
		}
	} else {
		s = rawUserinfo(raw)
	}
	for _, name := range params {
		s = append(s, u.Query()[name]...)
	}
	return s
}

// Scrub replaces every secret in msg.
func Scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, Mask)
		}
	}
	return msg
}

// Redacted returns raw with its password and the query parameters named
// masked, for error messages.
func Redacted(raw string, params ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	q := u.Query()
	changed := false
	for _, name := range params {
		if q.Has(name) {
			q.Set(name, Mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	if u.User == nil && strings.Contains(raw, "@") {
		// An @ where url.Parse saw no userinfo (a mistyped scheme, one
		// slash too few): it may be one all the same, and String
		// re-encodes it, so no redaction can be sure to catch it.
		return "(URL withheld)"
	}
	return u.String()
}

// rawUserinfo finds what would be the userinfo of raw, however malformed:
// whatever comes before an @ in the authority, counted from the first // or,
// for one slash too few, from the first colon; and its password.
func rawUserinfo(raw string) []string {
	var s []string
	if _, rest, ok := strings.Cut(raw, "//"); ok {
		s = append(s, userinfoIn(rest)...)
	}
	if _, rest, ok := strings.Cut(raw, ":"); ok {
		s = append(s, userinfoIn(strings.TrimLeft(rest, ":/"))...)
	}
	return s
}

// userinfoIn returns the userinfo before the last @ of an authority that
// ends at the first / ? or #, and the password after its first colon.
func userinfoIn(rest string) []string {
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return nil
	}
	info := rest[:i]
	s := []string{info}
	if _, pw, ok := strings.Cut(info, ":"); ok {
		s = append(s, pw)
	}
	// And as an error may quote them, percent-decoded.
	for _, v := range s {
		if d, err := url.PathUnescape(v); err == nil && d != v {
			s = append(s, d)
		}
	}
	return s
}
