package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/internal/faultproxy"
)

// echo serves lines back as they come, on a free port, until the test ends.
func echo(t *testing.T) string {
	t.Helper()
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
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip sends a line on c and reads it back, within a second.
func roundTrip(c net.Conn, line string) error {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if got != line+"\n" {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestForwardsUntilCutAndAgainAfterHeal(t *testing.T) {
	p := start(t)
	before := dial(t, p)
	if err := roundTrip(before, "hello"); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	p.Cut()
	// The open connection is dropped at once, not left to time out.
	began := time.Now()
	if err := roundTrip(before, "still there?"); err == nil {
		t.Fatal("a connection open before the cut still works after it")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the open connection hung instead of failing: %v", err)
	}
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("the cut connection took %v to fail", d)
	}
	// New connections are reset as soon as they are made.
	for range 3 {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			continue // refused is as good
		}
		err = roundTrip(c, "anyone?")
		c.Close()
		if err == nil {
			t.Fatal("a connection made during the cut got through")
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("a connection made during the cut hung instead of failing: %v", err)
		}
	}

	p.Heal()
	after := dial(t, p)
	if err := roundTrip(after, "back"); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	// Healing does not bring dropped connections back.
	if err := roundTrip(before, "and me?"); err == nil {
		t.Error("a connection dropped by the cut works again after Heal")
	}
}

func TestManyConnectionsAndClose(t *testing.T) {
	p := start(t)
	conns := make([]net.Conn, 20)
	for i := range conns {
		conns[i] = dial(t, p)
	}
	done := make(chan error, len(conns))
	for i, c := range conns {
		go func() { done <- roundTrip(c, string(rune('a'+i))) }()
	}
	for range conns {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return with connections open")
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Error("the proxy still accepts after Close")
	}
}
