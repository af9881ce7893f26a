package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/faultproxy"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/store/bunstore"
	"github.com/latchkey/latchkey/shared"
)

// How long each dependency stays cut, how soon after healing full service
// must be back (the 5 s), and how long service must then stay
// whole before the next fault.
const (
	faultCut      = 2 * time.Second
	faultRecovery = 5 * time.Second
	faultSteady   = time.Second
	faultWorkers  = 4
)

// Postgres and Redis are cut off in turn, under load, through proxies in
// this process (the machine's services are never touched). While a store
// is cut every request either succeeds or answers 503 unavailable with
// Retry-After, never a 500; /readyz says 503; within 5 s of healing every
// request succeeds again, with no restart; and nothing is half-written:
// every account acknowledged exists with its passkey and logs in, and every
// sign-up that failed left either nothing or an account with its passkey.
func TestUnderFaults(t *testing.T) {
	f := newFaultRig(t)

	load, stop := f.startLoad(t)
	f.steady(t, "warm-up", faultSteady)
	for _, dep := range []struct {
		name  string
		proxy *faultproxy.Proxy
	}{{"redis", f.redis}, {"postgres", f.pg}} {
		f.cut(t, dep.name, dep.proxy)
		f.steady(t, "after healing "+dep.name, faultSteady)
	}
	stop()
	load.Wait()

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Error(v)
	}
	for _, dep := range []string{"redis", "postgres"} {
		if f.unavailable[dep] == 0 {
			t.Errorf("no request answered 503 while %s was cut: the cut did nothing, or the load did not reach it", dep)
		}
	}
	t.Logf("steps: %d succeeded; 503 unavailable while redis was cut: %d (slowest %v), while postgres was cut: %d (slowest %v)",
		f.ok, f.unavailable["redis"], f.slowest["redis"], f.unavailable["postgres"], f.slowest["postgres"])
	f.checkNothingHalfWritten(t)
}

// storeUnavailable is what the issue asks a person to read while a store
// is cut off; the pages show flow.Message of the answer.
const storeUnavailable = "Latchkey can't reach its database; try again in a moment."

// faultRig is an API whose Postgres and Redis are reached through proxies.
type faultRig struct {
	url       string
	db        *bunstore.Store
	pg, redis *faultproxy.Proxy
	hc        *http.Client // answers are checked by checkedTransport
	log       *syncBuffer

	mu sync.Mutex
	// cutting names the dependency cut (or recovering from a cut), "" in
	// steady service; gen counts cuts, so a request can tell whether one
	// began while it ran.
	cutting     string
	gen         int
	ok          int
	unavailable map[string]int
	slowest     map[string]time.Duration // the longest a 503 took
	violations  []string
	signups     []*signup
}

type signup struct {
	username string
	key      *passkeytest.Authenticator
	acked    bool // 201 from sign-up finish
}

func newFaultRig(t *testing.T) *faultRig {
	t.Helper()
	f := &faultRig{unavailable: map[string]int{}, slowest: map[string]time.Duration{}, log: &syncBuffer{}}
	// A small pool, so the load cycles through all of it.
	ps := teststores.PostgresRedisBehindProxies(t, 4)
	f.db, f.pg, f.redis = ps.DB, ps.Postgres, ps.Redis

	srv := httptest.NewUnstartedServer(nil)
	f.url = "http://localhost:" + strings.TrimPrefix(srv.Listener.Addr().String(), "127.0.0.1:")
	log := slog.New(slog.NewTextHandler(f.log, nil))
	svc, err := auth.New(ps.Users, ps.Challenges, ps.Sessions, auth.Options{Origin: f.url, RPID: "localhost", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// Limits on, in Redis, but high enough never to refuse: the limiter's
	// own calls fail with the rest while Redis is cut.
	limits := auth.Limits{}
	for name := range auth.DefaultLimits() {
		limits[name] = auth.Limit{Events: 1_000_000, Per: time.Minute, Burst: 1_000_000}
	}
	srv.Config.Handler = httpapi.New(httpapi.Options{
		Logger: log, Origin: f.url, Auth: svc, Limiter: ps.Limiter, Limits: limits, RememberFor: time.Hour,
		Ready: []httpapi.Check{
			{Name: "database", Ping: ps.Users.Ping},
			{Name: "challenges", Ping: ps.Challenges.Ping},
			{Name: "sessions", Ping: ps.Sessions.Ping},
		},
	})
	srv.Start()
	t.Cleanup(srv.Close)
	f.hc = &http.Client{Transport: &checkedTransport{f: f, base: http.DefaultTransport}, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log (last lines):\n%s", f.log.tail(40))
		}
	})
	return f
}

