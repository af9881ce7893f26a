// Package cancelctx is context.WithCancel and context.WithTimeout for the
// wasm, in a fraction of the code.
//
// The standard library's versions link all of the context package's
// machinery into app.wasm: propagation through parents of any kind,
// AfterFunc, causes, and String methods that format durations, some 8 KB of
// the brotli-compressed file (its budget is in app/cmd/wasm). The pages need
// less: a context that ends when the page leaves or when a request takes
// too long. These contexts keep the context.Context contract: Done closes
// once; Err is context.Canceled, context.DeadlineExceeded or the parent's
// error; Deadline is the earlier of the parent's and the timeout; Value is
// the parent's.
package cancelctx

import (
	"context"
	"sync"
	"time"
)

type ctx struct {
	parent   context.Context
	deadline time.Time // zero for none
	done     chan struct{}

	mu  sync.Mutex
	err error
}

func (c *ctx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }
func (c *ctx) Done() <-chan struct{}       { return c.done }
func (c *ctx) Value(key any) any           { return c.parent.Value(key) }

func (c *ctx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	return err
}

// end ends c with err, the first time only.
func (c *ctx) end(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
	c.mu.Unlock()
}

// WithCancel is context.WithCancel: the context ends when cancel is called
// or when parent ends, whichever comes first.
func WithCancel(parent context.Context) (context.Context, context.CancelFunc) {
	return start(parent, time.Time{})
}

// WithTimeout is context.WithTimeout: the context also ends, with
// context.DeadlineExceeded, once d has passed.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := start(parent, time.Now().Add(d))
	if d <= 0 {
		c.end(context.DeadlineExceeded)
		return c, cancel
	}
	t := time.AfterFunc(d, func() { c.end(context.DeadlineExceeded) })
	return c, func() {
		t.Stop()
		cancel()
	}
}

// start makes a context under parent that ends by deadline at the latest
// (zero for none; the caller arranges that) and returns it with its cancel.
func start(parent context.Context, deadline time.Time) (*ctx, context.CancelFunc) {
	c := &ctx{parent: parent, deadline: deadline, done: make(chan struct{})}
	if pd, ok := parent.Deadline(); ok && (deadline.IsZero() || pd.Before(deadline)) {
		c.deadline = pd
	}
	if pdone := parent.Done(); pdone != nil {
		select {
		case <-pdone:
			c.end(parent.Err())
		default:
			go func() {
				select {
				case <-pdone:
					c.end(parent.Err())
				case <-c.done:
				}
			}()
		}
	}
	return c, func() { c.end(context.Canceled) }
}
