package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Text people type is compared the way people read it. An address that
// looks the same as another must not make a second account: composed and
// decomposed accents, letters in another case and invisible characters all
// used to, and the databases disagreed on which (SQLite's lower() folds only
// ASCII). These rules are the domain's, computed in Go, so every database
// and every lookup agrees; the store's migration uses the same EmailKey.

// emailDomains checks and converts internationalised domain names: UTS #46
// non-transitional processing (what browsers and registries use), host name
// letters only, and DNS lengths. Its ASCII form is the one form in which
// domains are compared.
var emailDomains = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
)

// EmailKey returns the form in which an email address is unique and looked
// up: two addresses with the same key belong to one account. The local part
// is compared by canonical caseless matching (NFD, Unicode full case
// folding, then NFC), so "Éve", "éve" and "e\u0301ve" are one; the domain is
// compared in its IDNA ASCII form, lower-cased, so "bücher.de",
// "BÜCHER.de" and "xn--bcher-kva.de" are one.
//
// It accepts any string, also ones normalizeEmail refuses, because it must
// key addresses stored before the current rules (the migration) and what
// people type at login. Control and format characters never distinguish two
// keys: they are invisible, so an address with a zero-width space keys as
// the one without, which is the account it would impersonate. An empty
// address has the empty key, which stores keep as NULL (no address).
//
// Changing this function changes every stored key: it needs a migration
// that recomputes them (and reports new collisions) like the one that
// introduced the keys.
func EmailKey(email string) string {
	e := strings.ToValidUTF8(strings.TrimSpace(email), "\uFFFD")
	e = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, e)
	if e == "" {
		return ""
	}
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return caseless(e)
	}
	local, domain := e[:at], e[at+1:]
	if ascii, err := emailDomains.ToASCII(domain); err == nil {
		domain = strings.ToLower(ascii)
	} else {
		// Only addresses stored before domains were checked, or typed at
		// login, get here; they still compare without regard to case.
		domain = caseless(domain)
	}
	return caseless(local) + "@" + domain
}

// caseless is Unicode's canonical caseless match form (§3.13, D145),
// returned in NFC.
func caseless(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFD.String(s)))
}

// emailRuneAllowed reports whether r may appear in an email address: any
// assigned character that is visible. Control (Cc), format (Cf: bidi
// controls, zero-width spaces and joiners), private-use, separator (other
// than the ASCII space, which the syntax check refuses with a better
// message) and unassigned code points are not; an unassigned one could gain
// a case mapping in a later Unicode version and change its address's key.
func emailRuneAllowed(r rune) bool {
	if r == ' ' {
		return true
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Z) {
		return false
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

// Characters allowed in free text although they are format characters.
const (
	zwnj = '\u200C' // zero-width non-joiner: Persian and Indic spelling
	zwj  = '\u200D' // zero-width joiner: emoji sequences such as 👩‍💻
)

// textRuneProblem says what is wrong with r in a display or passkey name,
// or "" when it is allowed. Control characters break lines and logs; bidi
// controls (U+202A–U+202E, U+2066–U+2069) and marks (U+200E, U+200F,
// U+061C) make a name display reversed or out of order ("‮moc.elgoog"), and
// zero-width spaces (U+200B, U+2060, U+FEFF) make two names that look the
// same differ. Other format characters are refused for the same reasons,
// except the joiners and the tag characters (U+E0020–U+E007F) that emoji
// need, such as the Scottish flag.
func textRuneProblem(r rune) string {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return "control characters"
	case r == zwnj, r == zwj, r >= 0xE0020 && r <= 0xE007F:
		return ""
	case unicode.Is(unicode.Cf, r):
		return "direction controls or invisible characters"
	}
	return ""
}

// nfc returns valid UTF-8 in Normalization Form C, or false for invalid
// UTF-8.
func nfc(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	return norm.NFC.String(s), true
}
