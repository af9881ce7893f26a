package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// Each kind of failure unreachable knows, wrapped as the driver and Bun
// wrap them; and what must stay an ordinary error.
func TestUnreachableSortsFailures(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("pgdriver: %w", err) }
	opErr := func(op string, errno syscall.Errno) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
	}
	for _, err := range []error{
		opErr("dial", syscall.ECONNREFUSED), opErr("read", syscall.ECONNRESET), opErr("write", syscall.EPIPE),
		&net.DNSError{Err: "no such host", Name: "db"},
		io.EOF, io.ErrUnexpectedEOF, net.ErrClosed, driver.ErrBadConn, sql.ErrConnDone,
		context.DeadlineExceeded, errors.New("sql: database is closed"),
	} {
		if !unreachable(wrap(err)) {
			t.Errorf("unreachable(%v) = false, want true", err)
		}
	}
	for _, err := range []error{sql.ErrNoRows, context.Canceled, errors.New(`ERROR: syntax error at or near "SELEC" (SQLSTATE=42601)`)} {
		if unreachable(wrap(err)) {
			t.Errorf("unreachable(%v) = true, want false", err)
		}
	}
}
