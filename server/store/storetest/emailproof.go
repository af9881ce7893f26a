package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// The UserStore contract on addresses that are proven, absent, pending or
// released, and on account deletion (issue 14, item 2), from here on.

func userEmailStored(t *testing.T, ctx context.Context, s Users) {
	proven, p1 := userNew()
	proven.EmailVerifiedAt = proven.CreatedAt.Add(time.Hour)
	userCreate(t, ctx, s, proven, p1)
	// Several accounts may have no address: the unique index must
	// allow it.
	for range 2 {
		none, p := userNew()
		none.EmailPending = none.Email
		none.Email = ""
		userCreate(t, ctx, s, none, p)
		got, err := s.UserByID(ctx, none.ID)
		if err != nil {
			t.Fatal(err)
		}
		userCompare(t, "UserByID", got, none)
	}
	got, err := s.UserByID(ctx, proven.ID)
	if err != nil {
		t.Fatal(err)
	}
	userCompare(t, "UserByID", got, proven)
	if u, err := s.UserByEmail(ctx, ""); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail(\"\") = %+v, %v; want ErrNotFound", u, err)
	}
}

func userEmailPending(t *testing.T, ctx context.Context, s Users) {
	pending, p := userNew()
	addr := pending.Email
	pending.EmailPending, pending.Email = addr, ""
	userCreate(t, ctx, s, pending, p)
	if u, err := s.UserByEmail(ctx, addr); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail(pending) = %+v, %v; want ErrNotFound", u, err)
	}
	holder, p2 := userNew()
	holder.Email = addr
	userCreate(t, ctx, s, holder, p2)
}

func userEmailMarkProven(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	at := u.CreatedAt.Add(2 * time.Hour)
	if ok, err := s.MarkEmailProven(ctx, u.ID, "other@example.com", at); err != nil || ok {
		t.Fatalf("MarkEmailProven(another address) = %v, %v; want false", ok, err)
	}
	if ok, err := s.MarkEmailProven(ctx, u.ID, strings.ToUpper(u.Email), at); err != nil || !ok {
		t.Fatalf("MarkEmailProven = %v, %v; want true", ok, err)
	}
	if ok, err := s.MarkEmailProven(ctx, u.ID, u.Email, at.Add(time.Hour)); err != nil || ok {
		t.Fatalf("MarkEmailProven a second time = %v, %v; want false", ok, err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !userSameTime(got.EmailVerifiedAt, at) {
		t.Fatalf("EmailVerifiedAt = %v, want %v", got.EmailVerifiedAt, at)
	}
}

func userEmailSetProven(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	u.EmailPending, u.Email = u.Email, ""
	userCreate(t, ctx, s, u, p)
	other, p2 := userNew()
	userCreate(t, ctx, s, other, p2)
	at := u.CreatedAt.Add(time.Hour)
	userWantAuthError(t, s.SetEmail(ctx, u.ID, strings.ToUpper(other.Email), at), shared.CodeEmailTaken, "email")
	addr := "new." + userRandomHex(4) + "@example.com"
	if err := s.SetEmail(ctx, u.ID, addr, at); err != nil {
		t.Fatalf("SetEmail: %v", err)
	}
	got, err := s.UserByEmail(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.EmailPending != "" || !userSameTime(got.EmailVerifiedAt, at) {
		t.Fatalf("after SetEmail: %+v", got)
	}
	if err := s.SetEmail(ctx, 1<<40, "x@example.com", at); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("SetEmail(no such user) = %v; want ErrNotFound", err)
	}
}

func userEmailRelease(t *testing.T, ctx context.Context, s Users) {
	old, p1 := userNew()
	userCreate(t, ctx, s, old, p1)
	oldPending, p2 := userNew()
	oldPending.EmailPending, oldPending.Email = oldPending.Email, ""
	userCreate(t, ctx, s, oldPending, p2)
	proven, p3 := userNew()
	proven.EmailVerifiedAt = proven.CreatedAt
	userCreate(t, ctx, s, proven, p3)
	young, p4 := userNew()
	young.CreatedAt = young.CreatedAt.Add(48 * time.Hour)
	userCreate(t, ctx, s, young, p4)
	other, p5 := userNew()
	userCreate(t, ctx, s, other, p5)

	cutoff := old.CreatedAt.Add(24 * time.Hour)
	if n, err := s.ReleaseUnprovenEmails(ctx, cutoff, strings.ToUpper(old.Email)); err != nil || n != 1 {
		t.Fatalf("ReleaseUnprovenEmails(one address) = %d, %v; want 1", n, err)
	}
	if u, err := s.UserByID(ctx, other.ID); err != nil || u.Email != other.Email {
		t.Fatalf("releasing one address touched another account: %+v, %v", u, err)
	}
	if n, err := s.ReleaseUnprovenEmails(ctx, cutoff, proven.Email); err != nil || n != 0 {
		t.Fatalf("ReleaseUnprovenEmails(a proven address) = %d, %v; want 0", n, err)
	}
	// The sweep: the other old one and the pending one (the first is
	// already released and not counted again).
	if n, err := s.ReleaseUnprovenEmails(ctx, cutoff, ""); err != nil || n != 2 {
		t.Fatalf("ReleaseUnprovenEmails(all) = %d, %v; want 2", n, err)
	}
	for _, u := range []*auth.User{old, oldPending, other} {
		got, err := s.UserByUsername(ctx, u.Username)
		if err != nil {
			t.Fatalf("a released account is gone: %v", err)
		}
		if got.Email != "" || got.EmailPending != "" {
			t.Fatalf("%s still has an address after the release: %+v", u.Username, got)
		}
		if keys, err := s.Passkeys(ctx, u.ID); err != nil || len(keys) != 1 {
			t.Fatalf("a released account lost its passkeys: %v, %v", keys, err)
		}
	}
	for _, u := range []*auth.User{proven, young} {
		if got, err := s.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
			t.Fatalf("%s lost its address: %+v, %v", u.Username, got, err)
		}
	}
	// The released address can be taken by a new account.
	again, p6 := userNew()
	again.Email = old.Email
	userCreate(t, ctx, s, again, p6)
}

func userDelete(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	second := userNewPasskey(u.ID)
	if err := s.AddPasskey(ctx, second); err != nil {
		t.Fatal(err)
	}
	keep, pk := userNew()
	userCreate(t, ctx, s, keep, pk)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByID after DeleteUser: %v", err)
	}
	for _, id := range [][]byte{p.CredentialID, second.CredentialID} {
		if _, err := s.PasskeyByCredentialID(ctx, id); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a passkey outlived its user: %v", err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("DeleteUser twice = %v; want ErrNotFound", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, pk.CredentialID); err != nil {
		t.Fatalf("another user's passkey went too: %v", err)
	}
	// The address and username are free again.
	again, p2 := userNew()
	again.Username, again.Email = u.Username, u.Email
	userCreate(t, ctx, s, again, p2)
}
