package config

import (
	"maps"
	"os"
	"path/filepath"
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
		"CEREMONY_TTL":               {"CEREMONY_TTL": "soon"},
		"WEBAUTHN_USER_VERIFICATION": {"WEBAUTHN_USER_VERIFICATION": "sometimes"},
		"LOG_LEVEL":                  {"LOG_LEVEL": "loud"},
		"MAIL_FROM":                  {"SMTP_URL": "smtp://mail:25"},
		"TRUSTED_PROXIES":            {"TRUSTED_PROXIES": "10.0.0.0/99"},
		"PROVISIONAL_PASSKEY_PERIOD": {"PROVISIONAL_PASSKEY_PERIOD": "-1h"},
		"MAIL_LOG_LINKS":             {"MAIL_LOG_LINKS": "maybe"},
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
