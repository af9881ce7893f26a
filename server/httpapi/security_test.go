package httpapi_test

// Tests that pin down security checks which, when broken on purpose, no
// other test noticed (issue 8). Each test says which check it guards; the
// README's "How a security check earns its test" says how they were proven.
//
// The helpers here are prefixed sec and kept apart from the other API
// tests' helpers, so the two can change independently; a sign-up, a login
// and a client with a cookie jar are the package's own (signUp, login,
// newJarClient).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/httpapi"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/smtptest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/server/mail"
	"github.com/latchkey/latchkey/server/store/storetest"
	"github.com/latchkey/latchkey/shared"
)

// secServer is a whole Latchkey API as production wires it: real stores,
// login links mailed through a real SMTP server, and the JSON log of the
// domain, the mailer and the HTTP edge captured in one buffer, every level.
type secServer struct {
	URL   string // PUBLIC_URL: http://localhost:PORT
	Users storetest.Users
	Auth  *auth.Service
	Box   *smtptest.Server
	Log   *secLog
}

type secOptions struct {
	// trusted are the proxies whose X-Forwarded-For is believed.
	trusted []string
}

func newSecServer(t *testing.T, s teststores.Stores, o secOptions) *secServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	origin := "http://localhost:" + port
	logs := &secLog{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	box := smtptest.Start(t)
	mailer, err := mail.NewSMTP(box.URL(), "Latchkey <login@latchkey.test>")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(s.Users, s.Challenges, s.Sessions, auth.Options{
		Origin: origin, RPID: "localhost", UserVerification: "required",
		Mailer: mailer, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	var proxies []*net.IPNet
	for _, p := range o.trusted {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			t.Fatal(err)
		}
		proxies = append(proxies, n)
	}
	srv.Config.Handler = httpapi.New(httpapi.Options{
		Logger: log, Origin: origin, Auth: svc, Limiter: s.Limiter,
		TrustedProxies: proxies, RememberFor: 400 * 24 * time.Hour,
	})
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		svc.WaitForMail()
	})
	return &secServer{URL: origin, Users: s.Users, Auth: svc, Box: box, Log: logs}
}

// secLog is a buffer the logger may write to from several goroutines.
type secLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *secLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *secLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// secResult is one raw exchange: status, error body, header and body.
type secResult struct {
	Status int
	Err    shared.ErrorBody
	Header http.Header
	Body   []byte
}

// secDo sends a JSON body (nil for none) with extra headers; a "Host"
// entry replaces the Host header.
func secDo(t *testing.T, hc *http.Client, method, u string, body any, headers map[string]string) secResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := secResult{Status: resp.StatusCode, Header: resp.Header, Body: b}
	_ = json.Unmarshal(b, &r.Err)
	return r
}

// secCeremony decodes a begin response, failing the test on anything but 200.
func secCeremony(t *testing.T, r secResult) shared.CeremonyResponse {
	t.Helper()
	var c shared.CeremonyResponse
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &c) != nil || c.Ceremony == "" {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	return c
}

// secOptionsOf decodes WebAuthn options into a map.
func secOptionsOf(t *testing.T, options json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(options, &m); err != nil {
		t.Fatalf("options %s: %v", options, err)
	}
	return m
}

// secChallenge is the challenge of a ceremony's options.
func secChallenge(t *testing.T, options json.RawMessage) string {
	t.Helper()
	ch, _ := secOptionsOf(t, options)["challenge"].(string)
	if ch == "" {
		t.Fatalf("no challenge in %s", options)
	}
	return ch
}

// secRequestOptions are request options for challenge allowing one
// passkey, as a browser would be handed for a login.
func secRequestOptions(challenge string, credentialID []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"challenge":        challenge,
		"rpId":             "localhost",
		"userVerification": "required",
		"allowCredentials": []map[string]string{{"type": "public-key", "id": base64.RawURLEncoding.EncodeToString(credentialID)}},
	})
	return b
}