// checkedTransport holds every answer to the rule: a 5xx is a 503 with
// Retry-After, never a 500.
type checkedTransport struct {
	f    *faultRig
	base http.RoundTripper
}

func (c *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 500 || req.URL.Path == shared.HealthReady {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		c.f.violate("%s %s answered %d (Retry-After %q): %s", req.Method, req.URL.Path,
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	return resp, nil
}

func (f *faultRig) violate(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.violations) < 20 {
		f.violations = append(f.violations, fmt.Sprintf(format, args...))
	}
}

// startLoad runs faultWorkers virtual browsers until stop: each signs up
// new accounts and logs in to its own by name and with a discoverable
// passkey, and reads who it is, back to back.
func (f *faultRig) startLoad(t *testing.T) (*sync.WaitGroup, func()) {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range faultWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.worker(ctx, w)
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	return &wg, stop
}

func (f *faultRig) worker(ctx context.Context, w int) {
	var mine []*signup // this worker's acknowledged accounts
	for i := 0; ctx.Err() == nil; i++ {
		// A new account every other round, until a worker has 40: enough
		// to cross every fault, few enough to check them all at the end.
		if i%2 == 0 && i < 80 {
			s := &signup{username: fmt.Sprintf("w%d-n%d", w, i), key: passkeytest.New(f.url, "localhost")}
			f.mu.Lock()
			f.signups = append(f.signups, s)
			f.mu.Unlock()
			c := client.NewHTTP(f.url, f.jar())
			err := f.observe(ctx, func() error { return signUpOnce(ctx, c, s) })
			s.acked = err == nil
			if s.acked {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 {
			continue
		}
		s := mine[i%len(mine)]
		c := client.NewHTTP(f.url, f.jar())
		name := s.username
		if i%3 == 0 {
			name = "" // discoverable
		}
		if f.observe(ctx, func() error { return logInOnce(ctx, c, s.key, name, s.username) }) == nil {
			f.observe(ctx, func() error {
				me, err := c.Me(ctx)
				if err == nil && me.User.Username != s.username {
					return fmt.Errorf("me: got %q, want %q", me.User.Username, s.username)
				}
				return err
			})
		}
	}
}

func (f *faultRig) jar() *http.Client {
	hc := newJarClient()
	hc.Transport, hc.Timeout = f.hc.Transport, f.hc.Timeout
	return hc
}

// observe runs one step of the load and judges its outcome by when it ran:
// in steady service it must succeed; while a dependency is cut (or
// recovering) it may also answer 503 unavailable, nothing else.
func (f *faultRig) observe(ctx context.Context, step func() error) error {
	f.mu.Lock()
	gen, cutting := f.gen, f.cutting
	f.mu.Unlock()
	began := time.Now()
	err := step()
	took := time.Since(began)
	if ctx.Err() != nil {
		return err // the load was stopped mid-step
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	steady := cutting == "" && f.cutting == "" && f.gen == gen
	if err == nil {
		f.ok++
		return nil
	}
	var ae *shared.APIError
	is503 := errors.As(err, &ae) && ae.Code == shared.CodeUnavailable && ae.Status == http.StatusServiceUnavailable
	switch {
	case is503 && !steady && flow.Message(err) != storeUnavailable:
		if len(f.violations) < 20 {
			f.violations = append(f.violations, fmt.Sprintf("the page would say %q, want %q", flow.Message(err), storeUnavailable))
		}
	case is503 && !steady:
		dep := cutting
		if dep == "" {
			dep = f.cutting
		}
		f.unavailable[dep]++
		f.slowest[dep] = max(f.slowest[dep], took)
	case steady:
		if len(f.violations) < 20 {
			f.violations = append(f.violations, fmt.Sprintf("in steady service: %v", err))
		}
	default:
		if len(f.violations) < 20 {
			f.violations = append(f.violations, fmt.Sprintf("during a fault, not 503 unavailable: %v", err))
		}
	}
	return err
}

func signUpOnce(ctx context.Context, c *client.Client, s *signup) error {
	begin, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: s.username, Email: s.username + "@example.com"})
	if err != nil {
		return err
	}
	cred, err := s.key.Register(begin.Options)
	if err != nil {
		return err
	}
	_, err = c.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	return err
}

func logInOnce(ctx context.Context, c *client.Client, key *passkeytest.Authenticator, name, want string) error {
	begin, err := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
	if err != nil {
		return err
	}
	cred, err := key.Login(begin.Options)
	if err != nil {
		return err
	}
	done, err := c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred})
	if err == nil && done.User.Username != want {
		return fmt.Errorf("logged in as %q, want %q", done.User.Username, want)
	}
	return err
}

