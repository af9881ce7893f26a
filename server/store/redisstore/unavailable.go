package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/latchkey/latchkey/server/auth"
)

// unavailableHook is the one place a Redis that cannot be reached becomes
// auth.StoreUnavailable, so the edge answers 503 with Retry-After rather
// than 500. It sits in the client (New installs it) and so sees every
// command and pipeline the store sends, whichever method sent it.
type unavailableHook struct{}

func (unavailableHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (unavailableHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return asUnavailable(next(ctx, cmd))
	}
}

func (unavailableHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		// A caller may read one command's error rather than the
		// pipeline's; both must say the same.
		for _, cmd := range cmds {
			if e := cmd.Err(); e != nil {
				cmd.SetErr(asUnavailable(e))
			}
		}
		return asUnavailable(err)
	}
}

// asUnavailable wraps err in auth.StoreUnavailable when it says Redis could
// not be reached, and returns it unchanged otherwise (redis.Nil among them).
func asUnavailable(err error) error {
	var ae *auth.Error
	if err == nil || errors.As(err, &ae) || !unreachable(err) {
		return err
	}
	return auth.StoreUnavailable(fmt.Errorf("redis: %w", err))
}

// unreachable reports whether err says Redis could not be reached or could
// not serve just now, rather than that it refused the command: a retry a
// moment later may succeed, since the client dials again by itself. A
// cancelled context is not one (the client went away); a deadline is.
func unreachable(err error) bool {
	var netErr net.Error
	switch {
	// net.Error: *net.OpError (refused, reset, broken pipe, i/o timeout), a
	// DNS failure, net.ErrClosed, and context.DeadlineExceeded, all alike.
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), // the server hung up mid-answer
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, redis.ErrClosed): // only while the server shuts down
		return true
	}
	// Replies of a Redis that is up but cannot serve yet: loading its
	// data after a restart, a replica during failover, a cluster healing.
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsMaxClientsError(err)
}