// secCreationOptions are creation options for challenge, as a browser would
// be handed for a sign-up or a new passkey.
func secCreationOptions(challenge string) []byte {
	b, _ := json.Marshal(map[string]any{
		"challenge": challenge,
		"rp":        map[string]string{"id": "localhost", "name": "Latchkey"},
		"user": map[string]string{
			"id": base64.RawURLEncoding.EncodeToString([]byte("made-up-handle")), "name": "mallory", "displayName": "mallory",
		},
		"pubKeyCredParams":       []map[string]any{{"type": "public-key", "alg": -7}},
		"authenticatorSelection": map[string]string{"residentKey": "required", "userVerification": "required"},
	})
	return b
}

func secCookie(r secResult, name string) string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func secUserID(t *testing.T, s *secServer, username string) int64 {
	t.Helper()
	u, err := s.Users.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func secPasskeys(t *testing.T, s *secServer, userID int64) []auth.Passkey {
	t.Helper()
	keys, err := s.Users.Passkeys(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func secSessionCount(t *testing.T, s *secServer, userID int64) int {
	t.Helper()
	list, err := s.Auth.Sessions(context.Background(), &auth.User{ID: userID})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// A ceremony begun as one kind finishes only as that kind. Each response
// below is genuine for its ceremony's challenge (origin, RP ID, a passkey
// the account really has, user verification): the control cases show the
// same construction is accepted where the kind matches, so only the kind
// check stands between these and success.
//
// Proven by dropping the kind comparison in takeCeremony: the add-passkey
// ceremony then logged in (200, a session, the sign count recorded), and
// the login ceremonies finished as sign-ups got credential_rejected. The
// add-passkey case also needs the session binding in PasskeyFinish removed,
// which refuses a login ceremony with the same code on its own.
func TestCeremonyKindWithGenuineResponses(t *testing.T) {
	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := newSecServer(t, b.Open(t), secOptions{})
			ctx := context.Background()
			alice := newJarClient()
			laptop := passkeytest.New(s.URL, "localhost")
			signUp(t, client.NewHTTP(s.URL, alice), laptop, "alice", "alice@example.com")
			aliceID := secUserID(t, s, "alice")
			credID := laptop.Credentials()[0]

			t.Run("an add-passkey ceremony finished through /api/login/finish is refused", func(t *testing.T) {
				// Control: the hand-built request options work for a login.
				hc := newJarClient()
				begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: "alice"}, nil))
				cred, err := laptop.LoginWith(credID, secRequestOptions(secChallenge(t, begin.Options), credID))
				if err != nil {
					t.Fatal(err)
				}
				if r := secDo(t, hc, "POST", s.URL+shared.APILoginFinish, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, nil); r.Status != http.StatusOK {
					t.Fatalf("control login: %d %s", r.Status, r.Body)
				}

				add := secCeremony(t, secDo(t, alice, "POST", s.URL+shared.APIPasskeysBegin, struct{}{}, nil))
				sessions := secSessionCount(t, s, aliceID)
				before := secPasskeys(t, s, aliceID)
				cred, err = laptop.LoginWith(credID, secRequestOptions(secChallenge(t, add.Options), credID))
				if err != nil {
					t.Fatal(err)
				}
				r := secDo(t, newJarClient(), "POST", s.URL+shared.APILoginFinish, shared.LoginFinishRequest{Ceremony: add.Ceremony, Credential: cred}, nil)
				if r.Status != http.StatusBadRequest || r.Err.Error.Code != shared.CodeCeremonyInvalid {
					t.Errorf("add-passkey ceremony finished as a login: %d %s; want 400 %s", r.Status, r.Body, shared.CodeCeremonyInvalid)
				}
				if secCookie(r, "latchkey_session") != "" || secSessionCount(t, s, aliceID) != sessions {
					t.Error("a session was opened")
				}
				if after := secPasskeys(t, s, aliceID); after[0].SignCount != before[0].SignCount {
					t.Errorf("the passkey's use was recorded: sign count %d -> %d", before[0].SignCount, after[0].SignCount)
				}
			})

			for _, name := range []string{"", "alice"} {
				kind := map[string]string{"": "a discoverable login", "alice": "a named login"}[name]
				t.Run(kind+" ceremony finished as a sign-up is refused", func(t *testing.T) {
					// Control: the hand-built creation options work for a sign-up.
					hc := newJarClient()
					key := passkeytest.New(s.URL, "localhost")
					begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APISignupBegin, shared.SignupBeginRequest{Username: "carol" + name, Email: "carol" + name + "@example.com"}, nil))
					cred, err := key.Register(secCreationOptions(secChallenge(t, begin.Options)))
					if err != nil {
						t.Fatal(err)
					}
					if r := secDo(t, hc, "POST", s.URL+shared.APISignupFinish, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, nil); r.Status != http.StatusCreated {
						t.Fatalf("control sign-up: %d %s", r.Status, r.Body)
					}

					hc = newJarClient()
					mallory := passkeytest.New(s.URL, "localhost")
					lbegin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: name}, nil))
					cred, err = mallory.Register(secCreationOptions(secChallenge(t, lbegin.Options)))
					if err != nil {
						t.Fatal(err)
					}
					r := secDo(t, hc, "POST", s.URL+shared.APISignupFinish, shared.SignupFinishRequest{Ceremony: lbegin.Ceremony, Credential: cred}, nil)
					if r.Status != http.StatusBadRequest || r.Err.Error.Code != shared.CodeCeremonyInvalid {
						t.Errorf("login ceremony finished as a sign-up: %d %s; want 400 %s", r.Status, r.Body, shared.CodeCeremonyInvalid)
					}
					if _, err := s.Users.PasskeyByCredentialID(ctx, mallory.Credentials()[0]); err == nil {
						t.Error("the passkey was stored")
					}
					if secCookie(r, "latchkey_session") != "" {
						t.Error("a session was opened")
					}
				})
			}

			t.Run("a login ceremony finished as add-passkey is refused", func(t *testing.T) {
				// A fresh login, so the re-authentication window is open.
				login(t, client.NewHTTP(s.URL, alice), laptop, "alice")
				// Control: the hand-built creation options work for adding a passkey.
				tablet := passkeytest.New(s.URL, "localhost")
				add := secCeremony(t, secDo(t, alice, "POST", s.URL+shared.APIPasskeysBegin, struct{}{}, nil))
				cred, err := tablet.Register(secCreationOptions(secChallenge(t, add.Options)))
				if err != nil {
					t.Fatal(err)
				}
				if r := secDo(t, alice, "POST", s.URL+shared.APIPasskeysFinish, shared.PasskeyFinishRequest{Ceremony: add.Ceremony, Credential: cred, PasskeyName: "Tablet"}, nil); r.Status != http.StatusCreated {
					t.Fatalf("control add-passkey: %d %s", r.Status, r.Body)
				}

				before := len(secPasskeys(t, s, aliceID))
				phone := passkeytest.New(s.URL, "localhost")
				lbegin := secCeremony(t, secDo(t, alice, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: "alice"}, nil))
				cred, err = phone.Register(secCreationOptions(secChallenge(t, lbegin.Options)))
				if err != nil {
					t.Fatal(err)
				}
				r := secDo(t, alice, "POST", s.URL+shared.APIPasskeysFinish, shared.PasskeyFinishRequest{Ceremony: lbegin.Ceremony, Credential: cred, PasskeyName: "Phone"}, nil)
				if r.Status != http.StatusBadRequest || r.Err.Error.Code != shared.CodeCeremonyInvalid {
					t.Errorf("login ceremony finished as add-passkey: %d %s; want 400 %s", r.Status, r.Body, shared.CodeCeremonyInvalid)
				}
				if after := len(secPasskeys(t, s, aliceID)); after != before {
					t.Errorf("passkeys: %d -> %d", before, after)
				}
			})
		})
	}
}