// steady lets the load run for d in steady service.
func (f *faultRig) steady(t *testing.T, phase string, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if code := f.ready(); code != http.StatusOK {
		t.Errorf("%s: /readyz answered %d, want 200", phase, code)
	}
}

// cut cuts dep off for faultCut, checks /readyz says so, heals it and
// waits (at most faultRecovery) for a whole login ceremony to succeed
// again; the load runs throughout.
func (f *faultRig) cut(t *testing.T, dep string, p *faultproxy.Proxy) {
	t.Helper()
	f.mu.Lock()
	f.cutting, f.gen = dep, f.gen+1
	f.mu.Unlock()
	p.Cut()
	time.Sleep(faultCut / 2)
	if code := f.ready(); code != http.StatusServiceUnavailable {
		t.Errorf("%s cut: /readyz answered %d, want 503", dep, code)
	}
	time.Sleep(faultCut / 2)

	p.Heal()
	healed := time.Now()
	probe := &signup{username: "probe-" + dep, key: passkeytest.New(f.url, "localhost")}
	c := client.NewHTTP(f.url, f.jar())
	for {
		err := signUpOnce(context.Background(), c, probe)
		if err == nil || client.Code(err) == shared.CodeUsernameTaken {
			// Taken: an earlier try made the account and lost its answer.
			if err = logInOnce(context.Background(), c, probe.key, probe.username, probe.username); err == nil {
				break
			}
		}
		if time.Since(healed) > faultRecovery {
			t.Fatalf("%s healed %v ago and a sign-up and login still fail: %v", dep, faultRecovery, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := f.ready(); code != http.StatusOK {
		t.Errorf("%s healed and serving: /readyz answered %d, want 200", dep, code)
	}
	t.Logf("%s: full service %v after healing", dep, time.Since(healed).Round(time.Millisecond))
	f.mu.Lock()
	f.cutting = ""
	f.mu.Unlock()
}

func (f *faultRig) ready() int {
	resp, err := f.hc.Get(f.url + shared.HealthReady)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkNothingHalfWritten looks at every sign-up once service is whole: an
// acknowledged one exists with its passkey and logs in; a failed one
// either left nothing, or an account with its passkey that logs in (its
// answer was lost after the commit, or the session could not be started).
func (f *faultRig) checkNothingHalfWritten(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	var acked, absent, whole int
	for _, s := range f.signups {
		u, err := f.db.UserByUsername(ctx, s.username)
		if errors.Is(err, auth.ErrNotFound) {
			if s.acked {
				t.Errorf("%s: sign-up answered 201 but the account does not exist", s.username)
			}
			absent++
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.username, err)
		}
		pks, err := f.db.Passkeys(ctx, u.ID)
		if err != nil {
			t.Fatalf("%s: %v", s.username, err)
		}
		if len(pks) != 1 {
			t.Errorf("%s (acknowledged %v): the account has %d passkeys, want its one", s.username, s.acked, len(pks))
			continue
		}
		if err := logInOnce(ctx, client.NewHTTP(f.url, newJarClient()), s.key, s.username, s.username); err != nil {
			t.Errorf("%s (acknowledged %v): exists but cannot log in: %v", s.username, s.acked, err)
		}
		if s.acked {
			acked++
		} else {
			whole++
		}
	}
	t.Logf("sign-ups: %d acknowledged and whole, %d failed and absent, %d failed but whole", acked, absent, whole)
	if acked == 0 {
		t.Error("no sign-up succeeded: the load did not run")
	}
}

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(strings.TrimRight(s.b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
