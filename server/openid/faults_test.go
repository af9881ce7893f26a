package openid_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// An app's calls while a store is cut off answer 503 temporarily_unavailable
// with Retry-After, never a server_error (500), and work again once it is
// healed: a code is still good (the failed redemption did not use it up).
func TestStoresCutOffAnswerTemporarilyUnavailable(t *testing.T) {
	ps := teststores.PostgresRedisBehindProxies(t, 0)
	in := newInstance(t, ps.Stores, newClock())
	p := newPerson(t, in, "alice")
	r := newRequest("first", firstRedir, "openid profile offline_access")
	code := p.signIn(t, in, r).Get("code")

	unavailable := func(what string, status int, h http.Header, body string) {
		t.Helper()
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "2" || !strings.Contains(body, "temporarily_unavailable") {
			t.Errorf("%s: %d, Retry-After %q, %s; want 503 temporarily_unavailable with Retry-After 2", what, status, h.Get("Retry-After"), body)
		}
	}

	ps.Redis.Cut()
	// The browser's session cannot be read: no redirect either way.
	if resp := p.get(t, newRequest("first", firstRedir, "openid").url(in)); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("authorize with Redis cut: %d, Retry-After %q; want 503 with Retry-After 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	tr := redeem(t, in, "first", firstSecret, r, code)
	unavailable("token (code) with Redis cut", tr.Status, tr.header, tr.Error)
	ps.Redis.Heal()
	tr = redeem(t, in, "first", firstSecret, r, code)
	if tr.Status != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
		t.Fatalf("token (code) after healing Redis: %+v", tr)
	}

	ps.Postgres.Cut()
	status, h, body := get(t, in.URL+shared.OIDCUserinfo, tr.AccessToken)
	unavailable("userinfo with Postgres cut", status, h, body)
	rt := refresh(t, in, "first", firstSecret, tr.RefreshToken)
	unavailable("token (refresh) with Postgres cut", rt.Status, rt.header, rt.Error)
	ps.Postgres.Heal()
	if status, _, body := get(t, in.URL+shared.OIDCUserinfo, tr.AccessToken); status != 200 {
		t.Errorf("userinfo after healing Postgres: %d %s", status, body)
	}
	if rt := refresh(t, in, "first", firstSecret, tr.RefreshToken); rt.Status != 200 || rt.AccessToken == "" {
		t.Errorf("refresh after healing Postgres: %+v", rt)
	}
}

// get fetches u with a bearer token, returning the status, headers and body.
func get(t *testing.T, u, bearer string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