// secURLs finds every http(s) URL in a text.
var secURLs = regexp.MustCompile(`https?://[^\s"'<>]+`)

// The Host header (or X-Forwarded-Host) chooses nothing: the relying party
// id and the origin WebAuthn checks, and the links mailed, all come from
// PUBLIC_URL. The requests below look like a browser on http://evil.test
// whose name resolves to this server (DNS rebinding): Host and Origin agree,
// so cross-origin protection lets them through and only these checks remain.
//
// Proven by building the WebAuthn settings per request from r.Host (the RP
// ID and origin, then the origin alone), and by building the mailed link
// from r.Host: evil.test's options, credentials and links were accepted.
func TestHostHeaderChoosesNothing(t *testing.T) {
	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := newSecServer(t, b.Open(t), secOptions{})
			evil := map[string]string{"Host": "evil.test", "Origin": "http://evil.test", "X-Forwarded-Host": "evil.test"}
			// What a browser on evil.test would put in the client data: its
			// own origin, with the RP ID it was given or its own host.
			evilRPs := []virtualwebauthn.RelyingParty{
				{ID: "localhost", Name: "Latchkey", Origin: "http://evil.test"},
				{ID: "evil.test", Name: "Latchkey", Origin: "http://evil.test"},
			}

			t.Run("sign-up", func(t *testing.T) {
				for i, rp := range evilRPs {
					hc := newJarClient()
					begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APISignupBegin, shared.SignupBeginRequest{Username: fmt.Sprintf("eve%d", i), Email: fmt.Sprintf("eve%d@example.com", i)}, evil))
					rpOpt, _ := secOptionsOf(t, begin.Options)["rp"].(map[string]any)
					if rpOpt["id"] != "localhost" {
						t.Errorf("creation options for Host evil.test name RP ID %v, want localhost (PUBLIC_URL's host)", rpOpt["id"])
					}
					key := passkeytest.New(s.URL, "localhost")
					cred, err := key.RegisterAs(rp, begin.Options)
					if err != nil {
						t.Fatal(err)
					}
					r := secDo(t, hc, "POST", s.URL+shared.APISignupFinish, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, evil)
					if r.Status != http.StatusBadRequest || r.Err.Error.Code != shared.CodeCredentialRejected {
						t.Errorf("credential for origin %s, RP ID %s: %d %s; want 400 %s", rp.Origin, rp.ID, r.Status, r.Body, shared.CodeCredentialRejected)
					}
				}
				// Control: the same requests with PUBLIC_URL's origin in the
				// client data succeed, so the refusals above were the origin's.
				hc := newJarClient()
				begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APISignupBegin, shared.SignupBeginRequest{Username: "alice", Email: "alice@example.com"}, evil))
				cred, _ := passkeytest.New(s.URL, "localhost").Register(begin.Options)
				if r := secDo(t, hc, "POST", s.URL+shared.APISignupFinish, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, evil); r.Status != http.StatusCreated {
					t.Errorf("control sign-up: %d %s", r.Status, r.Body)
				}
			})

			t.Run("login", func(t *testing.T) {
				key := passkeytest.New(s.URL, "localhost")
				signUp(t, client.NewHTTP(s.URL, newJarClient()), key, "bob", "bob@example.com")
				bobID := secUserID(t, s, "bob")
				for _, name := range []string{"bob", ""} {
					for _, rp := range evilRPs {
						hc := newJarClient()
						begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: name}, evil))
						if got := secOptionsOf(t, begin.Options)["rpId"]; got != "localhost" {
							t.Errorf("request options for Host evil.test name RP ID %v, want localhost", got)
						}
						before := secPasskeys(t, s, bobID)
						cred, err := key.LoginAs(rp, begin.Options)
						if err != nil {
							t.Fatal(err)
						}
						r := secDo(t, hc, "POST", s.URL+shared.APILoginFinish, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, evil)
						if r.Status != http.StatusUnauthorized || r.Err.Error.Code != shared.CodeCredentialRejected || secCookie(r, "latchkey_session") != "" {
							t.Errorf("login %q with origin %s, RP ID %s: %d %s; want 401 %s", name, rp.Origin, rp.ID, r.Status, r.Body, shared.CodeCredentialRejected)
						}
						if after := secPasskeys(t, s, bobID); after[0].SignCount != before[0].SignCount {
							t.Error("the refused login recorded the passkey's use")
						}
					}
					// Control: PUBLIC_URL's origin logs in.
					hc := newJarClient()
					begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: name}, evil))
					cred, _ := key.Login(begin.Options)
					if r := secDo(t, hc, "POST", s.URL+shared.APILoginFinish, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, evil); r.Status != http.StatusOK {
						t.Errorf("control login %q: %d %s", name, r.Status, r.Body)
					}
				}
			})

			t.Run("email link", func(t *testing.T) {
				signUp(t, client.NewHTTP(s.URL, newJarClient()), passkeytest.New(s.URL, "localhost"), "carol", "carol@example.com")
				s.Auth.WaitForMail()
				before := len(s.Box.Messages())
				r := secDo(t, nil, "POST", s.URL+shared.APILoginEmail, shared.EmailLoginRequest{UsernameOrEmail: "carol"}, evil)
				if r.Status != http.StatusAccepted {
					t.Fatalf("email link request: %d %s", r.Status, r.Body)
				}
				s.Auth.WaitForMail()
				msgs := s.Box.Messages()
				if len(msgs) == before {
					t.Fatal("no mail was sent")
				}
				// Every link in every mail of this server, whichever mail
				// is the one asked for, points at PUBLIC_URL.
				links := map[string]bool{}
				for _, m := range msgs {
					for _, u := range secURLs.FindAllString(m.Text+"\n"+m.HTML, -1) {
						if !links[u] && !strings.HasPrefix(u, s.URL+"/") {
							t.Errorf("mail to %v links to %s; want links under PUBLIC_URL %s", m.To, u, s.URL)
						}
						links[u] = true
					}
				}
				newest := msgs[len(msgs)-1]
				if len(newest.To) != 1 || newest.To[0] != "carol@example.com" || !strings.Contains(newest.Text, s.URL+shared.PageLoginEmail) {
					t.Errorf("the newest mail is to %v and holds no link to %s:\n%s", newest.To, s.URL+shared.PageLoginEmail, newest.Text)
				}
				if len(links) == 0 {
					t.Error("the mails hold no links")
				}
			})
		})
	}
}

