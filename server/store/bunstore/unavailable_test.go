package bunstore_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/faultproxy"
	"github.com/latchkey/latchkey/server/internal/testenv"
	"github.com/latchkey/latchkey/shared"
)

// A Postgres that cannot be reached is auth.StoreUnavailable, for reads,
// writes and transactions alike, and so is a deadline it did not answer
// within; a cancelled request is not (nobody is waiting for the answer).
// Once Postgres is back the same store works again: the pool dials anew.
func TestUnreachablePostgresIsUnavailable(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	s := openStore(t, u.String(), "")
	ctx := t.Context()
	now := time.Now()
	create := func(n string) error {
		return s.CreateUser(ctx,
			&auth.User{UID: "u" + n, Handle: []byte("h" + n), Username: "user" + n, CreatedAt: now, UpdatedAt: now},
			&auth.Passkey{UID: "p" + n, CredentialID: []byte("c" + n), PublicKey: []byte{1}, CreatedAt: now})
	}
	if err := create("1"); err != nil {
		t.Fatal(err)
	}

	p.Cut()
	for name, call := range map[string]func() error{
		"read": func() error { _, err := s.UserByUsername(ctx, "user1"); return err },
		"login read": func() error {
			_, _, err := s.UserWithPasskeys(ctx, auth.UserRef{Username: "user1"})
			return err
		},
		"write":       func() error { return s.RecordPasskeyUse(ctx, 1, 5, false, now) },
		"transaction": func() error { return create("2") },
	} {
		err := call()
		t.Logf("%s: %v", name, err)
		if auth.ErrorCode(err) != shared.CodeUnavailable || errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s with Postgres cut: %v, want unavailable", name, err)
		}
	}
	p.Heal()

	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.UserByUsername(expired, "user1"); auth.ErrorCode(err) != shared.CodeUnavailable {
		t.Errorf("past its deadline: %v, want unavailable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.UserByUsername(cancelled, "user1"); err == nil || auth.ErrorCode(err) == shared.CodeUnavailable {
		t.Errorf("cancelled: %v, want an internal error", err)
	}

	if _, err := s.UserByUsername(ctx, "user1"); err != nil {
		t.Fatalf("after Postgres came back: %v", err)
	}
	if err := create("2"); err != nil {
		t.Fatalf("a transaction after Postgres came back: %v", err)
	}
	if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) || auth.ErrorCode(err) == shared.CodeUnavailable {
		t.Errorf("a missing user: %v, want ErrNotFound", err)
	}
}
