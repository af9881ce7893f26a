package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

const appSecret = "0123456789abcdefghijklmnopqrstuvwxyz" // 36 characters

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// confidentialApp and publicApp are valid; each rejection case breaks one
// thing in a copy.
func confidentialApp() auth.App {
	return auth.App{
		ID:                     "grafana",
		Name:                   "Grafana",
		Secret:                 appSecret,
		RedirectURIs:           []string{"https://grafana.example.com/login/generic_oauth", "http://localhost:3000/login/generic_oauth"},
		PostLogoutRedirectURIs: []string{"https://grafana.example.com/"},
	}
}

func publicApp() auth.App {
	return auth.App{
		ID:           "cli",
		Name:         "Command line",
		Public:       true,
		RedirectURIs: []string{"http://127.0.0.1/callback", "http://[::1]:8000/callback", "com.example.cli:/callback"},
		Scopes:       []string{"email", "openid", "openid"},
		IDTokenAlg:   "RS256",
	}
}

func TestCheckAppsNormalises(t *testing.T) {
	in := []auth.App{confidentialApp(), publicApp()}
	out, err := auth.CheckApps(in)
	if err != nil {
		t.Fatal(err)
	}
	c, p := out[0], out[1]
	if c.Secret != "" || c.SecretSHA256 != sha256Hex(appSecret) {
		t.Errorf("the plain secret must give way to its hash: secret %q, sha256 %q", c.Secret, c.SecretSHA256)
	}
	if !slices.Equal(c.Scopes, shared.Scopes) || c.IDTokenAlg != auth.AlgES256 {
		t.Errorf("defaults: scopes %v, alg %q", c.Scopes, c.IDTokenAlg)
	}
	if !slices.Equal(p.Scopes, []string{"openid", "email"}) || p.IDTokenAlg != auth.AlgRS256 {
		t.Errorf("public app: scopes %v (want shared.Scopes' order, no repeats), alg %q", p.Scopes, p.IDTokenAlg)
	}
	// The caller's slice is left alone.
	if in[0].Secret != appSecret || in[0].SecretSHA256 != "" || len(in[1].Scopes) != 3 {
		t.Errorf("the input was modified: %+v", in)
	}
	out[0].RedirectURIs[0] = "changed"
	if in[0].RedirectURIs[0] == "changed" {
		t.Error("the result shares its redirect URIs with the input")
	}

	// A hash in capitals is the same hash.
	h := confidentialApp()
	h.Secret, h.SecretSHA256 = "", strings.ToUpper(sha256Hex(appSecret))
	out, err = auth.CheckApps([]auth.App{h})
	if err != nil || out[0].SecretSHA256 != sha256Hex(appSecret) || !out[0].CheckSecret(appSecret) {
		t.Errorf("secret_sha256 in capitals: %+v, %v", out, err)
	}
}

