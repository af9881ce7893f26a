// Package testclock is a settable clock for tests that need time to pass
// without sleeping: code under test takes its Now method as its clock.
package testclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use (janitors and handlers read it).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
