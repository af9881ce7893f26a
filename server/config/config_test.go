package config

import (
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

func load(vars map[string]string) (*Config, error) {
	return Load(func(k string) string { return vars[k] })
}

func TestDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != "http://localhost:8080" || c.RPID != "localhost" || c.Secure() {
		t.Errorf("origin %q rpid %q secure %v", c.Origin, c.RPID, c.Secure())
	}
	if c.ListenAddr != ":8080" || c.DatabaseURL != "" || c.RedisURL != "" || c.CeremonyTTL != 10*time.Minute {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestDatabaseMaxConns(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := max(4, 4*runtime.GOMAXPROCS(0)); c.DatabaseMaxConns != want {
		t.Errorf("default DatabaseMaxConns = %d, want %d (4 per CPU, at least 4)", c.DatabaseMaxConns, want)
	}
	c, err = load(map[string]string{"DATABASE_MAX_CONNS": " 12 "})
	if err != nil || c.DatabaseMaxConns != 12 {
		t.Errorf("DATABASE_MAX_CONNS=12: %v, %v", c, err)
	}
	for _, bad := range []string{"0", "-3", "1001", "8.5", "8 conns", "0x10"} {
		_, err := load(map[string]string{"DATABASE_MAX_CONNS": bad})
		want := `DATABASE_MAX_CONNS must be a whole number from 1 to 1000, got "` + bad + `"`
		if err == nil || err.Error() != want {
			t.Errorf("DATABASE_MAX_CONNS=%s: got %v, want %s", bad, err, want)
		}
	}
}

func TestPublicURLGivesOriginAndRPID(t *testing.T) {
	c, err := load(map[string]string{"PUBLIC_URL": "https://login.example.com/", "MAIL_LOG_LINKS": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != "https://login.example.com" || c.RPID != "login.example.com" || !c.Secure() {
		t.Errorf("origin %q rpid %q secure %v", c.Origin, c.RPID, c.Secure())
	}
}

func TestPublicURLDropsTheDefaultPort(t *testing.T) {
	for raw, want := range map[string]string{
		"https://Login.Example.com:443": "https://login.example.com",
		"http://example.com:80":         "http://example.com",
		"http://localhost:8080":         "http://localhost:8080",
	} {
		c, err := load(map[string]string{"PUBLIC_URL": raw, "MAIL_LOG_LINKS": "true"})
		if err != nil || c.Origin != want {
			t.Errorf("%s: origin %v, %v; want %s", raw, c, err, want)
		}
	}
}

func TestRejectsBadValuesNamingTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"PUBLIC_URL":                 {"PUBLIC_URL": "ftp://x"},
		"DATABASE_URL":               {"DATABASE_URL": "mysql://root@localhost/db"},
		"REDIS_URL":                  {"REDIS_URL": "http://localhost"},
		"LISTEN_ADDR":                {"LISTEN_ADDR": "8080"},
		"METRICS_ADDR":               {"METRICS_ADDR": "9090"},
		"CEREMONY_TTL":               {"CEREMONY_TTL": "soon"},
		"WEBAUTHN_USER_VERIFICATION": {"WEBAUTHN_USER_VERIFICATION": "sometimes"},
		"LOG_LEVEL":                  {"LOG_LEVEL": "loud"},
		"MAIL_FROM":                  {"SMTP_URL": "smtp://mail:25"},
		"TRUSTED_PROXIES":            {"TRUSTED_PROXIES": "10.0.0.0/99"},
		"PROVISIONAL_PASSKEY_PERIOD": {"PROVISIONAL_PASSKEY_PERIOD": "-1h"},
		"MAIL_LOG_LINKS":             {"MAIL_LOG_LINKS": "maybe"},
		"DATABASE_MAX_CONNS":         {"DATABASE_MAX_CONNS": "eight"},
		// Login links in the log of a production (https) server: refused.
		"SMTP_URL": {"PUBLIC_URL": "https://login.example.com"},
	}
	for name, vars := range cases {
		_, err := load(vars)
		if err == nil || !strings.HasPrefix(err.Error(), name+" ") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// Metrics are off unless METRICS_ADDR names a listener of their own.
func TestMetricsAddr(t *testing.T) {
	if c, err := load(nil); err != nil || c.MetricsAddr != "" {
		t.Errorf("by default: %v, %v; want no metrics", c, err)
	}
	if c, err := load(map[string]string{"METRICS_ADDR": "127.0.0.1:9090"}); err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("METRICS_ADDR=127.0.0.1:9090: %v, %v", c, err)
	}
	_, err := load(map[string]string{"LISTEN_ADDR": ":8080", "METRICS_ADDR": ":8080"})
	if err == nil || !strings.HasPrefix(err.Error(), "METRICS_ADDR must differ from LISTEN_ADDR") {
		t.Errorf("METRICS_ADDR on the public listener: got %v", err)
	}
}

func TestNeverEchoesAPasswordFromABadURL(t *testing.T) {
	_, err := load(map[string]string{"DATABASE_URL": "postgres://u:s3cret@host:bad/db"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
}

func TestReadsSecretsFromFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(p, []byte("postgres://u:p@db/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(map[string]string{"DATABASE_URL_FILE": p})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u:p@db/x" {
		t.Errorf("got %q", c.DatabaseURL)
	}
	if _, err := load(map[string]string{"DATABASE_URL_FILE": p, "DATABASE_URL": "postgres://x"}); err == nil {
		t.Error("both NAME and NAME_FILE set: want an error")
	}
}

func TestLoginLinksInTheLogOnHTTPSOnlyWhenAskedFor(t *testing.T) {
	for _, vars := range []map[string]string{
		{"PUBLIC_URL": "https://login.example.com", "MAIL_LOG_LINKS": "true"},
		{"PUBLIC_URL": "https://login.example.com", "SMTP_URL": "smtp://mail:587", "MAIL_FROM": "login@example.com"},
		{"PUBLIC_URL": "http://localhost:8080"},
	} {
		if _, err := load(vars); err != nil {
			t.Errorf("%v: %v", vars, err)
		}
	}
	c, err := load(map[string]string{"PROVISIONAL_PASSKEY_PERIOD": "24h"})
	if err != nil || c.ProvisionalPeriod != 24*time.Hour {
		t.Errorf("PROVISIONAL_PASSKEY_PERIOD: %v %v", c, err)
	}
}

func TestEnumerationProtectionNeedsASecret(t *testing.T) {
	secret := strings.Repeat("k", 32)
	for _, tc := range []struct {
		vars    map[string]string
		wantErr string
	}{
		{map[string]string{"ACCOUNT_ENUMERATION_PROTECTION": "true"}, "SERVER_SECRET is required"},
		{map[string]string{"ACCOUNT_ENUMERATION_PROTECTION": "maybe"}, "ACCOUNT_ENUMERATION_PROTECTION must be true or false"},
		{map[string]string{"SERVER_SECRET": "short-secret-value"}, "SERVER_SECRET must be at least 32 characters"},
		{map[string]string{"ACCOUNT_ENUMERATION_PROTECTION": "true", "SERVER_SECRET": secret}, ""},
	} {
		c, err := load(tc.vars)
		switch {
		case tc.wantErr == "" && (err != nil || !c.EnumerationProtection || c.ServerSecret != secret):
			t.Errorf("%v: %+v, %v", tc.vars, c, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: got %v, want %q", tc.vars, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "short-secret-value"):
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

func TestRateLimitsKeepTheirDefaultsAndCanBeChanged(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(c.RateLimits, auth.DefaultLimits()) || c.RateLimitsOff {
		t.Errorf("defaults: %v off=%v", c.RateLimits, c.RateLimitsOff)
	}
	// An office behind one NAT address raises its per-address limits.
	c, err = load(map[string]string{"RATE_LIMIT_LOGIN_IP": "600/1m", "RATE_LIMIT_EMAIL_NAME": " 5 / 2h30m "})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RateLimits[auth.LimitLoginIP]; got != (auth.Limit{Events: 600, Per: time.Minute, Burst: 600}) {
		t.Errorf("RATE_LIMIT_LOGIN_IP: %+v", got)
	}
	if got := c.RateLimits[auth.LimitEmailName]; got != (auth.Limit{Events: 5, Per: 150 * time.Minute, Burst: 5}) {
		t.Errorf("RATE_LIMIT_EMAIL_NAME: %+v", got)
	}
	if got, want := c.RateLimits[auth.LimitSignupIP], auth.DefaultLimits()[auth.LimitSignupIP]; got != want {
		t.Errorf("an unset limit changed: %+v, want %+v", got, want)
	}
	for _, v := range []string{"on", "off"} {
		c, err := load(map[string]string{"RATE_LIMITS": v})
		if err != nil || c.RateLimitsOff != (v == "off") {
			t.Errorf("RATE_LIMITS=%s: %v, %v", v, c, err)
		}
	}
}

func TestRejectsBadRateLimitsInOneLine(t *testing.T) {
	for name := range auth.DefaultLimits() {
		for _, bad := range []string{"abc", "60", "60/", "/1m", "0/1m", "-5/1m", "1.5/1m", "60/0s", "60/500ms", "60/25h", "60/1d", "2000000/1h", "60/1m/2"} {
			v := "RATE_LIMIT_" + name
			_, err := load(map[string]string{v: bad})
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), v+" must be attempts/period such as 60/1m") || !strings.Contains(err.Error(), strconv.Quote(bad)) {
				t.Errorf("%s=%s: got %v", v, bad, err)
			}
		}
	}
	_, err := load(map[string]string{"RATE_LIMITS": "false"})
	if err == nil || err.Error() != `RATE_LIMITS must be on or off, got "false"` {
		t.Errorf("RATE_LIMITS=false: got %v", err)
	}
}

// The clients file of the README's example, more or less: one confidential
// and one public client.
const clientsJSON = `[
  {
    "id": "grafana",
    "name": "Grafana",
    "secret": "` + clientSecret + `",
    "redirect_uris": ["https://grafana.example.com/login/generic_oauth"],
    "post_logout_redirect_uris": ["https://grafana.example.com/login"],
    "skip_consent": true
  },
  {
    "id": "cli",
    "name": "Command line",
    "public": true,
    "redirect_uris": ["http://127.0.0.1/callback"],
    "scopes": ["openid", "profile"],
    "id_token_signed_response_alg": "RS256"
  }
]`

const (
	clientSecret = "grafana-secret-of-at-least-32-characters"
	kek          = "key-encryption-key-of-32-characters!"
)

// clientsFile writes content to a file and returns the variables that name
// it, with a key-encryption key.
func clientsFile(t *testing.T, content string) map[string]string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"OIDC_CLIENTS_FILE": p, "OIDC_KEY_ENCRYPTION_KEY": kek}
}

func TestOIDCIsOffByDefault(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := auth.Defaults()
	if c.ClientsFile != "" || c.Apps != nil || c.KeyEncryptionKey != "" {
		t.Errorf("clients %q %v, key set %v", c.ClientsFile, c.Apps, c.KeyEncryptionKey != "")
	}
	if c.KeyRotation != d.KeyRotation || c.AccessTokenTTL != d.AccessTokenTTL || c.IDTokenTTL != d.IDTokenTTL || c.RefreshTokenTTL != d.RefreshTokenTTL {
		t.Errorf("lives %v %v %v %v, want auth.Defaults()", c.KeyRotation, c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL)
	}
}

func TestReadsTheClientsFile(t *testing.T) {
	vars := clientsFile(t, clientsJSON)
	vars["OIDC_KEY_ROTATION"] = "168h"
	vars["OIDC_ACCESS_TOKEN_TTL"] = "5m"
	vars["OIDC_ID_TOKEN_TTL"] = "30m"
	vars["OIDC_REFRESH_TOKEN_TTL"] = "24h"
	c, err := load(vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientsFile != vars["OIDC_CLIENTS_FILE"] || c.KeyEncryptionKey != kek || len(c.Apps) != 2 {
		t.Fatalf("file %q, key %v, apps %+v", c.ClientsFile, c.KeyEncryptionKey == kek, c.Apps)
	}
	g, cli := c.Apps[0], c.Apps[1]
	// Checked and normalised by auth.CheckApps: the secret only as a hash.
	if g.ID != "grafana" || !g.SkipConsent || g.Secret != "" || !g.CheckSecret(clientSecret) || g.IDTokenAlg != auth.AlgES256 || len(g.Scopes) != 4 {
		t.Errorf("grafana: %+v", g)
	}
	if !cli.Public || !cli.MatchRedirect("http://127.0.0.1:4242/callback") || cli.IDTokenAlg != auth.AlgRS256 || cli.Allows("email") {
		t.Errorf("cli: %+v", cli)
	}
	if c.KeyRotation != 168*time.Hour || c.AccessTokenTTL != 5*time.Minute || c.IDTokenTTL != 30*time.Minute || c.RefreshTokenTTL != 24*time.Hour {
		t.Errorf("lives %v %v %v %v", c.KeyRotation, c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL)
	}
}

// A bad clients file stops the start with one line naming the variable,
// the file, the client and the field.
func TestRejectsABadClientsFileInOneLine(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"a rule of auth.CheckApps",
			strings.Replace(clientsJSON, `"https://grafana.example.com/login"]`, `"https://grafana.example.com/login", "https://x/cb#frag"]`, 1),
			`client "grafana": post_logout_redirect_uris[1]: "https://x/cb#frag" must not have a fragment`},
		{"an unknown field",
			strings.Replace(clientsJSON, `"post_logout_redirect_uris"`, `"post_logout_redirect_uri"`, 1),
			`client "grafana": post_logout_redirect_uri: is not a field of a client (id, name, secret, secret_sha256, public, redirect_uris, post_logout_redirect_uris, skip_consent, scopes, id_token_signed_response_alg)`},
		{"a field in another case",
			strings.Replace(clientsJSON, `"public"`, `"Public"`, 1),
			`client "cli": Public: is not a field of a client (id, name, secret, secret_sha256, public, redirect_uris, post_logout_redirect_uris, skip_consent, scopes, id_token_signed_response_alg)`},
		{"a field twice",
			strings.Replace(clientsJSON, `"skip_consent": true`, `"skip_consent": true, "secret": "another"`, 1),
			`clients[0]: secret: appears twice`},
		{"a wrong type",
			strings.Replace(clientsJSON, `"public": true`, `"public": "yes"`, 1),
			`client "cli": public: must be true or false`},
		{"a secret of the wrong type is not quoted",
			strings.Replace(clientsJSON, `"`+clientSecret+`"`, `12345678901234567890123456789012345`, 1),
			`client "grafana": secret: must be a string`},
		{"a wrong type in a list",
			strings.Replace(clientsJSON, `"scopes": ["openid", "profile"]`, `"scopes": ["openid", 7]`, 1),
			`client "cli": scopes[1]: must be a string`},
		{"an id of the wrong type",
			strings.Replace(clientsJSON, `"id": "cli"`, `"id": 7`, 1),
			`clients[1]: id: must be a string`},
		{"a client that is not an object", `[` + clientsJSON[1:len(clientsJSON)-1] + `, "x"]`,
			`clients[2]: must be a JSON object`},
		{"a client that is null", `[` + clientsJSON[1:len(clientsJSON)-1] + `, null]`,
			`clients[2]: must be a JSON object`},
		{"not JSON", "[\n  {\"id\": \"grafana\",}\n]",
			`is not valid JSON: line 2, column 20: invalid character '}' at start of string (expecting '"')`},
		{"cut short", `[{"id": "grafana"`, `is not valid JSON: it ends too soon`},
		{"empty", ``, `is not valid JSON: it ends too soon`},
		{"not a list", `{"id": "grafana"}`,
			`must be a JSON list of clients: [{"id": …, "name": …, "redirect_uris": […]}, …]`},
		{"two values", `[] []`, `holds more than one JSON value; put every client in one list`},
		{"no clients", `[]`, `lists no clients (leave OIDC_CLIENTS_FILE unset to turn the OpenID Connect provider off)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := clientsFile(t, tc.content)
			_, err := load(vars)
			want := "OIDC_CLIENTS_FILE " + vars["OIDC_CLIENTS_FILE"] + ": " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("got  %v\nwant %s", err, want)
			}
			if strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), "1234567890") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
	_, err := load(map[string]string{"OIDC_CLIENTS_FILE": filepath.Join(t.TempDir(), "missing.json"), "OIDC_KEY_ENCRYPTION_KEY": kek})
	if err == nil || !strings.HasPrefix(err.Error(), "OIDC_CLIENTS_FILE cannot be read: ") {
		t.Errorf("a missing file: %v", err)
	}
}

func TestKeyEncryptionKey(t *testing.T) {
	withFile := clientsFile(t, clientsJSON)
	keyFile := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(keyFile, []byte(kek+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		wantErr string
	}{
		{"required with clients", map[string]string{"OIDC_CLIENTS_FILE": withFile["OIDC_CLIENTS_FILE"]},
			"OIDC_KEY_ENCRYPTION_KEY is required when OIDC_CLIENTS_FILE is set"},
		{"too short", map[string]string{"OIDC_CLIENTS_FILE": withFile["OIDC_CLIENTS_FILE"], "OIDC_KEY_ENCRYPTION_KEY": kek[:31]},
			"OIDC_KEY_ENCRYPTION_KEY must be at least 32 characters (e.g. `openssl rand -base64 32`), got 31"},
		{"too short without clients", map[string]string{"OIDC_KEY_ENCRYPTION_KEY": kek[:31]},
			"OIDC_KEY_ENCRYPTION_KEY must be at least 32 characters"},
		{"the server secret again", map[string]string{"OIDC_CLIENTS_FILE": withFile["OIDC_CLIENTS_FILE"], "OIDC_KEY_ENCRYPTION_KEY": kek, "SERVER_SECRET": kek},
			"OIDC_KEY_ENCRYPTION_KEY must differ from SERVER_SECRET"},
		{"from a file", map[string]string{"OIDC_CLIENTS_FILE": withFile["OIDC_CLIENTS_FILE"], "OIDC_KEY_ENCRYPTION_KEY_FILE": keyFile}, ""},
		{"not needed without clients", nil, ""},
	} {
		c, err := load(tc.vars)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr == "" && tc.vars != nil && c.KeyEncryptionKey != kek:
			t.Errorf("%s: key not read", tc.name)
		case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), kek[:31]):
			t.Errorf("%s: the error shows the key: %v", tc.name, err)
		}
	}
}

func TestRejectsBadOIDCLives(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"OIDC_KEY_ROTATION", "1m", "OIDC_KEY_ROTATION must be at least 1h, got 1m"},
		{"OIDC_KEY_ROTATION", "30d", `OIDC_KEY_ROTATION must be a positive duration such as 10m or 24h, got "30d"`},
		{"OIDC_ACCESS_TOKEN_TTL", "-5m", `OIDC_ACCESS_TOKEN_TTL must be a positive duration such as 10m or 24h, got "-5m"`},
		{"OIDC_ID_TOKEN_TTL", "soon", `OIDC_ID_TOKEN_TTL must be a positive duration such as 10m or 24h, got "soon"`},
		{"OIDC_REFRESH_TOKEN_TTL", "0", `OIDC_REFRESH_TOKEN_TTL must be a positive duration such as 10m or 24h, got "0"`},
	} {
		_, err := load(map[string]string{tc.name: tc.value})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s=%s: got %v, want %s", tc.name, tc.value, err, tc.want)
		}
	}
}

// The README's example clients file must be one the server accepts.
func TestTheREADMEsClientsFileLoads(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n### Clients file\n")
	_, example, ok := strings.Cut(section, "\n```json\n")
	example, _, ok2 := strings.Cut(example, "\n```\n")
	if !ok || !ok2 {
		t.Fatal("the README has no JSON example under \"### Clients file\"")
	}
	c, err := load(clientsFile(t, example))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Apps) != 2 || c.Apps[0].Public || !c.Apps[1].Public {
		t.Errorf("want one confidential and one public client: %+v", c.Apps)
	}
}