func TestCheckAppsRejectsNamingClientAndField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		apps   func() []auth.App
		break_ func(*auth.App)
		want   string
	}{
		{"id missing", nil, func(a *auth.App) { a.ID = "" },
			`clients[0]: id: must not be empty`},
		{"id not printable", nil, func(a *auth.App) { a.ID = "graf\x00ana" },
			`clients[0]: id: "graf\x00ana" may hold only letters, digits, '-', '.', '_' and '~'`},
		{"id with a colon", nil, func(a *auth.App) { a.ID = "graf:ana" },
			`clients[0]: id: "graf:ana" may hold only letters, digits, '-', '.', '_' and '~'`},
		{"id too long", nil, func(a *auth.App) { a.ID = strings.Repeat("a", 256) },
			`clients[0]: id: must be at most 255 characters`},
		{"id twice", func() []auth.App {
			p := publicApp()
			p.ID = "grafana"
			return []auth.App{confidentialApp(), p}
		}, nil, `client "grafana": id: is also the id of clients[0]; ids must be unique`},
		{"name missing", nil, func(a *auth.App) { a.Name = " " },
			`client "grafana": name: must not be empty (it is shown on the login and consent pages)`},
		{"name with a control character", nil, func(a *auth.App) { a.Name = "Gra\u202efana" },
			`client "grafana": name: "Gra\u202efana" holds an invisible or control character`},
		{"confidential without a secret", nil, func(a *auth.App) { a.Secret = "" },
			`client "grafana": secret: a confidential client needs secret or secret_sha256 (or "public": true for an app that cannot keep a secret, such as a mobile or single-page app)`},
		{"secret and its hash", nil, func(a *auth.App) { a.SecretSHA256 = sha256Hex(appSecret) },
			`client "grafana": secret: give secret or secret_sha256, not both`},
		{"public with a secret", nil, func(a *auth.App) { a.Public = true },
			`client "grafana": secret: a public client has no secret (remove it, or remove "public": true if the app can keep a secret)`},
		{"public with a hash", nil, func(a *auth.App) { a.Public, a.Secret, a.SecretSHA256 = true, "", sha256Hex(appSecret) },
			`client "grafana": secret_sha256: a public client has no secret (remove it, or remove "public": true if the app can keep a secret)`},
		{"short secret", nil, func(a *auth.App) { a.Secret = appSecret[:31] },
			"client \"grafana\": secret: must be at least 32 random characters (e.g. `openssl rand -base64 32`), since it is kept only as a fast SHA-256 hash; got 31"},
		{"hash not hex", nil, func(a *auth.App) { a.Secret, a.SecretSHA256 = "", strings.Repeat("g", 64) },
			"client \"grafana\": secret_sha256: must be 64 hexadecimal digits (`printf %s \"$SECRET\" | sha256sum`), got 64 characters"},
		{"hash too short", nil, func(a *auth.App) { a.Secret, a.SecretSHA256 = "", sha256Hex(appSecret)[:62] },
			"client \"grafana\": secret_sha256: must be 64 hexadecimal digits (`printf %s \"$SECRET\" | sha256sum`), got 62 characters"},
		{"no redirect URI", nil, func(a *auth.App) { a.RedirectURIs = nil },
			`client "grafana": redirect_uris: must list at least one URI`},
		{"fragment", nil, func(a *auth.App) { a.RedirectURIs[1] = "https://x/cb#frag" },
			`client "grafana": redirect_uris[1]: "https://x/cb#frag" must not have a fragment`},
		{"empty fragment", nil, func(a *auth.App) { a.RedirectURIs[0] = "https://x/cb#" },
			`client "grafana": redirect_uris[0]: "https://x/cb#" must not have a fragment`},
		{"wildcard", nil, func(a *auth.App) { a.RedirectURIs[0] = "https://*.example.com/cb" },
			`client "grafana": redirect_uris[0]: "https://*.example.com/cb" must not contain a wildcard (*): redirect URIs match exactly`},
		{"relative", nil, func(a *auth.App) { a.RedirectURIs[0] = "/login/generic_oauth" },
			`client "grafana": redirect_uris[0]: "/login/generic_oauth" must be absolute (https://host/path)`},
		{"not a URI", nil, func(a *auth.App) { a.RedirectURIs[0] = "https://x/\x7f" },
			`client "grafana": redirect_uris[0]: "https://x/\x7f" is not a URI`},
		{"no host", nil, func(a *auth.App) { a.RedirectURIs[0] = "https:/cb" },
			`client "grafana": redirect_uris[0]: "https:/cb" has no host`},
		{"http elsewhere than loopback", nil, func(a *auth.App) { a.RedirectURIs[0] = "http://grafana.example.com/cb" },
			`client "grafana": redirect_uris[0]: "http://grafana.example.com/cb" must use https (http only for a loopback host: 127.0.0.1, [::1] or localhost)`},
		{"http on a loopback look-alike", nil, func(a *auth.App) { a.RedirectURIs[0] = "http://127.0.0.1.example.com/cb" },
			`client "grafana": redirect_uris[0]: "http://127.0.0.1.example.com/cb" must use https (http only for a loopback host: 127.0.0.1, [::1] or localhost)`},
		{"other scheme", nil, func(a *auth.App) { a.RedirectURIs[0] = "javascript:alert(1)" },
			`client "grafana": redirect_uris[0]: "javascript:alert(1)" must use https (or http on a loopback host, or for a native app a private-use scheme such as com.example.app:/cb)`},
		{"private-use scheme for a confidential client", nil, func(a *auth.App) { a.RedirectURIs[0] = "com.example.app:/cb" },
			`client "grafana": redirect_uris[0]: "com.example.app:/cb" has a private-use scheme, which only a public (native) client may use`},
		{"post-logout fragment", nil, func(a *auth.App) { a.PostLogoutRedirectURIs = append(a.PostLogoutRedirectURIs, "https://x/#bye") },
			`client "grafana": post_logout_redirect_uris[1]: "https://x/#bye" must not have a fragment`},
		{"post-logout over http", nil, func(a *auth.App) { a.PostLogoutRedirectURIs[0] = "http://grafana.example.com/" },
			`client "grafana": post_logout_redirect_uris[0]: "http://grafana.example.com/" must use https (http only for a loopback host: 127.0.0.1, [::1] or localhost)`},
		{"unknown scope", nil, func(a *auth.App) { a.Scopes = []string{"openid", "groups"} },
			`client "grafana": scopes[1]: "groups" is not a scope Latchkey grants (openid, profile, email, offline_access)`},
		{"no openid", nil, func(a *auth.App) { a.Scopes = []string{"profile", "email"} },
			`client "grafana": scopes: must include "openid": without it there is no sign-in`},
		{"unknown algorithm", nil, func(a *auth.App) { a.IDTokenAlg = "HS256" },
			`client "grafana": id_token_signed_response_alg: must be ES256 (the default) or RS256, got "HS256"`},
		{"the second client is named", func() []auth.App {
			p := publicApp()
			p.RedirectURIs = append(p.RedirectURIs, "https://x/*")
			return []auth.App{confidentialApp(), p}
		}, nil, `client "cli": redirect_uris[3]: "https://x/*" must not contain a wildcard (*): redirect URIs match exactly`},
		{"by position when the id is missing", func() []auth.App {
			p := publicApp()
			p.ID = ""
			return []auth.App{confidentialApp(), p}
		}, nil, `clients[1]: id: must not be empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps := []auth.App{confidentialApp()}
			if tc.apps != nil {
				apps = tc.apps()
			}
			if tc.break_ != nil {
				tc.break_(&apps[0])
			}
			out, err := auth.CheckApps(apps)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, %v\nwant %s", out, err, tc.want)
			}
			if strings.Contains(err.Error(), appSecret[:31]) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestCheckAppsAcceptsWhatTheRulesAllow(t *testing.T) {
	for _, tc := range []struct {
		name string
		fix  func(*auth.App)
	}{
		{"http on 127.0.0.1", func(a *auth.App) { a.RedirectURIs[0] = "http://127.0.0.1:3000/cb" }},
		{"http on [::1]", func(a *auth.App) { a.RedirectURIs[0] = "http://[::1]/cb" }},
		{"http on localhost", func(a *auth.App) { a.RedirectURIs[0] = "http://localhost/cb" }},
		{"a query", func(a *auth.App) { a.RedirectURIs[0] = "https://x/cb?tenant=1" }},
		{"no post-logout URI", func(a *auth.App) { a.PostLogoutRedirectURIs = nil }},
		{"a private-use scheme for a public app", func(a *auth.App) {
			a.Public, a.Secret = true, ""
			a.RedirectURIs[0] = "com.example.app:/oauth2redirect"
		}},
		{"a name in any script", func(a *auth.App) { a.Name = "Ñandú 日記" }},
		{"openid alone", func(a *auth.App) { a.Scopes = []string{"openid"} }},
		{"ES256 said out loud", func(a *auth.App) { a.IDTokenAlg = "ES256" }},
	} {
		a := confidentialApp()
		tc.fix(&a)
		if _, err := auth.CheckApps([]auth.App{a}); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if out, err := auth.CheckApps(nil); err != nil || len(out) != 0 {
		t.Errorf("no apps: %v, %v", out, err)
	}
}

func TestMatchRedirect(t *testing.T) {
	pub := auth.App{Public: true, RedirectURIs: []string{
		"https://app.example.com/cb?tenant=1",
		"http://127.0.0.1/callback",
		"http://[::1]:8000/cb",
		"http://localhost:3000/cb",
		"com.example.app:/cb",
	}}
	conf := auth.App{RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1:9000/callback"}}
	for _, tc := range []struct {
		name string
		app  auth.App
		uri  string
		want bool
	}{
		{"exact", pub, "https://app.example.com/cb?tenant=1", true},
		{"exact private-use scheme", pub, "com.example.app:/cb", true},
		{"another query", pub, "https://app.example.com/cb?tenant=2", false},
		{"no query", pub, "https://app.example.com/cb", false},
		{"an extra query parameter", pub, "https://app.example.com/cb?tenant=1&x=y", false},
		{"a prefix", pub, "https://app.example.com/c", false},
		{"a longer path", pub, "https://app.example.com/cb/evil?tenant=1", false},
		{"another case", pub, "https://APP.example.com/cb?tenant=1", false},
		{"a fragment", pub, "https://app.example.com/cb?tenant=1#x", false},
		{"empty", pub, "", false},

		{"loopback, a port where none was registered", pub, "http://127.0.0.1:51004/callback", true},
		{"loopback, the same without a port", pub, "http://127.0.0.1/callback", true},
		{"loopback, the highest port", pub, "http://127.0.0.1:65535/callback", true},
		{"IPv6 loopback, another port", pub, "http://[::1]:1234/cb", true},
		{"IPv6 loopback, no port", pub, "http://[::1]/cb", true},
		{"loopback, another path", pub, "http://127.0.0.1:51004/callbackx", false},
		{"loopback, an added query", pub, "http://127.0.0.1:51004/callback?x=1", false},
		{"loopback, a fragment", pub, "http://127.0.0.1:51004/callback#x", false},
		{"loopback, the other address family", pub, "http://[::1]:51004/callback", false},
		{"loopback, https", pub, "https://127.0.0.1:51004/callback", false},
		{"loopback, a user name", pub, "http://127.0.0.1:51004@evil.example/callback", false},
		{"loopback host as a prefix", pub, "http://127.0.0.1.evil.example/callback", false},
		{"loopback, a signed port", pub, "http://127.0.0.1:+80/callback", false},
		{"loopback, port 0", pub, "http://127.0.0.1:0/callback", false},
		{"loopback, port too high", pub, "http://127.0.0.1:65536/callback", false},
		{"loopback, an empty port", pub, "http://127.0.0.1:/callback", false},
		{"localhost gets no port exception", pub, "http://localhost:3001/cb", false},
		{"localhost, exact", pub, "http://localhost:3000/cb", true},
		{"confidential, exact loopback", conf, "http://127.0.0.1:9000/callback", true},
		{"confidential gets no port exception", conf, "http://127.0.0.1:9001/callback", false},
		{"confidential, no port", conf, "http://127.0.0.1/callback", false},
	} {
		if got := tc.app.MatchRedirect(tc.uri); got != tc.want {
			t.Errorf("%s: MatchRedirect(%q) = %v, want %v", tc.name, tc.uri, got, tc.want)
		}
	}
}

func TestMatchPostLogout(t *testing.T) {
	a := auth.App{
		Public:                 true,
		RedirectURIs:           []string{"http://127.0.0.1/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye", "http://127.0.0.1/bye"},
	}
	for uri, want := range map[string]bool{
		"https://app.example.com/bye":  true,
		"http://127.0.0.1/bye":         true,
		"https://app.example.com/bye/": false,
		"https://app.example.com/by":   false,
		"http://127.0.0.1:8000/bye":    false, // no port exception after logout
		"https://app.example.com/cb":   false,
		"http://127.0.0.1/cb":          false, // a redirect URI is not a post-logout URI
		"":                             false,
	} {
		if got := a.MatchPostLogout(uri); got != want {
			t.Errorf("MatchPostLogout(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	apps, err := auth.CheckApps([]auth.App{confidentialApp()})
	if err != nil {
		t.Fatal(err)
	}
	a := apps[0]
	if !a.CheckSecret(appSecret) {
		t.Error("the right secret is refused")
	}
	for _, wrong := range []string{"", appSecret[:35], appSecret + "x", strings.ToUpper(appSecret), a.SecretSHA256} {
		if a.CheckSecret(wrong) {
			t.Errorf("a wrong secret %q passes", wrong)
		}
	}
	// A public app has no secret, whatever its fields hold.
	p := a
	p.Public = true
	if p.CheckSecret(appSecret) {
		t.Error("a public app authenticates with a secret")
	}
	// Neither does an app without a hash (an empty secret is never a match).
	var none auth.App
	if none.CheckSecret(appSecret) || none.CheckSecret("") {
		t.Error("an app without a secret hash authenticates")
	}
}

func TestAllows(t *testing.T) {
	apps, err := auth.CheckApps([]auth.App{publicApp(), confidentialApp()})
	if err != nil {
		t.Fatal(err)
	}
	p, c := apps[0], apps[1]
	for _, s := range shared.Scopes {
		if !c.Allows(s) {
			t.Errorf("the default scopes lack %q", s)
		}
	}
	if !p.Allows("openid") || !p.Allows("email") || p.Allows("profile") || p.Allows("offline_access") || p.Allows("") {
		t.Errorf("scopes %v: allows the wrong ones", p.Scopes)
	}
	if (&auth.App{}).Allows("openid") {
		t.Error("an app CheckApps never saw allows a scope")
	}
}

// The helper behind the port exception must not take a host that merely
// starts like a loopback address for one, even where MatchRedirect's
// comparison of the rest would catch it anyway.
func TestLoopbackWithoutPort(t *testing.T) {
	for _, tc := range []struct {
		uri, host, rest string
		ok              bool
	}{
		{"http://127.0.0.1:8080/cb?x=1", "127.0.0.1", "/cb?x=1", true},
		{"http://127.0.0.1?x=1", "127.0.0.1", "?x=1", true},
		{"http://[::1]", "[::1]", "", true},
		{"http://[::1]:1/", "[::1]", "/", true},
		{"http://127.0.0.1.evil.example/cb", "", "", false},
		{"http://127.0.0.1@evil.example/cb", "", "", false},
		{"http://127.0.0.10/cb", "", "", false},
		{"http://[::1]x/cb", "", "", false},
		{"http://127.0.0.1:80x/cb", "", "", false},
		{"http://localhost:80/cb", "", "", false},
		{"HTTP://127.0.0.1/cb", "", "", false},
	} {
		host, rest, ok := auth.LoopbackWithoutPort(tc.uri)
		if host != tc.host || rest != tc.rest || ok != tc.ok {
			t.Errorf("%q: %q %q %v, want %q %q %v", tc.uri, host, rest, ok, tc.host, tc.rest, tc.ok)
		}
	}
}
