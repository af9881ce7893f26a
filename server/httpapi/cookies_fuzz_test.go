package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// FuzzCookies sends the session and remembered-user cookies, as any client
// could set them, to every route that reads them. Whatever they hold, the
// answer is never a 5xx. The seeds include a live session and a real uid, so
// the fuzzer starts from values the server knows.
func FuzzCookies(f *testing.F) {
	a := newAPI(f, teststores.SQLite(f))
	hc := newJarClient()
	c, key := client.NewHTTP(a.URL, hc), passkeytest.New(a.URL, "localhost")
	signUp(f, c, key, "alice", "alice@example.com")
	session, uid := cookieValue(hc, a.URL, "latchkey_session"), cookieValue(hc, a.URL, "latchkey_user")
	if session == "" || uid == "" {
		f.Fatal("sign-up set no cookies")
	}
	for _, seed := range [][2]string{
		{session, uid},
		{"", ""},
		{session + "x", uid[:len(uid)-1]},
		{`"` + session + `"`, `"` + uid + `"`},
		{strings.Repeat("A", 4096), strings.Repeat("%", 100)},
		{"\x00", "\xff\xfe"},
		{"a; latchkey_session=b", "; ;="},
	} {
		f.Add(seed[0], seed[1])
	}
	routes := []struct{ method, path string }{
		{http.MethodGet, shared.APIMe},
		{http.MethodGet, shared.APILoginRemembered},
		{http.MethodGet, shared.APIPasskeys},
		{http.MethodGet, shared.APISessions},
		{http.MethodPost, shared.APIPasskeysBegin},
		{http.MethodGet, "/account"},
		{http.MethodPost, shared.APILoginForget},
		{http.MethodPost, shared.APILogout},
	}
	h := a.srv.Config.Handler
	f.Fuzz(func(t *testing.T, session, uid string) {
		// Raw, as a client may send it: http.Request.AddCookie would
		// sanitise the values first.
		header := "latchkey_session=" + session + "; latchkey_user=" + uid
		for _, rt := range routes {
			r := httptest.NewRequest(rt.method, rt.path, nil)
			r.Header.Set("Cookie", header)
			if rt.method == http.MethodPost {
				r.Header.Set("Content-Type", "application/json")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %s with Cookie %q: %d %s", rt.method, rt.path, header, w.Code, w.Body)
			}
		}
	})
}
