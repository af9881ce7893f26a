// Package mail sends the server's email: through an SMTP server given as
// SMTP_URL, or, in development, into the log.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/urlsecret"
)

var (
	_ auth.Mailer = (*SMTP)(nil)
	_ auth.Mailer = Log{}
)

// DefaultTimeout is the time go-mail allows for connecting and logging in,
// and again for handing over the message, when SMTP_URL sets no timeout.
const DefaultTimeout = 10 * time.Second

// authOrder is go-mail's auto-discovery ranking. It is given explicitly
// because auto-discovery never considers PLAIN or LOGIN without TLS, not even
// towards a relay on localhost, while go-mail's PLAIN and LOGIN themselves
// refuse to send a password in clear to any other host.
var authOrder = []gomail.SMTPAuthType{
	gomail.SMTPAuthSCRAMSHA256PLUS, gomail.SMTPAuthSCRAMSHA256,
	gomail.SMTPAuthSCRAMSHA1PLUS, gomail.SMTPAuthSCRAMSHA1,
	gomail.SMTPAuthNTLM, gomail.SMTPAuthCramMD5,
	gomail.SMTPAuthPlain, gomail.SMTPAuthLogin,
}

// SMTP delivers messages to one SMTP server, a connection per message.
type SMTP struct {
	host        string
	port        int
	implicitTLS bool
	policy      gomail.TLSPolicy
	user, pass  string
	timeout     time.Duration
	from        *netmail.Address
	fromDomain  string
	// rootCAs nil means the system's roots; tests trust their own server.
	rootCAs *x509.CertPool
}

// NewSMTP checks smtpURL and from. The URL is one of
//
//	smtp://[user:pass@]host[:587]                     STARTTLS required
//	smtp://[user:pass@]host[:587]?tls=opportunistic   STARTTLS when offered
//	smtp://[user:pass@]host[:587]?tls=none            no TLS (a relay on localhost)
//	smtps://[user:pass@]host[:465]                    TLS from the start
//
// with an optional timeout=10s. from is the sender of every message, in the
// envelope and the From header.
func NewSMTP(smtpURL, from string) (*SMTP, error) {
	u, err := url.Parse(smtpURL)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP_URL is not a URL (%v)", urlsecret.ParseError(err))
	}
	s := &SMTP{host: u.Hostname(), timeout: DefaultTimeout}
	switch u.Scheme {
	case "smtp":
		s.port, s.policy = 587, gomail.TLSMandatory
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return nil, fmt.Errorf("mail: SMTP_URL must be smtp://… or smtps://…, got scheme %q", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("mail: SMTP_URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, errors.New("mail: SMTP_URL must not have a path or fragment")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP_URL has port %q; it must be 1 to 65535", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" && s.pass != "" {
			return nil, errors.New("mail: SMTP_URL has a password but no user name")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("mail: SMTP_URL has a malformed query")
	}
	for key, values := range q {
		if len(values) != 1 {
			return nil, fmt.Errorf("mail: SMTP_URL gives %s more than once", key)
		}
		v := values[0]
		switch key {
		case "tls":
			if s.implicitTLS {
				return nil, errors.New("mail: SMTP_URL: tls= applies to smtp:// only; smtps:// is always TLS")
			}
			switch v {
			case "required":
				s.policy = gomail.TLSMandatory
			case "opportunistic":
				s.policy = gomail.TLSOpportunistic
			case "none":
				s.policy = gomail.NoTLS
			default:
				return nil, fmt.Errorf("mail: SMTP_URL tls must be required, opportunistic or none, got %q", v)
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("mail: SMTP_URL timeout must be a positive duration such as 10s, got %q", v)
			}
			s.timeout = d
		default:
			return nil, fmt.Errorf("mail: SMTP_URL has unknown parameter %q (known: tls, timeout)", key)
		}
	}

	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: MAIL_FROM %q is not an email address (%v)", from, err)
	}
	s.from = addr
	s.fromDomain = addr.Address[strings.LastIndex(addr.Address, "@")+1:]
	return s, nil
}

// Send delivers m as multipart/alternative, plain text first so that
// clients without HTML show the text. Cancelling ctx aborts the delivery at
// whatever step it is in.
func (s *SMTP) Send(ctx context.Context, m auth.Message) error {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return s.sendError(m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	// go-mail would use the machine's host name, which in a container is a
	// random id that spam filters dislike; the sender's domain is stable.
	msg.SetMessageIDWithValue(randomHex(16) + "@" + s.fromDomain)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)

	// go-mail honours ctx only while dialling and then relies on its own
	// deadlines, so the connection is kept here to be closed when ctx ends.
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	dial := func(dctx context.Context, _, _ string) (net.Conn, error) {
		c, err := s.dial(dctx)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if err := ctx.Err(); err != nil {
			c.Close()
			return nil, err
		}
		conn = c
		return c, nil
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	})
	defer stop()

	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tlsConfig()),
		gomail.WithTLSPolicy(s.policy),
	}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	if s.user != "" {
		opts = append(opts,
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass),
			gomail.WithOpportunisticSMTPAuth(authOrder...),
		)
	}
	// A client per message: go-mail's Client changes its own auth settings
	// while authenticating, so sharing one between goroutines would race.
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return s.sendError(m.To, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return s.sendError(m.To, err)
	}
	return nil
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	d := &net.Dialer{}
	if s.implicitTLS {
		return (&tls.Dialer{NetDialer: d, Config: s.tlsConfig()}).DialContext(ctx, "tcp", addr)
	}
	return d.DialContext(ctx, "tcp", addr)
}

func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}
}

// sendError names only the recipient's domain: the address is personal data
// and errors end up in logs. go-mail's and the server's messages may repeat
// it, so it is blanked out of them too, as is the password.
func (s *SMTP) sendError(to string, err error) error {
	domain := "(invalid address)"
	if a, perr := netmail.ParseAddress(to); perr == nil {
		to = a.Address
		domain = a.Address[strings.LastIndex(a.Address, "@")+1:]
	}
	text := err.Error()
	if to != "" {
		text = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(to)).ReplaceAllLiteralString(text, "…@"+domain)
	}
	text = urlsecret.Scrub(text, []string{s.pass})
	return &sendError{msg: "mail: send to " + domain + ": " + text, err: err}
}

type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
