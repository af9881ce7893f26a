package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared"
)

// The rules of the clients file (OIDC_CLIENTS_FILE), checked once at start,
// so a mistake stops the process with one line instead of surfacing as a
// failed sign-in in someone else's app.

// Bounds of an app's settings.
const (
	// appSecretMin: secrets are kept as one SHA-256, a fast hash, so only a
	// long random secret resists guessing against a leaked hash.
	appSecretMin = 32
	appIDMax     = 255
	appNameMax   = 100
)

// AppError is a mistake in the clients file: which client, which field,
// and what is wrong. It never holds a secret.
type AppError struct {
	// Index is the client's position in the file, from 0; ID is "" when
	// the client has none, and then the position names it.
	Index   int
	ID      string
	Field   string
	Problem string
}

func (e *AppError) Error() string {
	who := fmt.Sprintf("clients[%d]", e.Index)
	if e.ID != "" {
		who = fmt.Sprintf("client %q", e.ID)
	}
	if e.Field == "" {
		return who + ": " + e.Problem
	}
	return who + ": " + e.Field + ": " + e.Problem
}

// CheckApps checks the declared apps and returns them normalised: Scopes
// filled with every scope when empty (and put in shared.Scopes' order),
// IDTokenAlg ES256 when empty, and a plain Secret replaced by its
// SecretSHA256, so the secret itself is dropped as soon as it is read. The
// input is not modified. The error names the first bad client and field.
func CheckApps(apps []App) ([]App, error) {
	out := make([]App, len(apps))
	seen := make(map[string]int, len(apps))
	for i, a := range apps {
		fail := func(field, format string, args ...any) error {
			return &AppError{Index: i, ID: a.ID, Field: field, Problem: fmt.Sprintf(format, args...)}
		}
		if err := checkAppID(a.ID); err != "" {
			// An id that cannot be printed safely is not used to name it.
			a.ID = ""
			return nil, fail("id", "%s", err)
		}
		if j, ok := seen[a.ID]; ok {
			return nil, fail("id", "is also the id of clients[%d]; ids must be unique", j)
		}
		seen[a.ID] = i

		if err := checkAppName(a.Name); err != "" {
			return nil, fail("name", "%s", err)
		}

		switch {
		case a.Public && (a.Secret != "" || a.SecretSHA256 != ""):
			field := "secret"
			if a.Secret == "" {
				field = "secret_sha256"
			}
			return nil, fail(field, "a public client has no secret (remove it, or remove \"public\": true if the app can keep a secret)")
		case a.Public:
		case a.Secret != "" && a.SecretSHA256 != "":
			return nil, fail("secret", "give secret or secret_sha256, not both")
		case a.Secret == "" && a.SecretSHA256 == "":
			return nil, fail("secret", "a confidential client needs secret or secret_sha256 (or \"public\": true for an app that cannot keep a secret, such as a mobile or single-page app)")
		case a.Secret != "":
			if n := utf8.RuneCountInString(a.Secret); n < appSecretMin {
				// Never the secret itself, only its length.
				return nil, fail("secret", "must be at least %d random characters (e.g. `openssl rand -base64 32`), since it is kept only as a fast SHA-256 hash; got %d", appSecretMin, n)
			}
			sum := sha256.Sum256([]byte(a.Secret))
			a.SecretSHA256 = hex.EncodeToString(sum[:])
			a.Secret = ""
		default:
			h := strings.ToLower(a.SecretSHA256)
			if _, err := hex.DecodeString(h); err != nil || len(h) != 2*sha256.Size {
				return nil, fail("secret_sha256", "must be 64 hexadecimal digits (`printf %%s \"$SECRET\" | sha256sum`), got %d characters", len(a.SecretSHA256))
			}
			a.SecretSHA256 = h
		}

		if len(a.RedirectURIs) == 0 {
			return nil, fail("redirect_uris", "must list at least one URI")
		}
		for j, u := range a.RedirectURIs {
			if problem := checkAppURI(u, a.Public); problem != "" {
				return nil, fail(fmt.Sprintf("redirect_uris[%d]", j), "%q %s", u, problem)
			}
		}
		for j, u := range a.PostLogoutRedirectURIs {
			if problem := checkAppURI(u, a.Public); problem != "" {
				return nil, fail(fmt.Sprintf("post_logout_redirect_uris[%d]", j), "%q %s", u, problem)
			}
		}
		a.RedirectURIs = slices.Clone(a.RedirectURIs)
		a.PostLogoutRedirectURIs = slices.Clone(a.PostLogoutRedirectURIs)

		if len(a.Scopes) == 0 {
			a.Scopes = slices.Clone(shared.Scopes)
		} else {
			for j, s := range a.Scopes {
				if !slices.Contains(shared.Scopes, s) {
					return nil, fail(fmt.Sprintf("scopes[%d]", j), "%q is not a scope Latchkey grants (%s)", s, strings.Join(shared.Scopes, ", "))
				}
			}
			if !slices.Contains(a.Scopes, shared.ScopeOpenID) {
				return nil, fail("scopes", "must include %q: without it there is no sign-in", shared.ScopeOpenID)
			}
			// One order and no repeats, whatever the file says.
			a.Scopes = slices.DeleteFunc(slices.Clone(shared.Scopes), func(s string) bool { return !slices.Contains(a.Scopes, s) })
		}

		switch a.IDTokenAlg {
		case "":
			a.IDTokenAlg = AlgES256
		case AlgES256, AlgRS256:
		default:
			return nil, fail("id_token_signed_response_alg", "must be %s (the default) or %s, got %q", AlgES256, AlgRS256, a.IDTokenAlg)
		}
		out[i] = a
	}
	return out, nil
}

