package smtptest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const raw = "From: Sender <from@example.com>\r\n" +
	"To: to@example.org\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Latchkey\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"aGVsbG8K\r\n" +
	"d29ybGQ=\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<p>a=3Db and a very long line that was wrapped by the encoder with a soft =\r\n" +
	"break</p>\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"an attachment-like second text part, ignored\r\n" +
	"--outer--\r\n"

// sendMail sends in clear, which go-smtp's own SendMail refuses to do.
func sendMail(addr string, a sasl.Client, from string, to []string, r io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if a != nil {
		if err := c.Auth(a); err != nil {
			return err
		}
	}
	if err := c.SendMail(from, to, r); err != nil {
		return err
	}
	return c.Quit()
}

func TestParsesNestedMultipart(t *testing.T) {
	s := Start(t)
	if err := sendMail(s.Addr(), nil, "from@example.com", []string{"to@example.org", "cc@example.net"}, strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "from@example.com" || len(m.To) != 2 || m.To[0] != "to@example.org" || m.To[1] != "cc@example.net" {
		t.Errorf("envelope = %q -> %q", m.From, m.To)
	}
	if m.Subject != "Grüße aus Latchkey" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.Text != "hello\nworld" {
		t.Errorf("Text = %q", m.Text)
	}
	if want := "<p>a=b and a very long line that was wrapped by the encoder with a soft break</p>"; m.HTML != want {
		t.Errorf("HTML = %q, want %q", m.HTML, want)
	}
	if m.Header.Get("To") != "to@example.org" || m.User != "" || string(m.Raw) != raw {
		t.Errorf("header, user or raw wrong: %+v", m)
	}
}

func TestAuth(t *testing.T) {
	s := StartWithAuth(t, "mailer", "pw")
	body := "Subject: x\r\n\r\nhi\r\n"

	err := sendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, strings.NewReader(body))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 502 {
		t.Errorf("without AUTH: %v, want 502", err)
	}
	err = sendMail(s.Addr(), sasl.NewPlainClient("", "mailer", "nope"), "a@example.com", []string{"b@example.com"}, strings.NewReader(body))
	if !errors.As(err, &se) || se.Code != 535 {
		t.Errorf("wrong password: %v, want 535", err)
	}
	if err := sendMail(s.Addr(), sasl.NewPlainClient("", "mailer", "pw"), "a@example.com", []string{"b@example.com"}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || m[0].User != "mailer" || m[0].Text != "hi\n" {
		t.Errorf("messages = %+v", m)
	}
	if got := s.URL(); got != "smtp://mailer:pw@"+s.Addr()+"?tls=none" {
		t.Errorf("URL = %q", got)
	}
}

func TestWait(t *testing.T) {
	s := Start(t)
	send := func(subject string) {
		if err := sendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, strings.NewReader("Subject: "+subject+"\r\n\r\nx\r\n")); err != nil {
			t.Error(err)
		}
	}
	send("first")
	go func() {
		time.Sleep(20 * time.Millisecond)
		send("second")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := s.Wait(ctx, func(m Message) bool { return m.Subject == "second" })
	if err != nil || m.Subject != "second" {
		t.Fatalf("Wait = %q, %v", m.Subject, err)
	}
	if m, err := s.Wait(ctx, nil); err != nil || m.Subject != "first" {
		t.Errorf("Wait(nil) = %q, %v; want the earliest message", m.Subject, err)
	}

	short, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(short, func(Message) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait without a match = %v", err)
	}
}

func TestURLForTLS(t *testing.T) {
	if u := StartWith(t, Options{TLS: true}).URL(); !strings.HasPrefix(u, "smtp://127.0.0.1:") || strings.Contains(u, "?") {
		t.Errorf("STARTTLS URL = %q", u)
	}
	s := StartWith(t, Options{ImplicitTLS: true, User: "u", Password: "p"})
	if u := s.URL(); u != "smtps://u:p@"+s.Addr() {
		t.Errorf("implicit TLS URL = %q", u)
	}
	if s.CertPool() == nil {
		t.Error("no CertPool with TLS")
	}
}