// Sign-up, login and email-link requests are throttled per client address
// and per account, with 429 and Retry-After. The numbers are today's
// defaults (sign-up 20, login 60, email 10 a client address; login 10 an
// account); the tests only ask that a 429 comes within a few times that, so
// they hold when the limits are tuned. Client addresses are IPv4, chosen
// through X-Forwarded-For from a trusted proxy (the test's own loopback).
//
// Proven by removing the login limit (no 429 in any login case), by never
// charging the address (no 429 in any per-address case), by charging the
// left-most X-Forwarded-For hop, and by believing X-Forwarded-For from any
// peer.
func TestRateLimitsOnEveryPath(t *testing.T) {
	const loopback = "127.0.0.1/32"
	// untilLimited sends request(i) for i = 0, 1, … until a 429, and
	// returns how many were let through first; it fails the test when the
	// first is refused, when none is within max, or when a 429 lacks a
	// sensible Retry-After.
	untilLimited := func(t *testing.T, max int, request func(i int) secResult) int {
		t.Helper()
		for i := 0; i < max; i++ {
			r := request(i)
			if r.Status != http.StatusTooManyRequests {
				if r.Status >= 500 {
					t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
				}
				continue
			}
			if i == 0 {
				t.Fatalf("the first request was refused: %s", r.Body)
			}
			if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
				t.Errorf("429 with Retry-After %q; want whole seconds, at least 1", r.Header.Get("Retry-After"))
			}
			if r.Err.Error.Code != shared.CodeRateLimited {
				t.Errorf("429 with code %q; want %s", r.Err.Error.Code, shared.CodeRateLimited)
			}
			return i
		}
		t.Fatalf("no 429 in %d requests", max)
		return 0
	}
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("login begin is throttled per account, whatever the address", func(t *testing.T) {
				s := newSecServer(t, b.Open(t), secOptions{trusted: []string{loopback}})
				signUp(t, client.NewHTTP(s.URL, newJarClient()), passkeytest.New(s.URL, "localhost"), "alice", "alice@example.com")
				n := untilLimited(t, 50, func(i int) secResult {
					// One account, in any case.
					name := []string{"alice", "ALICE", "Alice"}[i%3]
					return secDo(t, nil, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: name}, from(fmt.Sprintf("198.51.100.%d", i+1)))
				})
				t.Logf("let through %d logins of one account from as many addresses", n)
			})

			paths := []struct {
				name, path string
				body       func(i int) any
				max        int
			}{
				{"login begin naming a different account each time", shared.APILoginBegin,
					func(i int) any { return shared.LoginBeginRequest{UsernameOrEmail: fmt.Sprintf("nobody%03d", i)} }, 300},
				{"discoverable login begin", shared.APILoginBegin,
					func(int) any { return shared.LoginBeginRequest{} }, 300},
				{"sign-up begin for a different account each time", shared.APISignupBegin,
					func(i int) any {
						return shared.SignupBeginRequest{Username: fmt.Sprintf("user%03d", i), Email: fmt.Sprintf("user%03d@example.com", i)}
					}, 100},
				{"email link for a different account each time", shared.APILoginEmail,
					func(i int) any { return shared.EmailLoginRequest{UsernameOrEmail: fmt.Sprintf("nobody%03d", i)} }, 50},
			}
			for _, p := range paths {
				t.Run(p.name+" is throttled per address", func(t *testing.T) {
					s := newSecServer(t, b.Open(t), secOptions{trusted: []string{loopback}})
					untilLimited(t, p.max, func(i int) secResult {
						return secDo(t, nil, "POST", s.URL+p.path, p.body(i), from("203.0.113.9"))
					})
					// Another address is not held back by the first one's limit.
					if r := secDo(t, nil, "POST", s.URL+p.path, p.body(p.max+1), from("203.0.113.10")); r.Status == http.StatusTooManyRequests {
						t.Errorf("another address was refused too: %s", r.Body)
					}
				})
			}

			t.Run("behind trusted proxies the right-most untrusted X-Forwarded-For hop is charged", func(t *testing.T) {
				s := newSecServer(t, b.Open(t), secOptions{trusted: []string{loopback, "10.0.0.0/8"}})
				// The client prepends whatever it likes; its proxy appends
				// the address it saw, and an inner proxy its own.
				untilLimited(t, 300, func(i int) secResult {
					xff := fmt.Sprintf("100.64.%d.%d, 192.0.2.50, 10.0.0.7", i/250, i%250+1)
					return secDo(t, nil, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: fmt.Sprintf("nobody%03d", i)}, from(xff))
				})
				if r := secDo(t, nil, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: "someone"}, from("192.0.2.50, 192.0.2.51, 10.0.0.7")); r.Status == http.StatusTooManyRequests {
					t.Errorf("the next client behind the same proxies was refused: %s", r.Body)
				}
			})

			t.Run("without trusted proxies X-Forwarded-For is ignored and the peer is charged", func(t *testing.T) {
				s := newSecServer(t, b.Open(t), secOptions{})
				untilLimited(t, 300, func(i int) secResult {
					return secDo(t, nil, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{UsernameOrEmail: fmt.Sprintf("nobody%03d", i)}, from(fmt.Sprintf("198.51.100.%d", i%250+1)))
				})
			})
		})
	}
}

