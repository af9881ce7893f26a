package cancelctx

import (
	"context"
	"errors"
	"testing"
	"time"
)

func ended(t *testing.T, c context.Context, want error) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Fatal("the context did not end")
	}
	if err := c.Err(); !errors.Is(err, want) || err != want {
		t.Errorf("Err() = %v, want %v", err, want)
	}
}

func running(t *testing.T, c context.Context) {
	t.Helper()
	select {
	case <-c.Done():
		t.Fatalf("the context ended: %v", c.Err())
	default:
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v while running", err)
	}
}

func TestCancelEndsTheContextOnce(t *testing.T) {
	c, cancel := WithCancel(context.Background())
	running(t, c)
	if _, ok := c.Deadline(); ok {
		t.Error("a context without a timeout has a deadline")
	}
	cancel()
	ended(t, c, context.Canceled)
	cancel() // again: no panic, same error
	ended(t, c, context.Canceled)
}

func TestTimeoutEndsWithDeadlineExceeded(t *testing.T) {
	before := time.Now()
	c, cancel := WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	dl, ok := c.Deadline()
	if !ok || dl.Before(before.Add(20*time.Millisecond)) || dl.After(time.Now().Add(20*time.Millisecond)) {
		t.Errorf("Deadline() = %v, %v", dl, ok)
	}
	running(t, c)
	ended(t, c, context.DeadlineExceeded)
	if time.Since(before) < 20*time.Millisecond {
		t.Error("the context ended before its timeout")
	}
}

func TestCancelBeforeTheTimeout(t *testing.T) {
	c, cancel := WithTimeout(context.Background(), time.Hour)
	cancel()
	ended(t, c, context.Canceled)
	c, cancel = WithTimeout(context.Background(), 0)
	defer cancel()
	ended(t, c, context.DeadlineExceeded)
}

func TestTheParentEndsItsChildren(t *testing.T) {
	type key struct{}
	parent, cancelParent := WithCancel(context.WithValue(context.Background(), key{}, "v"))
	child, cancelChild := WithTimeout(parent, time.Hour)
	defer cancelChild()
	grandchild, cancelGrandchild := WithCancel(child)
	defer cancelGrandchild()
	if grandchild.Value(key{}) != "v" {
		t.Error("Value does not reach the parent's")
	}
	running(t, grandchild)
	cancelParent()
	ended(t, child, context.Canceled)
	ended(t, grandchild, context.Canceled)

	// A child of a parent that ended already has ended too, at once.
	late, cancelLate := WithCancel(parent)
	defer cancelLate()
	if late.Err() != context.Canceled {
		t.Errorf("a child of an ended parent: Err() = %v", late.Err())
	}
}

func TestTheEarlierDeadlineWins(t *testing.T) {
	parent, cancel := WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	pdl, _ := parent.Deadline()
	child, cancelChild := WithTimeout(parent, time.Hour)
	defer cancelChild()
	if dl, ok := child.Deadline(); !ok || !dl.Equal(pdl) {
		t.Errorf("child Deadline() = %v, want the parent's %v", dl, pdl)
	}
	ended(t, child, context.DeadlineExceeded)

	// And a shorter timeout under a longer one is the child's own.
	long, cancelLong := context.WithTimeout(context.Background(), time.Hour)
	defer cancelLong()
	short, cancelShort := WithTimeout(long, 10*time.Millisecond)
	defer cancelShort()
	ended(t, short, context.DeadlineExceeded)
	running(t, long)
}

// Cancelling a child leaves its parent running.
func TestCancellingAChildLeavesTheParent(t *testing.T) {
	parent, cancelParent := WithCancel(context.Background())
	defer cancelParent()
	child, cancelChild := WithTimeout(parent, time.Hour)
	cancelChild()
	ended(t, child, context.Canceled)
	running(t, parent)
}
