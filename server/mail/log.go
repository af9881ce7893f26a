package mail

import (
	"context"
	"log/slog"

	"github.com/latchkey/latchkey/server/auth"
)

// Log is the Mailer of development, when there is no SMTP_URL: it writes each
// message to the log instead of sending it. The text body holds the login
// link, so this must never be used where the log is not the user's own.
type Log struct {
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// Send logs m at Info level and always succeeds.
func (l Log) Send(ctx context.Context, m auth.Message) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "email not sent (no SMTP_URL): development mode",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
