package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

type observed struct{ route, code string }

type recorder struct {
	mu   sync.Mutex
	seen []observed
}

func (r *recorder) ObserveRequest(route, code string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, observed{route, code})
}

func (r *recorder) take() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

// The edge tells its Observer of each request by the pattern it matched
// (never the path as sent) and the code it answered: the domain's code
// when there is one, else one that the status implies.
func TestObserverSeesRoutesAndCodes(t *testing.T) {
	s := teststores.SQLite(t)
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(s.Users, s.Challenges, s.Sessions, auth.Options{Origin: origin, RPID: "localhost", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	// A stand-in provider: the token endpoint refuses the app (401).
	oidc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == shared.OIDCToken {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	srv.Config.Handler = httpapi.New(httpapi.Options{Logger: log, Origin: origin, Auth: svc, Observer: rec, OIDC: oidc})
	srv.Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()

	c := client.NewHTTP(origin, nil)
	signUp(t, c, passkeytest.New(origin, "localhost"), "olga", "olga@example.com")
	_, err = c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "nobody"})
	if client.Code(err) != shared.CodeUserNotFound {
		t.Fatalf("login as nobody: %v", err)
	}
	hc := newJarClient()
	for _, r := range []struct{ method, path, origin string }{
		{"GET", "/api/olga/secret", ""},
		{"POST", shared.APILogout, "https://evil.example"},
		{"GET", shared.HealthLive, ""},
		{"POST", shared.OIDCToken, ""},
		{"GET", shared.OIDCPrefix + "olga", ""},
	} {
		req, _ := http.NewRequest(r.method, origin+r.path, nil)
		if r.origin != "" {
			req.Header.Set("Origin", r.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := rec.take()
	want := []observed{
		{shared.RouteSignupBegin.Pattern(), ""},
		{shared.RouteSignupFinish.Pattern(), ""},
		// The domain's code, not not_found as a 404 alone would say.
		{shared.RouteLoginBegin.Pattern(), shared.CodeUserNotFound},
		{"/api/", shared.CodeNotFound},
		// Refused before any route matched.
		{"", shared.CodeForbidden},
		{"GET " + shared.HealthLive, ""},
		// The provider's endpoints by their path; its errors by status.
		{shared.OIDCToken, shared.CodeUnauthenticated},
		{shared.OIDCPrefix, ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("observed %v,\nwant     %v", got, want)
	}
}