// With WEBAUTHN_USER_VERIFICATION=required every ceremony demands the UV
// flag, not only sign-up and named login: a discoverable login or a new
// passkey without it is refused and changes nothing.
//
// Proven by making the discoverable login's and the add-passkey ceremony's
// session data ask only "preferred" before verification: both were
// accepted, and no other test failed.
func TestUserVerificationEverywhere(t *testing.T) {
	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := newSecServer(t, b.Open(t), secOptions{})
			ctx := context.Background()
			alice := newJarClient()
			laptop := passkeytest.New(s.URL, "localhost")
			signUp(t, client.NewHTTP(s.URL, alice), laptop, "alice", "alice@example.com")
			aliceID := secUserID(t, s, "alice")

			t.Run("a discoverable login without user verification", func(t *testing.T) {
				hc := newJarClient()
				begin := secCeremony(t, secDo(t, hc, "POST", s.URL+shared.APILoginBegin, shared.LoginBeginRequest{}, nil))
				if uv := secOptionsOf(t, begin.Options)["userVerification"]; uv != "required" {
					t.Errorf("request options ask userVerification %v, want required", uv)
				}
				before, sessions := secPasskeys(t, s, aliceID), secSessionCount(t, s, aliceID)
				laptop.Set(passkeytest.Options{UserNotVerified: true})
				cred, err := laptop.Login(begin.Options)
				laptop.Set(passkeytest.Options{})
				if err != nil {
					t.Fatal(err)
				}
				r := secDo(t, hc, "POST", s.URL+shared.APILoginFinish, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, nil)
				if r.Status != http.StatusUnauthorized || r.Err.Error.Code != shared.CodeCredentialRejected {
					t.Errorf("got %d %s; want 401 %s", r.Status, r.Body, shared.CodeCredentialRejected)
				}
				after := secPasskeys(t, s, aliceID)
				if after[0].SignCount != before[0].SignCount || !after[0].LastUsedAt.Equal(before[0].LastUsedAt) {
					t.Errorf("the refused login recorded the passkey's use: sign count %d -> %d, last used %v -> %v",
						before[0].SignCount, after[0].SignCount, before[0].LastUsedAt, after[0].LastUsedAt)
				}
				if secCookie(r, "latchkey_session") != "" || secSessionCount(t, s, aliceID) != sessions {
					t.Error("the refused login opened a session")
				}
				if r := secDo(t, hc, "GET", s.URL+shared.APIMe, nil, nil); r.Status != http.StatusUnauthorized {
					t.Errorf("/api/me after the refused login: %d", r.Status)
				}
				// Control: with user verification the same login succeeds.
				login(t, client.NewHTTP(s.URL, hc), laptop, "")
			})

			t.Run("adding a passkey without user verification", func(t *testing.T) {
				login(t, client.NewHTTP(s.URL, alice), laptop, "alice") // within the re-authentication window
				before := len(secPasskeys(t, s, aliceID))
				begin := secCeremony(t, secDo(t, alice, "POST", s.URL+shared.APIPasskeysBegin, struct{}{}, nil))
				sel, _ := secOptionsOf(t, begin.Options)["authenticatorSelection"].(map[string]any)
				if sel["userVerification"] != "required" {
					t.Errorf("creation options ask userVerification %v, want required", sel["userVerification"])
				}
				phone := passkeytest.New(s.URL, "localhost")
				phone.Set(passkeytest.Options{UserNotVerified: true})
				cred, err := phone.Register(begin.Options)
				if err != nil {
					t.Fatal(err)
				}
				r := secDo(t, alice, "POST", s.URL+shared.APIPasskeysFinish, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: "Phone"}, nil)
				if r.Status != http.StatusBadRequest || r.Err.Error.Code != shared.CodeCredentialRejected {
					t.Errorf("got %d %s; want 400 %s", r.Status, r.Body, shared.CodeCredentialRejected)
				}
				if after := len(secPasskeys(t, s, aliceID)); after != before {
					t.Errorf("passkeys: %d -> %d", before, after)
				}
				if _, err := s.Users.PasskeyByCredentialID(ctx, phone.Credentials()[0]); err == nil {
					t.Error("the unverified passkey was stored")
				}
				// Control: with user verification the same device is added.
				tablet := passkeytest.New(s.URL, "localhost")
				begin = secCeremony(t, secDo(t, alice, "POST", s.URL+shared.APIPasskeysBegin, struct{}{}, nil))
				cred, _ = tablet.Register(begin.Options)
				if r := secDo(t, alice, "POST", s.URL+shared.APIPasskeysFinish, shared.PasskeyFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: "Tablet"}, nil); r.Status != http.StatusCreated {
					t.Errorf("control: %d %s", r.Status, r.Body)
				}
			})
		})
	}
}
