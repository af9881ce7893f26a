package openid_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// BenchmarkCodeFlow is one whole sign-in of an app by a person who is
// logged in and has consented: the authorization request answered with a
// code, then the token exchange (client authentication, PKCE, the grant
// written, tokens minted, the ID token signed). It calls the handler in the
// process, without a network in between, and reports the process's CPU time
// per flow (cpu-µs/flow, user+system, from getrusage): Latchkey's own cost,
// plus the embedded database's on SQLite; Postgres and Redis spend theirs in
// their own processes. The target is 1 ms.
func BenchmarkCodeFlow(b *testing.B) {
	for _, be := range teststores.All {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			s.Limiter = nil
			in := newInstance(b, s, newClock())
			p := newPerson(b, in, "bench")
			// Consent once, so each flow is the common case, and redeem a code
			// once, so the signing keys (made at first use) are in place.
			r := newRequest("web", webRedirect, "openid profile email")
			if tr := redeem(b, in, "web", webSecret, r, p.signIn(b, in, r).Get("code")); tr.Status != http.StatusOK {
				b.Fatalf("warm-up: %+v", tr)
			}
			h := in.srv.Config.Handler
			u, _ := url.Parse(in.URL)
			var cookies []string
			for _, c := range p.hc.Jar.Cookies(u) {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			cookie := strings.Join(cookies, "; ")

			start := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := newRequest("web", webRedirect, "openid profile email")
				req := httptest.NewRequest("GET", r.url(in), nil)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				loc, err := url.Parse(rec.Header().Get("Location"))
				if rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
					b.Fatalf("authorize: %d %s", rec.Code, rec.Header().Get("Location"))
				}
				form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
					"redirect_uri": {webRedirect}, "code_verifier": {r.verifier}}
				req = httptest.NewRequest("POST", in.URL+shared.OIDCToken, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("web", webSecret)
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("token: %d %s", rec.Code, rec.Body)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/flow")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
