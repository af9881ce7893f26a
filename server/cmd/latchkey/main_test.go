package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/config"
)

func TestHealthcheckAsksTheLocalServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	addr := ":" + srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	if err := healthcheck(addr); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	srv.Close()
	if err := healthcheck(addr); err == nil {
		t.Fatal("stopped server reported healthy")
	}
}

const clientsJSON = `[
  {"id": "grafana", "name": "Grafana", "secret": "` + grafanaSecret + `",
   "redirect_uris": ["https://grafana.example.com/login/generic_oauth"],
   "post_logout_redirect_uris": ["https://grafana.example.com/login"], "skip_consent": true},
  {"id": "cli", "name": "Command line", "public": true,
   "redirect_uris": ["http://127.0.0.1/callback", "com.example.cli:/callback"], "scopes": ["openid", "profile"],
   "id_token_signed_response_alg": "RS256"}
]`

const grafanaSecret = "grafana-secret-of-at-least-32-characters"

// loadConfig loads the configuration as the server does, from vars, with
// a clients file; the database and Redis named are never reached.
func loadConfig(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestClientsPrintsEndpointsAndClients(t *testing.T) {
	p := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(p, []byte(clientsJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, map[string]string{
		"PUBLIC_URL":              "https://login.example.com:443/",
		"MAIL_LOG_LINKS":          "true",
		"OIDC_CLIENTS_FILE":       p,
		"OIDC_KEY_ENCRYPTION_KEY": "key-encryption-key-of-32-characters!",
		// Unreachable on purpose: the command opens no store.
		"DATABASE_URL": "postgres://latchkey@192.0.2.1:5432/latchkey",
		"REDIS_URL":    "redis://192.0.2.1:6379/0",
	})
	var out strings.Builder
	if err := command("clients", cfg, &out); err != nil {
		t.Fatal(err)
	}
	want := `Issuer                  https://login.example.com
Discovery               https://login.example.com/.well-known/openid-configuration
Authorization endpoint  https://login.example.com/oauth2/authorize
Token endpoint          https://login.example.com/oauth2/token
Userinfo endpoint       https://login.example.com/oauth2/userinfo
JWKS                    https://login.example.com/oauth2/keys
End session endpoint    https://login.example.com/oauth2/logout

Client grafana
  Client ID                  grafana
  Name                       Grafana
  Type                       confidential: client_secret_basic or client_secret_post, with its secret (never printed)
  First-party                yes: no consent page
  Scopes                     openid profile email offline_access
  ID token algorithm         ES256
  Redirect URIs              https://grafana.example.com/login/generic_oauth
  Post-logout redirect URIs  https://grafana.example.com/login

Client cli
  Client ID                  cli
  Name                       Command line
  Type                       public: no secret; PKCE with S256
  First-party                no: asks for consent
  Scopes                     openid profile
  ID token algorithm         RS256
  Redirect URIs              http://127.0.0.1/callback
                             com.example.cli:/callback
  Post-logout redirect URIs  (none)
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	sum := sha256.Sum256([]byte(grafanaSecret))
	for _, secret := range []string{grafanaSecret, hex.EncodeToString(sum[:]), cfg.KeyEncryptionKey} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the output shows a secret: %s", secret)
		}
	}
}

func TestClientsWithoutAClientsFile(t *testing.T) {
	var out strings.Builder
	if err := command("clients", loadConfig(t, nil), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "Issuer                  http://localhost:8080\n") ||
		!strings.HasSuffix(out.String(), "\n\nNo clients: OIDC_CLIENTS_FILE is not set.\n") {
		t.Errorf("got\n%s", out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	err := command("client", loadConfig(t, nil), io.Discard)
	if err == nil || err.Error() != `unknown command "client" (the commands are healthcheck and clients)` {
		t.Errorf("got %v", err)
	}
}
