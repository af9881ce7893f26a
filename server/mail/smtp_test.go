package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/smtptest"
)

const from = "Latchkey <login@latchkey.example>"

// message exercises the encoders: non-ASCII, a line longer than quoted-
// printable allows, '=' and a URL query, several lines.
var message = auth.Message{
	To:      "Ada.Lovelace@Example.org",
	Subject: "Ihr Anmeldelink – Latchkey",
	Text: "Hallo Ada,\n\nöffnen Sie diesen Link innerhalb von 15 Minuten, um sich anzumelden, er funktioniert genau einmal:\n" +
		"http://localhost:8080/login/email?token=abc=def&x=1\n\nGrüße\n",
	HTML: `<p>Hallo Ada,</p><p><a href="http://localhost:8080/login/email?token=abc=def&amp;x=1">Anmelden</a> – ` +
		`öffnen Sie diesen Link innerhalb von 15 Minuten, er funktioniert genau einmal.</p>`,
}

func newSMTP(t *testing.T, smtpURL string) *SMTP {
	t.Helper()
	s, err := NewSMTP(smtpURL, from)
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", smtpURL, err)
	}
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return c
}

func only(t *testing.T, srv *smtptest.Server) smtptest.Message {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func TestSendPlain(t *testing.T) {
	srv := smtptest.Start(t)
	if err := newSMTP(t, srv.URL()).Send(ctx(t), message); err != nil {
		t.Fatal(err)
	}
	m := only(t, srv)

	if m.From != "login@latchkey.example" || len(m.To) != 1 || m.To[0] != message.To {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if a, err := netmail.ParseAddress(m.Header.Get("From")); err != nil || a.Name != "Latchkey" || a.Address != "login@latchkey.example" {
		t.Errorf("From header %q: %v", m.Header.Get("From"), err)
	}
	if a, err := netmail.ParseAddress(m.Header.Get("To")); err != nil || a.Address != message.To {
		t.Errorf("To header %q: %v", m.Header.Get("To"), err)
	}
	if m.Subject != message.Subject {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.Text != message.Text {
		t.Errorf("text part\n got %q\nwant %q", m.Text, message.Text)
	}
	if m.HTML != message.HTML {
		t.Errorf("HTML part\n got %q\nwant %q", m.HTML, message.HTML)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q", ct)
	}
	if p, h := bytes.Index(m.Raw, []byte("text/plain")), bytes.Index(m.Raw, []byte("text/html")); p < 0 || h < p {
		t.Error("text/plain must come before text/html, so that it is the fallback")
	}
	if d, err := m.Header.Date(); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("Date = %q (%v)", m.Header.Get("Date"), err)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@latchkey.example>") {
		t.Errorf("Message-ID = %q", id)
	}
	if ua := m.Header.Get("User-Agent") + m.Header.Get("X-Mailer"); ua != "" {
		t.Errorf("advertises its mailer: %q", ua)
	}
	if m.User != "" {
		t.Errorf("logged in as %q without credentials", m.User)
	}
}

func TestSendWithAuth(t *testing.T) {
	srv := smtptest.StartWithAuth(t, "mailer", "correct horse")
	if err := newSMTP(t, srv.URL()).Send(ctx(t), message); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.User != "mailer" {
		t.Errorf("AUTH user = %q", m.User)
	}

	const wrong = "Wr0ng-Passw0rd"
	bad := newSMTP(t, "smtp://mailer:"+wrong+"@"+srv.Addr()+"?tls=none")
	err := bad.Send(ctx(t), message)
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	checkClean(t, err.Error(), wrong)
	if !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("error does not say that AUTH failed: %v", err)
	}
	if len(srv.Messages()) != 1 {
		t.Error("a message got through with the wrong password")
	}
}

// STARTTLS is required unless the URL says otherwise, so a server that does
// not offer it, or a man in the middle who strips it, gets nothing.
func TestSTARTTLSRequiredByDefault(t *testing.T) {
	srv := smtptest.StartWithAuth(t, "mailer", "secret-pw")
	s := newSMTP(t, "smtp://mailer:secret-pw@"+srv.Addr())
	err := s.Send(ctx(t), message)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want a STARTTLS error", err)
	}
	checkClean(t, err.Error(), "secret-pw")
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages sent in clear", n)
	}
}

func TestSTARTTLS(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{TLS: true, User: "mailer", Password: "pw"})

	s := newSMTP(t, srv.URL())
	if err := s.Send(ctx(t), message); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send to an untrusted certificate = %v, want a certificate error", err)
	}

	s.rootCAs = srv.CertPool()
	if err := s.Send(ctx(t), message); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.User != "mailer" || m.Text != message.Text {
		t.Errorf("received %+v", m)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{ImplicitTLS: true, User: "mailer", Password: "pw"})
	s := newSMTP(t, srv.URL())
	s.rootCAs = srv.CertPool()
	if err := s.Send(ctx(t), message); err != nil {
		t.Fatal(err)
	}
	if m := only(t, srv); m.User != "mailer" || m.HTML != message.HTML {
		t.Errorf("received %+v", m)
	}
}

