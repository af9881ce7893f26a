package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// Modes of a level: what each ceremony is.
const (
	ModeByName       = "byname"
	ModeDiscoverable = "discoverable"
	ModeSignup       = "signup"
)

// maxCeremonies bounds one level whatever its duration, so a run always
// stops by itself even against a server far faster than expected.
const maxCeremonies = 1_000_000

// requestTimeout bounds each request: a stalled server shows up as errors
// instead of a hung run.
const requestTimeout = 10 * time.Second

// target is the Latchkey under test.
type target struct {
	base   string // scheme://host[:port], where requests go
	origin string // the WebAuthn origin the authenticator claims
	rpID   string
	// transport is shared by every virtual user: each has its own cookie
	// jar, as each browser does, but they share a pool of connections so
	// the run measures ceremonies rather than TCP handshakes.
	transport *http.Transport
	// run makes this run's names unique, so runs against one database
	// never collide.
	run string
	seq atomic.Int64
}

func newTarget(rawURL string, maxConns int) (*target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url must be http(s)://host[:port], got %q", rawURL)
	}
	origin := u.Scheme + "://" + u.Host
	b := make([]byte, 3)
	rand.Read(b)
	return &target{
		base: origin, origin: origin, rpID: u.Hostname(),
		transport: &http.Transport{
			// Only the URL given: never a proxy from the environment.
			Proxy:               nil,
			MaxIdleConnsPerHost: maxConns,
			IdleConnTimeout:     90 * time.Second,
		},
		run: hex.EncodeToString(b),
	}, nil
}

// vuser is one virtual user: a browser (its cookie jar) with a passkey on
// its authenticator. One worker at a time uses it: the authenticator's
// signature counter must reach the server in order, as a real one's does.
type vuser struct {
	name string
	c    *client.Client
	a    *passkeytest.Authenticator
}

func (t *target) newUser() *vuser {
	jar, _ := cookiejar.New(nil)
	n := t.seq.Add(1)
	return &vuser{
		// Letters and digits only, within shared.UsernameMaxLen.
		name: fmt.Sprintf("lt%s%d", t.run, n),
		c:    client.NewHTTP(t.base, &http.Client{Jar: jar, Transport: t.transport, Timeout: requestTimeout}),
		a:    passkeytest.New(t.origin, t.rpID),
	}
}

// stepError is a failed ceremony, by the request that failed and why.
type stepError struct {
	step  string // "login/begin", "signup/finish", …
	cause string // "HTTP 429 rate_limited", "network", "authenticator"
	err   error
}

func (e *stepError) Error() string { return e.step + ": " + e.cause + ": " + e.err.Error() }

func fail(step string, err error) error {
	var ae *shared.APIError
	switch {
	case errors.As(err, &ae):
		return &stepError{step, fmt.Sprintf("HTTP %d %s", ae.Status, ae.Code), err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &stepError{step, "timeout", err}
	case errors.Is(err, client.ErrNetwork):
		return &stepError{step, "network", err}
	default:
		return &stepError{step, "other", err}
	}
}

// signup runs one sign-up ceremony for u: begin, the authenticator makes
// a passkey, finish. It leaves u logged in with a remembered name, as a
// browser would be.
func (u *vuser) signup(ctx context.Context) error {
	b, err := u.c.SignupBegin(ctx, shared.SignupBeginRequest{Username: u.name, Email: u.name + "@loadtest.invalid"})
	if err != nil {
		return fail("signup/begin", err)
	}
	cred, err := u.a.Register(b.Options)
	if err != nil {
		return &stepError{"signup/sign", "authenticator", err}
	}
	if _, err := u.c.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: b.Ceremony, Credential: cred}); err != nil {
		return fail("signup/finish", err)
	}
	return nil
}