// checkAppID allows RFC 3986's unreserved characters only: an id travels in
// query strings, form bodies and HTTP Basic credentials, and apps differ in
// whether they encode it there (a ':' would split Basic credentials, a '+'
// become a space), so only characters no encoding changes are safe.
func checkAppID(id string) string {
	switch {
	case id == "":
		return "must not be empty"
	case len(id) > appIDMax:
		return fmt.Sprintf("must be at most %d characters", appIDMax)
	}
	for _, r := range id {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._~", r)) {
			return fmt.Sprintf("%q may hold only letters, digits, '-', '.', '_' and '~'", id)
		}
	}
	return ""
}

// checkAppName: the name is shown on the login and consent pages, so it
// must be visible text.
func checkAppName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "must not be empty (it is shown on the login and consent pages)"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(name) > appNameMax:
		return fmt.Sprintf("must be at most %d characters", appNameMax)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("%q holds an invisible or control character", name)
		}
	}
	return ""
}

// checkAppURI checks a redirect or post-logout URI; "" means it is fine.
// Plain http is allowed only on a loopback host, where nothing crosses a
// network: anywhere else the authorization code and the tokens it buys
// would travel in clear (RFC 6749 §3.1.2.1, RFC 8252 §8.3). A scheme of
// the app's own (com.example.app:/cb, RFC 8252 §7.1) is for native apps,
// which are public clients.
func checkAppURI(raw string, public bool) string {
	if strings.Contains(raw, "*") {
		return "must not contain a wildcard (*): redirect URIs match exactly"
	}
	if strings.Contains(raw, "#") {
		return "must not have a fragment"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a URI"
	}
	if u.Scheme == "" {
		return "must be absolute (https://host/path)"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "has no host"
		}
	case "http":
		if u.Host == "" {
			return "has no host"
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && !strings.EqualFold(h, "localhost") {
			return "must use https (http only for a loopback host: 127.0.0.1, [::1] or localhost)"
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "must use https (or http on a loopback host, or for a native app a private-use scheme such as com.example.app:/cb)"
		}
		if !public {
			return "has a private-use scheme, which only a public (native) client may use"
		}
	}
	return ""
}

// MatchRedirect reports whether uri is one of the app's redirect URIs. It
// compares strings exactly, with no prefix match, no case folding and no
// normalisation. The one exception is RFC 8252 §7.3: a native app listens
// on a port it is given at run time, so for a public app's loopback IP
// literal (http://127.0.0.1/… or http://[::1]/…) any port, or none,
// matches. Never for "localhost", which a hostile resolver or hosts file
// may send elsewhere (RFC 8252 §8.3), and never for a confidential app.
func (a *App) MatchRedirect(uri string) bool {
	if slices.Contains(a.RedirectURIs, uri) {
		return true
	}
	if !a.Public {
		return false
	}
	host, rest, ok := loopbackWithoutPort(uri)
	if !ok {
		return false
	}
	for _, r := range a.RedirectURIs {
		if h, re, ok := loopbackWithoutPort(r); ok && h == host && re == rest {
			return true
		}
	}
	return false
}

// loopbackWithoutPort splits a loopback IP literal URI into its host and
// what follows the port: "http://127.0.0.1:5000/cb?x" gives "127.0.0.1"
// and "/cb?x". It works on the string itself, so two URIs that differ in
// anything but the port (case, escaping, a user name) never match.
func loopbackWithoutPort(uri string) (host, rest string, ok bool) {
	for _, h := range []string{"127.0.0.1", "[::1]"} {
		after, found := strings.CutPrefix(uri, "http://"+h)
		if !found {
			continue
		}
		if port, found := strings.CutPrefix(after, ":"); found {
			end := strings.IndexAny(port, "/?")
			if end < 0 {
				end = len(port)
			}
			if !validPort(port[:end]) {
				return "", "", false
			}
			after = port[end:]
		}
		if after != "" && after[0] != '/' && after[0] != '?' {
			return "", "", false
		}
		return h, after, true
	}
	return "", "", false
}

// validPort: 1 to 65535, digits only (strconv alone would take "+80").
func validPort(p string) bool {
	if p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return false
	}
	n, _ := strconv.Atoi(p)
	return n >= 1 && n <= 65535
}

// MatchPostLogout reports whether uri is one of the app's post-logout
// redirect URIs, compared exactly.
func (a *App) MatchPostLogout(uri string) bool {
	return slices.Contains(a.PostLogoutRedirectURIs, uri)
}

// CheckSecret reports whether secret is the app's, comparing SHA-256
// digests in constant time. A public app has no secret, so nothing
// authenticates as one.
func (a *App) CheckSecret(secret string) bool {
	if a.Public || secret == "" {
		return false
	}
	want, err := hex.DecodeString(a.SecretSHA256)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// Allows reports whether the app may ask for scope. An app CheckApps has
// not normalised (Scopes empty) allows nothing.
func (a *App) Allows(scope string) bool {
	return slices.Contains(a.Scopes, scope)
}