func TestOpportunisticTLS(t *testing.T) {
	plain := smtptest.Start(t)
	if err := newSMTP(t, "smtp://"+plain.Addr()+"?tls=opportunistic").Send(ctx(t), message); err != nil {
		t.Fatalf("without STARTTLS on offer: %v", err)
	}
	only(t, plain)

	tlsSrv := smtptest.StartWith(t, smtptest.Options{TLS: true})
	s := newSMTP(t, "smtp://"+tlsSrv.Addr()+"?tls=opportunistic")
	s.rootCAs = tlsSrv.CertPool()
	if err := s.Send(ctx(t), message); err != nil {
		t.Fatalf("with STARTTLS on offer: %v", err)
	}
	only(t, tlsSrv)
}

func TestConcurrentSends(t *testing.T) {
	srv := smtptest.StartWithAuth(t, "mailer", "pw")
	s := newSMTP(t, srv.URL())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Send(ctx(t), message); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(srv.Messages()); n != 8 {
		t.Errorf("received %d messages, want 8", n)
	}
}

func TestSendHonoursContext(t *testing.T) {
	// A server that accepts connections and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	s := newSMTP(t, "smtp://"+ln.Addr().String()+"?tls=none&timeout=1m")

	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(c, message)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}

	c, cancel = context.WithCancel(context.Background())
	cancel()
	if err := s.Send(c, message); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v", err)
	}
}

func TestNewSMTP(t *testing.T) {
	for _, tc := range []struct {
		url      string
		port     int
		implicit bool
		timeout  time.Duration
	}{
		{"smtp://mail.example.com", 587, false, DefaultTimeout},
		{"smtp://u:p@mail.example.com:2525?tls=required&timeout=3s", 2525, false, 3 * time.Second},
		{"smtps://mail.example.com", 465, true, DefaultTimeout},
		{"smtps://[::1]:4650/", 4650, true, DefaultTimeout},
	} {
		s, err := NewSMTP(tc.url, "a@example.com")
		if err != nil {
			t.Errorf("NewSMTP(%q): %v", tc.url, err)
			continue
		}
		if s.port != tc.port || s.implicitTLS != tc.implicit || s.timeout != tc.timeout {
			t.Errorf("NewSMTP(%q) = port %d, implicit TLS %v, timeout %v", tc.url, s.port, s.implicitTLS, s.timeout)
		}
	}
}

func TestNewSMTPErrors(t *testing.T) {
	const pw = "hunter2-Secret"
	for _, tc := range []struct{ url, from, want string }{
		{"http://u:" + pw + "@mail.example.com", from, "scheme"},
		{"smtp://u:" + pw + "@mail.example.com:99999", from, "port"},
		{"smtp://u:" + pw + "@mail.example.com:0", from, "port"},
		{"smtp://u:" + pw + "@mail.example.com:abc", from, "port"},
		{"smtp://u:" + pw + "@mail.example.com?foo=1", from, `unknown parameter "foo"`},
		{"smtp://u:" + pw + "@mail.example.com?tls=yes", from, "tls"},
		{"smtp://u:" + pw + "@mail.example.com?tls=none&tls=none", from, "more than once"},
		{"smtp://u:" + pw + "@mail.example.com?timeout=-1s", from, "timeout"},
		{"smtps://u:" + pw + "@mail.example.com?tls=none", from, "smtps"},
		{"smtp://u:" + pw + "@/", from, "no host"},
		{"smtp://u:" + pw + "@mail.example.com/path", from, "path"},
		{"smtp://:" + pw + "@mail.example.com", from, "no user name"},
		{"smtp://u:" + pw + "@mail.example.com\x7f", from, "not a URL"},
		{"smtp://u:" + pw + "@mail.example.com", "not an address", "MAIL_FROM"},
		{"smtp://u:" + pw + "@mail.example.com", "", "MAIL_FROM"},
	} {
		_, err := NewSMTP(tc.url, tc.from)
		if err == nil {
			t.Errorf("NewSMTP(%q, %q) accepted", tc.url, tc.from)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSMTP(%q, %q) = %v, want it to mention %q", tc.url, tc.from, err, tc.want)
		}
		checkClean(t, err.Error(), pw)
	}
}

func TestSendErrorHidesRecipient(t *testing.T) {
	s := &SMTP{pass: "pa55word"}
	inner := errors.New("550 <ada.lovelace@example.org> unknown; affected recipient(s): Ada.Lovelace@Example.org; pa55word")
	err := s.sendError("Ada Lovelace <Ada.Lovelace@Example.org>", inner)
	if !errors.Is(err, inner) {
		t.Error("the cause is not wrapped")
	}
	if !strings.HasPrefix(err.Error(), "mail: send to Example.org: ") {
		t.Errorf("error = %q", err)
	}
	checkClean(t, err.Error(), "pa55word")
	if err := s.sendError("not an address", inner); !strings.Contains(err.Error(), "(invalid address)") {
		t.Errorf("error = %q", err)
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	l := Log{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if err := l.Send(context.Background(), message); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", "development mode", "to=" + message.To, "token=abc=def", "Grüße"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// checkClean fails when an error text would put a secret or a recipient's
// address into the log.
func checkClean(t *testing.T, text, secret string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("error reveals the password: %s", text)
	}
	if strings.Contains(strings.ToLower(text), "ada.lovelace") {
		t.Errorf("error reveals the recipient: %s", text)
	}
}
