package redisstore

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Each kind of failure unreachable knows, and what must stay an ordinary
// error (a missing key above all).
func TestUnreachableSortsFailures(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("redis: %w", err) }
	opErr := func(op string, errno syscall.Errno) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
	}
	for _, err := range []error{
		opErr("dial", syscall.ECONNREFUSED), opErr("read", syscall.ECONNRESET), opErr("write", syscall.EPIPE),
		io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
		redis.ErrPoolTimeout, redis.ErrPoolExhausted, redis.ErrClosed, context.DeadlineExceeded,
	} {
		if !unreachable(wrap(err)) {
			t.Errorf("unreachable(%v) = false, want true", err)
		}
	}
	for _, err := range []error{redis.Nil, context.Canceled, redis.ErrCrossSlot, redis.ErrNoScript} {
		if unreachable(wrap(err)) {
			t.Errorf("unreachable(%v) = true, want false", err)
		}
	}
}
