package auth

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared"
)

// Limits of what people type. The ones the UI also shows live in shared.
const (
	usernameMin    = shared.UsernameMinLen
	usernameMax    = shared.UsernameMaxLen
	emailMax       = 254
	displayNameMax = shared.DisplayNameMaxLen
	passkeyNameMax = shared.PasskeyNameMaxLen
)

// ValidateUsername checks a username: 3–32 letters, digits, '.', '_' or
// '-'. It is stored as typed and unique without regard to case.
func ValidateUsername(u string) error {
	n := utf8.RuneCountInString(u)
	if n < usernameMin || n > usernameMax {
		return errUsernameLength()
	}
	for _, r := range u {
		// ASCII only: lookalike letters from other scripts would let one
		// person impersonate another ("аdmin" with a Cyrillic а).
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			return errUsernameChars()
		}
	}
	return nil
}

// normalizeEmail trims an address, puts it in NFC and checks it: its
// syntax, no invisible or control characters (non-ASCII letters are
// welcome), and a domain that is a valid (possibly internationalised) host
// name. The address is kept as typed for display, with only the domain
// lower-cased (the local part is the mailbox owner's business); uniqueness
// and lookups use EmailKey.
func normalizeEmail(e string) (string, error) {
	e = strings.TrimSpace(e)
	if e == "" {
		return "", errEmailMissing()
	}
	e, ok := nfc(e)
	if !ok {
		return "", errEmailMalformed()
	}
	if len(e) > emailMax {
		return "", errEmailTooLong()
	}
	for _, r := range e {
		if !emailRuneAllowed(r) {
			return "", errEmailInvisible()
		}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", errEmailMalformed()
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(domain, "[]") {
		return "", errEmailMalformed()
	}
	if _, err := emailDomains.ToASCII(domain); err != nil {
		return "", errEmailMalformed()
	}
	return local + "@" + strings.ToLower(domain), nil
}

// cleanText trims a free-text field, puts it in NFC and refuses invalid
// UTF-8, overlong values, control characters, and bidi controls and
// invisible characters (see textRuneProblem).
func cleanText(field, label, v string, max int) (string, error) {
	v, ok := nfc(strings.TrimSpace(v))
	if !ok {
		return "", errTextInvalid(field, label)
	}
	if utf8.RuneCountInString(v) > max {
		return "", errTextTooLong(field, label, max)
	}
	for _, r := range v {
		if problem := textRuneProblem(r); problem != "" {
			return "", errTextForbidden(field, label, problem)
		}
	}
	return v, nil
}
