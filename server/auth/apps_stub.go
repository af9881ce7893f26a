package auth

// TEMPORARY until the appsconfig branch lands (it writes apps.go).

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"slices"
)

func CheckApps(apps []App) ([]App, error) {
	out := slices.Clone(apps)
	for i := range out {
		a := &out[i]
		if len(a.Scopes) == 0 {
			a.Scopes = slices.Clone([]string{"openid", "profile", "email", "offline_access"})
		}
		if a.IDTokenAlg == "" {
			a.IDTokenAlg = AlgES256
		}
		if a.Secret != "" {
			sum := sha256.Sum256([]byte(a.Secret))
			a.SecretSHA256, a.Secret = hex.EncodeToString(sum[:]), ""
		}
	}
	return out, nil
}

func (a *App) MatchRedirect(uri string) bool {
	if slices.Contains(a.RedirectURIs, uri) {
		return true
	}
	if !a.Public {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1") {
		return false
	}
	for _, r := range a.RedirectURIs {
		ru, err := url.Parse(r)
		if err == nil && ru.Scheme == "http" && ru.Hostname() == u.Hostname() && ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func (a *App) MatchPostLogout(uri string) bool { return slices.Contains(a.PostLogoutRedirectURIs, uri) }

func (a *App) CheckSecret(s string) bool {
	if a.Public || s == "" {
		return false
	}
	sum := sha256.Sum256([]byte(s))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(a.SecretSHA256)) == 1
}

func (a *App) Allows(scope string) bool { return slices.Contains(a.Scopes, scope) }