// login runs one login ceremony: by name, or discoverable (no name; the
// authenticator picks the passkey and names the user by its handle).
func (u *vuser) login(ctx context.Context, byName bool) error {
	var req shared.LoginBeginRequest
	if byName {
		req.UsernameOrEmail = u.name
	}
	b, err := u.c.LoginBegin(ctx, req)
	if err != nil {
		return fail("login/begin", err)
	}
	cred, err := u.a.Login(b.Options)
	if err != nil {
		return &stepError{"login/sign", "authenticator", err}
	}
	if _, err := u.c.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: b.Ceremony, Credential: cred}); err != nil {
		return fail("login/finish", err)
	}
	return nil
}

// signupUsers signs up n users, conc at a time, and returns them.
func (t *target) signupUsers(ctx context.Context, n, conc int) ([]*vuser, error) {
	users := make([]*vuser, n)
	for i := range users {
		users[i] = t.newUser()
	}
	next := make(chan *vuser, n)
	for _, u := range users {
		next <- u
	}
	close(next)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for u := range next {
				rctx, cancel := context.WithTimeout(ctx, requestTimeout)
				err := u.signup(rctx)
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("signing up %s: %w", u.name, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return users, firstErr
}

// level is what one concurrency level measured.
type level struct {
	mode        string
	concurrency int
	elapsed     time.Duration
	// ok are the ceremonies that finished; latencies has one entry for
	// each, sorted, begin to finish including the authenticator.
	ok        int
	latencies []time.Duration
	// errors counts failed ceremonies by step and cause.
	errors map[string]int
	cpu    []cpuUse
}

func (l *level) errorCount() int {
	n := 0
	for _, c := range l.errors {
		n += c
	}
	return n
}

func (l *level) rate() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(l.ok) / l.elapsed.Seconds()
}

// percentile is the q-th quantile (0 < q ≤ 1) of the finished ceremonies'
// latencies, by the nearest-rank method.
func (l *level) percentile(q float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(l.latencies))+0.999999) - 1
	return l.latencies[max(0, min(i, len(l.latencies)-1))]
}

// runLevel runs a closed loop for d: conc workers, each starting its next
// ceremony as soon as the last ended. Logins take a free user from users
// (so no user runs two ceremonies at once); sign-ups make a new user each.
func (t *target) runLevel(ctx context.Context, mode string, conc int, d time.Duration, users []*vuser, watch []*process) (*level, error) {
	if mode != ModeSignup && len(users) < conc {
		return nil, fmt.Errorf("%d users cannot keep %d logins going at once: use -users %d or more", len(users), conc, conc)
	}
	free := make(chan *vuser, len(users))
	for _, u := range users {
		free <- u
	}
	var (
		mu     sync.Mutex
		res    = &level{mode: mode, concurrency: conc, errors: map[string]int{}}
		issued atomic.Int64
		wg     sync.WaitGroup
	)
	before := readCPU(watch)
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Go(func() {
			var lat []time.Duration
			errs := map[string]int{}
			for time.Now().Before(deadline) && ctx.Err() == nil && issued.Add(1) <= maxCeremonies {
				var u *vuser
				if mode == ModeSignup {
					u = t.newUser()
				} else {
					u = <-free
				}
				rctx, cancel := context.WithTimeout(ctx, requestTimeout)
				began := time.Now()
				var err error
				switch mode {
				case ModeSignup:
					err = u.signup(rctx)
				default:
					err = u.login(rctx, mode == ModeByName)
				}
				took := time.Since(began)
				cancel()
				if mode != ModeSignup {
					free <- u
				}
				if err != nil {
					var se *stepError
					if errors.As(err, &se) {
						errs[se.step+" "+se.cause]++
					} else {
						errs["other"]++
					}
					continue
				}
				lat = append(lat, took)
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			for k, v := range errs {
				res.errors[k] += v
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = cpuSince(watch, before, readCPU(watch))
	res.ok = len(res.latencies)
	slices.Sort(res.latencies)
	return res, ctx.Err()
}
