package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// secretRecorder is an http.RoundTripper that notes every secret that
// crosses it: Cookie and Set-Cookie headers and the cookie values in them,
// and the ceremony ids, challenges and login-link tokens in JSON bodies.
type secretRecorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	secrets map[string]string // value -> what it is
}

// The remembered-user cookie holds the user's opaque uid, which the log
// names users by on purpose; it is not a secret (the Cookie header holding
// it still is).
const rememberedUserCookie = "latchkey_user"

func (r *secretRecorder) add(value, kind string) {
	if len(value) < 8 {
		return // an empty or cleared value says nothing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]string{}
	}
	if _, ok := r.secrets[value]; !ok {
		r.secrets[value] = kind
	}
}

func (r *secretRecorder) addCookie(c *http.Cookie) {
	switch {
	case strings.HasSuffix(c.Name, rememberedUserCookie):
	case strings.HasSuffix(c.Name, "latchkey_session"):
		r.add(c.Value, "session token")
	default:
		r.add(c.Value, "cookie value "+c.Name)
	}
}

func (r *secretRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, v := range req.Header.Values("Cookie") {
		r.add(v, "Cookie header")
	}
	for _, c := range req.Cookies() {
		r.addCookie(c)
	}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		r.scan(b)
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	for _, v := range resp.Header.Values("Set-Cookie") {
		r.add(v, "Set-Cookie header")
	}
	for _, c := range resp.Cookies() {
		r.addCookie(c)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.scan(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// scan notes the ceremony ids, challenges and tokens anywhere in a JSON
// body. A challenge is noted in the other encodings a careless log line
// might use too.
func (r *secretRecorder) scan(body []byte) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok {
					switch k {
					case "ceremony":
						r.add(s, "ceremony id")
					case "token":
						r.add(s, "login-link token")
					case "challenge":
						r.add(s, "challenge")
						if raw, err := base64.RawURLEncoding.DecodeString(s); err == nil {
							r.add(base64.StdEncoding.EncodeToString(raw), "challenge (standard base64)")
							r.add(base64.RawStdEncoding.EncodeToString(raw), "challenge (standard base64)")
							r.add(hex.EncodeToString(raw), "challenge (hex)")
						}
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}

var linkTokenRE = regexp.MustCompile(`#token=([A-Za-z0-9_%-]+)`)

// No secret seen in a whole run of every flow, on either deployment, turns
// up in the server's JSON log at debug level: not the session tokens, the
// challenges, the ceremony ids, the login-link tokens, nor any Cookie or
// Set-Cookie value. Login links are mailed through a real SMTP server, as
// in production (without SMTP_URL the development mailer logs them on
// purpose).
//
// Proven by adding, one at a time, the session token and the challenge to
// the "logged in" line, the Cookie and the Set-Cookie headers to the access
// log, the ceremony id to a debug line, and the mail's text to "login link
// sent": each leak was reported by kind.
func TestNoSecretsInLogs(t *testing.T) {
	for _, b := range teststores.All {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s := newSecServer(t, b.Open(t), secOptions{})
			ctx := context.Background()
			rec := &secretRecorder{next: http.DefaultTransport}
			newClient := func() (*client.Client, *http.Client) {
				jar, _ := cookiejar.New(nil)
				hc := &http.Client{Jar: jar, Transport: rec}
				return client.NewHTTP(s.URL, hc), hc
			}
			must := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}

			// Sign-up, then look around and log out.
			laptop := passkeytest.New(s.URL, "localhost")
			alice, aliceHC := newClient()
			signUp(t, client.NewHTTP(s.URL, aliceHC), laptop, "alice", "alice@example.com")
			_, err := alice.Me(ctx)
			must("me", err)
			_, err = alice.Passkeys(ctx)
			must("passkeys", err)
			_, err = alice.Sessions(ctx)
			must("sessions", err)
			must("logout", alice.Logout(ctx))

			// Named and discoverable logins, and the remembered user.
			login(t, client.NewHTTP(s.URL, aliceHC), laptop, "alice")
			_, err = alice.Remembered(ctx)
			must("remembered", err)
			phone, phoneHC := newClient()
			login(t, client.NewHTTP(s.URL, phoneHC), laptop, "")

			// Refused logins, whose reasons are logged: a tampered
			// signature, and an answer to another ceremony's challenge (the
			// library puts both challenges into that error).
			mallory, _ := newClient()
			begin, err := mallory.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
			must("login begin", err)
			cred, _ := laptop.Login(begin.Options)
			_, err = mallory.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: passkeytest.Tamper(cred, "signature")})
			if client.Code(err) != shared.CodeCredentialRejected {
				t.Fatalf("tampered login: %v", err)
			}
			first, err := mallory.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
			must("login begin", err)
			second, err := mallory.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
			must("login begin", err)
			cred, _ = laptop.Login(first.Options)
			_, err = mallory.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: second.Ceremony, Credential: cred})
			if client.Code(err) != shared.CodeCredentialRejected {
				t.Fatalf("login with another ceremony's challenge: %v", err)
			}
			// A sign count that went backwards (a cloned authenticator).
			id := laptop.Credentials()[0]
			laptop.SetCounter(id, 1)
			begin, err = mallory.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "alice"})
			must("login begin", err)
			cred, _ = laptop.Login(begin.Options)
			if _, err = mallory.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}); client.Code(err) != shared.CodeCredentialRejected {
				t.Fatalf("login with a sign count gone backwards: %v", err)
			}
			laptop.SetCounter(id, 1000)
			// A replayed ceremony and a made-up link token.
			_, err = mallory.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: second.Ceremony, Credential: cred})
			if client.Code(err) != shared.CodeCeremonyInvalid {
				t.Fatalf("replayed ceremony: %v", err)
			}
			_, err = mallory.EmailVerify(ctx, shared.EmailVerifyRequest{Token: "made-up-token-made-up-token-made-up"})
			if client.Code(err) != shared.CodeTokenInvalid {
				t.Fatalf("made-up link token: %v", err)
			}

			// An email login link, for a known and an unknown account.
			s.Auth.WaitForMail()
			mailed := len(s.Box.Messages())
			kiosk, _ := newClient()
			must("email link", kiosk.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "alice@example.com"}))
			must("email link", kiosk.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "nobody@example.com"}))
			s.Auth.WaitForMail()
			msgs := s.Box.Messages()
			if len(msgs) == mailed {
				t.Fatal("no login link was mailed")
			}
			var token string
			for _, m := range msgs {
				for _, match := range linkTokenRE.FindAllStringSubmatch(m.Text+"\n"+m.HTML, -1) {
					rec.add(match[1], "login-link token")
					if len(m.To) == 1 && m.To[0] == "alice@example.com" {
						token = match[1] // the newest link to alice
					}
				}
			}
			_, err = kiosk.EmailLinkAccount(ctx, shared.EmailVerifyRequest{Token: token})
			must("read the link's account", err)
			_, err = kiosk.EmailVerify(ctx, shared.EmailVerifyRequest{Token: token})
			must("email verify", err)
			_, err = kiosk.Me(ctx)
			must("me by email link", err)

			// Add, rename and delete a passkey, from a fresh passkey login.
			login(t, client.NewHTTP(s.URL, aliceHC), laptop, "alice")
			tablet := passkeytest.New(s.URL, "localhost")
			add, err := alice.PasskeyBegin(ctx)
			must("passkey begin", err)
			cred, err = tablet.Register(add.Options)
			must("register", err)
			added, err := alice.PasskeyFinish(ctx, shared.PasskeyFinishRequest{Ceremony: add.Ceremony, Credential: cred, PasskeyName: "Tablet"})
			must("passkey finish", err)
			_, err = alice.RenamePasskey(ctx, added.Passkey.ID, "Old tablet")
			must("rename", err)
			must("delete", alice.DeletePasskey(ctx, added.Passkey.ID))

			// Sessions: list them, end the phone's, log out everywhere, and
			// log out where that already happened.
			list, err := alice.Sessions(ctx)
			must("sessions", err)
			ended := false
			for _, sess := range list.Sessions {
				if !sess.Current && !ended {
					must("end session", alice.EndSession(ctx, sess.ID))
					ended = true
				}
			}
			if !ended {
				t.Fatalf("no other session to end among %+v", list.Sessions)
			}
			must("logout everywhere", alice.LogoutEverywhere(ctx))
			for _, c := range []*client.Client{alice, phone, kiosk} {
				must("logout", c.Logout(ctx))
			}
			// A dead session cookie, replayed.
			if _, err := alice.Me(ctx); client.Code(err) != shared.CodeUnauthenticated {
				t.Fatalf("me after logout: %v", err)
			}
			s.Auth.WaitForMail()

			log := s.Log.String()
			// The log was captured, from the edge and from the domain.
			for _, want := range []string{`"path":"` + shared.APILoginFinish + `"`, `"path":"` + shared.APILoginEmailVerify + `"`} {
				if !strings.Contains(log, want) {
					t.Fatalf("the captured log has no %s; is it wired?\n%s", want, log)
				}
			}
			u, _ := s.Users.UserByUsername(ctx, "alice")
			if !strings.Contains(log, u.UID) {
				t.Fatalf("the captured log never names alice's uid; is the domain's log wired?\n%s", log)
			}

			rec.mu.Lock()
			defer rec.mu.Unlock()
			kinds := map[string]int{}
			var leaks []string
			for value, kind := range rec.secrets {
				kinds[strings.Fields(kind)[0]]++
				if strings.Contains(log, value) || strings.Contains(log, jsonEscaped(value)) {
					leaks = append(leaks, kind+" "+value)
				}
			}
			sort.Strings(leaks)
			for _, l := range leaks {
				t.Errorf("the log holds a %s", l)
			}
			for _, k := range []string{"session", "Cookie", "Set-Cookie", "ceremony", "challenge", "login-link"} {
				if kinds[k] == 0 {
					t.Errorf("the run recorded no %s secret; the test would not see it leak", k)
				}
			}
			t.Logf("checked %d secrets (%v) against %d bytes of log", len(rec.secrets), kinds, len(log))
		})
	}
}

// jsonEscaped is s as it appears inside a JSON string (HTML characters
// escaped, as encoding/json does).
func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
