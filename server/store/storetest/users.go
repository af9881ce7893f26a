// Package storetest holds contract suites for the store interfaces of
// package auth. Every implementation runs the same suite, so the domain can
// rely on behaviour (case-insensitive uniqueness, all-or-nothing sign-up,
// race-safe counters) whichever store is configured.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// Users is a user store as the contract sees it: an auth.UserStore, and a
// lookup by credential id that the domain never needs (a login finds its
// passkey among the user's) but the contract does, to check what was
// stored, and what was not.
type Users interface {
	auth.UserStore
	// PasskeyByCredentialID returns the passkey with that credential id,
	// whoever's it is, or ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*auth.Passkey, error)
}

// UserStore runs the auth.UserStore contract. open is called once per
// subtest, possibly from parallel subtests, and must return an empty store
// of its own, closed through t.Cleanup.
func UserStore(t *testing.T, open func(t *testing.T) Users) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, s Users)
	}{
		{"stores proof, a pending address and no address at all", userEmailStored},
		{"a pending address finds nobody and takes nothing", userEmailPending},
		{"marks a held, unproven address proven once", userEmailMarkProven},
		{"sets a proven address, and refuses one another account holds", userEmailSetProven},
		{"releases unproven addresses of accounts created before the cutoff", userEmailRelease},
		{"deletes a user with their passkeys", userDelete},
		{"creates a user with a first passkey and reads it back by every key", userCreateAndRead},
		{"finds users by username and email regardless of case", userLookupCase},
		{"matches and refuses emails by auth.EmailKey and keeps them as typed", userEmailKey},
		{"lets any number of users have no email address", userNoEmail},
		{"round-trips every passkey field", userPasskeyRoundTrip},
		{"lists a user's passkeys oldest first and no one else's", userPasskeyOrder},
		{"reads a user with their passkeys by every kind of reference", userWithPasskeys},
		{"reads no one with their passkeys for a reference to nobody", userWithPasskeysNotFound},
		{"refuses a reference that names a user by no field or several", userWithPasskeysBadRef},
		{"refuses a username that differs only in case", userUsernameTaken},
		{"refuses an email that differs only in case", userEmailTaken},
		{"refuses a sign-up whose passkey is already registered and keeps no user", userDuplicateCredentialSignUp},
		{"refuses to add a passkey that is already registered", userDuplicateCredentialAdd},
		{"refuses a passkey for a user that does not exist", userPasskeyMissingUser},
		{"lets exactly one of two concurrent sign-ups with the same username succeed", userConcurrentSignUp},
		{"records passkey use while the sign count increases", userSignCountIncreases},
		{"always accepts a zero sign count", userSignCountZero},
		{"refuses a zero sign count once the passkey has counted, and changes nothing", userSignCountZeroAfterCount},
		{"refuses a sign count that does not increase and changes nothing", userSignCountNotIncreasing},
		{"lets only one of two racing logins with the same sign count through", userSignCountRace},
		{"renames only a passkey of the given user", userRenamePasskey},
		{"deletes only a passkey of the given user", userDeletePasskey},
		{"refuses to delete a user's only passkey", userDeleteLastPasskey},
		{"never lets concurrent deletes remove every passkey", userDeleteRace},
		{"reports missing users and passkeys as ErrNotFound", userNotFound},
		{"answers a ping", userPing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, t.Context(), open(t))
		})
	}
}

func userCreateAndRead(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	if u.ID == 0 || p.ID == 0 {
		t.Fatalf("CreateUser left IDs unset: user %d, passkey %d", u.ID, p.ID)
	}
	if p.UserID != u.ID {
		t.Fatalf("first passkey's UserID = %d, want the new user's %d", p.UserID, u.ID)
	}
	lookups := map[string]func() (*auth.User, error){
		"UserByID":       func() (*auth.User, error) { return s.UserByID(ctx, u.ID) },
		"UserByUID":      func() (*auth.User, error) { return s.UserByUID(ctx, u.UID) },
		"UserByHandle":   func() (*auth.User, error) { return s.UserByHandle(ctx, u.Handle) },
		"UserByUsername": func() (*auth.User, error) { return s.UserByUsername(ctx, u.Username) },
		"UserByEmail":    func() (*auth.User, error) { return s.UserByEmail(ctx, u.Email) },
	}
	for name, lookup := range lookups {
		got, err := lookup()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		userCompare(t, name, got, u)
	}
	got, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	userComparePasskey(t, "PasskeyByCredentialID", got, p)
}

func userLookupCase(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	u.Username = "Mixed_" + u.Username
	u.Email = "Mixed." + strings.ToUpper(u.Email[:1]) + u.Email[1:]
	userCreate(t, ctx, s, u, p)
	for _, name := range []string{u.Username, strings.ToLower(u.Username), strings.ToUpper(u.Username)} {
		got, err := s.UserByUsername(ctx, name)
		if err != nil {
			t.Fatalf("UserByUsername(%q): %v", name, err)
		}
		userCompare(t, "UserByUsername", got, u)
	}
	for _, email := range []string{u.Email, strings.ToLower(u.Email), strings.ToUpper(u.Email)} {
		got, err := s.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("UserByEmail(%q): %v", email, err)
		}
		userCompare(t, "UserByEmail", got, u)
	}
}

func userEmailKey(t *testing.T, ctx context.Context, s Users) {
	// SQLite's lower() folds only ASCII and neither database composes
	// accents or ignores invisible characters: the store must compare
	// the domain's key, not the column.
	tag := userRandomHex(4)
	u, p := userNew()
	u.Email = "Éve." + tag + "@Bücher.example"
	userCreate(t, ctx, s, u, p)
	same := []string{
		u.Email,
		"éve." + tag + "@bücher.example",
		"e\u0301ve." + tag + "@bu\u0308cher.example", // decomposed
		"ÉVE." + tag + "@BÜCHER.EXAMPLE",
		"éve." + tag + "@xn--bcher-kva.example", // the domain in ASCII
		"éve." + tag + "\u200b@bücher.example",  // invisible characters never distinguish
	}
	for _, email := range same {
		got, err := s.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("UserByEmail(%+q): %v", email, err)
		}
		userCompare(t, "UserByEmail", got, u)
	}
	for _, email := range same[1:] {
		dup, dupKey := userNew()
		dup.Email = email
		userWantAuthError(t, s.CreateUser(ctx, dup, dupKey), shared.CodeEmailTaken, "email")
		userWantNotStored(t, ctx, s, dup, dupKey)
	}
	// Without the accent it is another mailbox, and another account.
	other, otherKey := userNew()
	other.Email = "eve." + tag + "@bücher.example"
	if _, err := s.UserByEmail(ctx, other.Email); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail(%q) = %v, want ErrNotFound", other.Email, err)
	}
	userCreate(t, ctx, s, other, otherKey)
}

func userNoEmail(t *testing.T, ctx context.Context, s Users) {
	// A released address leaves an account without one; no address is
	// no key, and the uniqueness rule must not make it a shared one.
	for range 2 {
		u, p := userNew()
		u.Email = ""
		userCreate(t, ctx, s, u, p)
	}
	if got, err := s.UserByEmail(ctx, ""); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail(\"\") = %+v, %v; want ErrNotFound", got, err)
	}
}

func userPasskeyRoundTrip(t *testing.T, ctx context.Context, s Users) {
	u, first := userNew()
	first.Transports = []string{"usb", "nfc", "hybrid"}
	first.SignCount = 1<<32 - 1 // the counter is a full uint32
	first.BackupEligible, first.BackupState = true, true
	first.AttestationType = "packed"
	first.Name = "Clé de sécurité 🔑 'quoted'"
	first.LastUsedAt = time.Time{}
	userCreate(t, ctx, s, u, first)

	second := userNewPasskey(u.ID)
	second.Transports = nil
	second.SignCount = 0
	second.BackupEligible, second.BackupState = true, false
	second.AttestationType = "none"
	second.AAGUID = make([]byte, 16) // "none" attestation reports an all-zero AAGUID
	second.LastUsedAt = first.CreatedAt.Add(90*time.Minute + 123456789*time.Nanosecond)
	if err := s.AddPasskey(ctx, second); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	if second.ID == 0 || second.ID == first.ID {
		t.Fatalf("AddPasskey set ID %d (first passkey has %d)", second.ID, first.ID)
	}

	for _, want := range []*auth.Passkey{first, second} {
		got, err := s.PasskeyByCredentialID(ctx, want.CredentialID)
		if err != nil {
			t.Fatalf("PasskeyByCredentialID: %v", err)
		}
		userComparePasskey(t, "PasskeyByCredentialID", got, want)
	}
	list, err := s.Passkeys(ctx, u.ID)
	if err != nil {
		t.Fatalf("Passkeys: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("Passkeys returned %d passkeys, want 2", len(list))
	}
	userComparePasskey(t, "Passkeys[0]", &list[0], first)
	userComparePasskey(t, "Passkeys[1]", &list[1], second)
}

func userPasskeyOrder(t *testing.T, ctx context.Context, s Users) {
	u, first := userNew()
	userCreate(t, ctx, s, u, first)
	other, otherFirst := userNew()
	userCreate(t, ctx, s, other, otherFirst)

	// Inserted out of creation order, so an implementation that sorts by
	// insertion (or id) fails.
	older := userNewPasskey(u.ID)
	older.CreatedAt = first.CreatedAt.Add(-time.Hour)
	newer := userNewPasskey(u.ID)
	newer.CreatedAt = first.CreatedAt.Add(time.Hour)
	for _, p := range []*auth.Passkey{newer, older} {
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey: %v", err)
		}
	}
	list, err := s.Passkeys(ctx, u.ID)
	if err != nil {
		t.Fatalf("Passkeys: %v", err)
	}
	var got []string
	for _, p := range list {
		got = append(got, p.UID)
	}
	if want := []string{older.UID, first.UID, newer.UID}; !slices.Equal(got, want) {
		t.Fatalf("Passkeys UIDs = %v, want %v (oldest first)", got, want)
	}
}

func userWithPasskeys(t *testing.T, ctx context.Context, s Users) {
	u, first := userNew()
	u.Username = "Mixed_" + u.Username
	u.Email = "Éve." + u.Email
	u.EmailVerifiedAt = u.CreatedAt.Add(time.Minute)
	userCreate(t, ctx, s, u, first)
	// Out of creation order, and with every field that can be empty
	// empty, as in userPasskeyRoundTrip.
	older := userNewPasskey(u.ID)
	older.CreatedAt = first.CreatedAt.Add(-time.Hour)
	older.Transports, older.SignCount, older.LastUsedAt = nil, 0, first.CreatedAt.Add(time.Minute)
	older.BackupEligible, older.BackupState = false, false
	newer := userNewPasskey(u.ID)
	newer.CreatedAt = first.CreatedAt.Add(time.Hour)
	for _, p := range []*auth.Passkey{newer, older} {
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey: %v", err)
		}
	}
	// Someone else's passkeys must not join in.
	other, otherFirst := userNew()
	userCreate(t, ctx, s, other, otherFirst)
	if err := s.AddPasskey(ctx, userNewPasskey(other.ID)); err != nil {
		t.Fatal(err)
	}

	want := []*auth.Passkey{older, first, newer}
	for name, ref := range map[string]auth.UserRef{
		"ID":                     {ID: u.ID},
		"Handle":                 {Handle: u.Handle},
		"Username":               {Username: u.Username},
		"Username in upper case": {Username: strings.ToUpper(u.Username)},
		"Email":                  {Email: u.Email},
		// EmailKey's form: decomposed accent, other case, spaces.
		"Email as typed otherwise": {Email: " e\u0301VE." + strings.ToUpper(u.Email[len("Éve."):]) + " "},
	} {
		got, keys, err := s.UserWithPasskeys(ctx, ref)
		if err != nil {
			t.Fatalf("UserWithPasskeys by %s: %v", name, err)
		}
		userCompare(t, "UserWithPasskeys by "+name, got, u)
		if len(keys) != len(want) {
			t.Fatalf("UserWithPasskeys by %s: %d passkeys, want %d", name, len(keys), len(want))
		}
		for i := range want {
			userComparePasskey(t, fmt.Sprintf("UserWithPasskeys by %s: passkey %d", name, i), &keys[i], want[i])
		}
	}
}

func userWithPasskeysNotFound(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	pending, pp := userNew()
	addr := pending.Email
	pending.EmailPending, pending.Email = addr, ""
	userCreate(t, ctx, s, pending, pp)
	gone, gp := userNew()
	userCreate(t, ctx, s, gone, gp)
	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	ghost, _ := userNew()
	for name, ref := range map[string]auth.UserRef{
		"an unknown ID":              {ID: u.ID + 1000},
		"an unknown handle":          {Handle: ghost.Handle},
		"an unknown username":        {Username: ghost.Username},
		"an unknown email":           {Email: ghost.Email},
		"an email that has no key":   {Email: " \u200b "},
		"a pending address":          {Email: addr},
		"a deleted user's ID":        {ID: gone.ID},
		"a deleted user's handle":    {Handle: gone.Handle},
		"a deleted user's username":  {Username: gone.Username},
		"a username given as email":  {Email: u.Username},
		"an email given as username": {Username: u.Email},
	} {
		if got, keys, err := s.UserWithPasskeys(ctx, ref); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UserWithPasskeys(%s) = %+v, %d passkeys, %v; want ErrNotFound", name, got, len(keys), err)
		}
	}
}

func userWithPasskeysBadRef(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	for name, ref := range map[string]auth.UserRef{
		"an empty reference":  {},
		"an empty handle":     {Handle: []byte{}},
		"an ID and a handle":  {ID: u.ID, Handle: u.Handle},
		"a username and mail": {Username: u.Username, Email: u.Email},
	} {
		got, _, err := s.UserWithPasskeys(ctx, ref)
		if err == nil || errors.Is(err, auth.ErrNotFound) || got != nil {
			t.Errorf("UserWithPasskeys(%s) = %+v, %v; want an error other than ErrNotFound", name, got, err)
		}
	}
}

func userUsernameTaken(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	dup, dupKey := userNew()
	dup.Username = strings.ToUpper(u.Username)
	err := s.CreateUser(ctx, dup, dupKey)
	userWantAuthError(t, err, shared.CodeUsernameTaken, "username")
	userWantNotStored(t, ctx, s, dup, dupKey)
}

func userEmailTaken(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	dup, dupKey := userNew()
	dup.Email = strings.ToUpper(u.Email)
	err := s.CreateUser(ctx, dup, dupKey)
	userWantAuthError(t, err, shared.CodeEmailTaken, "email")
	userWantNotStored(t, ctx, s, dup, dupKey)
}

func userDuplicateCredentialSignUp(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	dup, dupKey := userNew()
	dupKey.CredentialID = bytes.Clone(p.CredentialID)
	err := s.CreateUser(ctx, dup, dupKey)
	userWantAuthError(t, err, shared.CodeCredentialRejected, "")
	for name, lookup := range map[string]func() (*auth.User, error){
		"UserByUID":      func() (*auth.User, error) { return s.UserByUID(ctx, dup.UID) },
		"UserByUsername": func() (*auth.User, error) { return s.UserByUsername(ctx, dup.Username) },
		"UserByEmail":    func() (*auth.User, error) { return s.UserByEmail(ctx, dup.Email) },
	} {
		if _, err := lookup(); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s after the failed sign-up: err = %v, want ErrNotFound", name, err)
		}
	}
	got, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	if got.UserID != u.ID || got.UID != p.UID {
		t.Fatalf("the registered passkey now belongs to user %d (uid %s), want %d (%s)", got.UserID, got.UID, u.ID, p.UID)
	}
}

func userDuplicateCredentialAdd(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	other, otherKey := userNew()
	userCreate(t, ctx, s, other, otherKey)
	dup := userNewPasskey(other.ID)
	dup.CredentialID = bytes.Clone(p.CredentialID)
	userWantAuthError(t, s.AddPasskey(ctx, dup), shared.CodeCredentialRejected, "")
	list, err := s.Passkeys(ctx, other.ID)
	if err != nil {
		t.Fatalf("Passkeys: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("the other user has %d passkeys after the refused add, want 1", len(list))
	}
}

func userPasskeyMissingUser(t *testing.T, ctx context.Context, s Users) {
	err := s.AddPasskey(ctx, userNewPasskey(1<<40))
	if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("AddPasskey for a missing user: err = %v, want ErrNotFound", err)
	}
}

func userConcurrentSignUp(t *testing.T, ctx context.Context, s Users) {
	// A few rounds, because one can pass by luck of scheduling.
	for range 3 {
		a, aKey := userNew()
		b, bKey := userNew()
		b.Username = strings.ToUpper(a.Username)
		errs := userConcurrently(
			func() error { return s.CreateUser(ctx, a, aKey) },
			func() error { return s.CreateUser(ctx, b, bKey) },
		)
		var ok, taken int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case auth.ErrorCode(err) == shared.CodeUsernameTaken:
				taken++
			default:
				t.Fatalf("concurrent CreateUser: unexpected error %v", err)
			}
		}
		if ok != 1 || taken != 1 {
			t.Fatalf("concurrent CreateUser: %d succeeded and %d got username_taken, want 1 and 1 (errors %v)", ok, taken, errs)
		}
		loser, loserKey := b, bKey
		if errs[1] == nil {
			loser, loserKey = a, aKey
		}
		userWantNotStored(t, ctx, s, loser, loserKey)
	}
}

func userSignCountIncreases(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	p.SignCount = 0
	userCreate(t, ctx, s, u, p)
	at := p.CreatedAt.Add(time.Minute)
	for i, count := range []uint32{1, 2, 100, 1<<32 - 1} {
		at = at.Add(time.Duration(i) * time.Second)
		backup := i%2 == 0
		if err := s.RecordPasskeyUse(ctx, p.ID, count, backup, at); err != nil {
			t.Fatalf("RecordPasskeyUse(count %d): %v", count, err)
		}
		got := userPasskey(t, ctx, s, p.CredentialID)
		if got.SignCount != count || got.BackupState != backup || !userSameTime(got.LastUsedAt, at) {
			t.Fatalf("after RecordPasskeyUse(%d, %v, %v): stored count %d, backup state %v, last used %v",
				count, backup, at, got.SignCount, got.BackupState, got.LastUsedAt)
		}
	}
}

func userSignCountZero(t *testing.T, ctx context.Context, s Users) {
	// Authenticators without a counter (most synced passkeys) always
	// report zero; that must never read as a clone.
	u, p := userNew()
	p.SignCount = 0
	userCreate(t, ctx, s, u, p)
	for i := range 3 {
		at := p.CreatedAt.Add(time.Duration(i+1) * time.Hour)
		if err := s.RecordPasskeyUse(ctx, p.ID, 0, true, at); err != nil {
			t.Fatalf("RecordPasskeyUse(0) #%d: %v", i+1, err)
		}
		got := userPasskey(t, ctx, s, p.CredentialID)
		if got.SignCount != 0 || !got.BackupState || !userSameTime(got.LastUsedAt, at) {
			t.Fatalf("after RecordPasskeyUse(0) #%d: count %d, backup state %v, last used %v", i+1, got.SignCount, got.BackupState, got.LastUsedAt)
		}
	}
}

func userSignCountZeroAfterCount(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	p.SignCount = 7
	userCreate(t, ctx, s, u, p)
	at := p.CreatedAt.Add(time.Hour)
	userWantAuthError(t, s.RecordPasskeyUse(ctx, p.ID, 0, !p.BackupState, at), shared.CodeCredentialRejected, "")
	if got := userPasskey(t, ctx, s, p.CredentialID); got.SignCount != 7 || got.BackupState != p.BackupState || !got.LastUsedAt.IsZero() {
		t.Fatalf("after a refused RecordPasskeyUse(0): count %d, backup state %v, last used %v", got.SignCount, got.BackupState, got.LastUsedAt)
	}
	// A higher count still works afterwards.
	if err := s.RecordPasskeyUse(ctx, p.ID, 8, false, at); err != nil {
		t.Fatalf("RecordPasskeyUse(8): %v", err)
	}
}

func userSignCountNotIncreasing(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	p.SignCount = 10
	userCreate(t, ctx, s, u, p)
	used := p.CreatedAt.Add(time.Minute)
	if err := s.RecordPasskeyUse(ctx, p.ID, 20, false, used); err != nil {
		t.Fatalf("RecordPasskeyUse(20): %v", err)
	}
	for _, count := range []uint32{20, 19, 1} {
		err := s.RecordPasskeyUse(ctx, p.ID, count, true, used.Add(time.Hour))
		userWantAuthError(t, err, shared.CodeCredentialRejected, "")
		got := userPasskey(t, ctx, s, p.CredentialID)
		if got.SignCount != 20 || got.BackupState || !userSameTime(got.LastUsedAt, used) {
			t.Fatalf("refused RecordPasskeyUse(%d) changed the passkey: count %d, backup state %v, last used %v",
				count, got.SignCount, got.BackupState, got.LastUsedAt)
		}
	}
}

func userSignCountRace(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	p.SignCount = 1
	userCreate(t, ctx, s, u, p)
	for count := uint32(2); count < 5; count++ {
		at := p.CreatedAt.Add(time.Duration(count) * time.Minute)
		errs := userConcurrently(
			func() error { return s.RecordPasskeyUse(ctx, p.ID, count, false, at) },
			func() error { return s.RecordPasskeyUse(ctx, p.ID, count, false, at) },
		)
		var ok, rejected int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case auth.ErrorCode(err) == shared.CodeCredentialRejected:
				rejected++
			default:
				t.Fatalf("racing RecordPasskeyUse: unexpected error %v", err)
			}
		}
		if ok != 1 || rejected != 1 {
			t.Fatalf("racing RecordPasskeyUse(%d): %d accepted, %d rejected; want 1 and 1", count, ok, rejected)
		}
	}
}

func userRenamePasskey(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	other, otherKey := userNew()
	userCreate(t, ctx, s, other, otherKey)

	if _, err := s.RenamePasskey(ctx, other.ID, p.UID, "stolen"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("renaming another user's passkey: err = %v, want ErrNotFound", err)
	}
	if got := userPasskey(t, ctx, s, p.CredentialID); got.Name != p.Name {
		t.Fatalf("refused rename changed the name to %q", got.Name)
	}
	if _, err := s.RenamePasskey(ctx, u.ID, "no-such-passkey", "x"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("renaming a missing passkey: err = %v, want ErrNotFound", err)
	}

	renamed, err := s.RenamePasskey(ctx, u.ID, p.UID, "Work laptop")
	if err != nil {
		t.Fatalf("RenamePasskey: %v", err)
	}
	want := *p
	want.Name = "Work laptop"
	userComparePasskey(t, "RenamePasskey result", renamed, &want)
	userComparePasskey(t, "after RenamePasskey", userPasskey(t, ctx, s, p.CredentialID), &want)
	if got := userPasskey(t, ctx, s, otherKey.CredentialID); got.Name != otherKey.Name {
		t.Fatalf("rename touched another user's passkey: name %q", got.Name)
	}
}

func userDeletePasskey(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	second := userNewPasskey(u.ID)
	if err := s.AddPasskey(ctx, second); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	other, otherKey := userNew()
	userCreate(t, ctx, s, other, otherKey)
	otherSecond := userNewPasskey(other.ID)
	if err := s.AddPasskey(ctx, otherSecond); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}

	if err := s.DeletePasskey(ctx, other.ID, second.UID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("deleting another user's passkey: err = %v, want ErrNotFound", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, "no-such-passkey"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("deleting a missing passkey: err = %v, want ErrNotFound", err)
	}
	userPasskey(t, ctx, s, second.CredentialID)

	if err := s.DeletePasskey(ctx, u.ID, second.UID); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, second.CredentialID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("deleted passkey still found: err = %v", err)
	}
	list, err := s.Passkeys(ctx, u.ID)
	if err != nil {
		t.Fatalf("Passkeys: %v", err)
	}
	if len(list) != 1 || list[0].UID != p.UID {
		t.Fatalf("after deleting one of two passkeys, Passkeys = %d entries, want just %s", len(list), p.UID)
	}
	if list, err := s.Passkeys(ctx, other.ID); err != nil || len(list) != 2 {
		t.Fatalf("the other user's passkeys changed: %d, %v", len(list), err)
	}
}

func userDeleteLastPasskey(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	userWantAuthError(t, s.DeletePasskey(ctx, u.ID, p.UID), shared.CodeLastPasskey, "")
	userPasskey(t, ctx, s, p.CredentialID)
}

func userDeleteRace(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	second := userNewPasskey(u.ID)
	if err := s.AddPasskey(ctx, second); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	errs := userConcurrently(
		func() error { return s.DeletePasskey(ctx, u.ID, p.UID) },
		func() error { return s.DeletePasskey(ctx, u.ID, second.UID) },
	)
	var ok, refused int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case auth.ErrorCode(err) == shared.CodeLastPasskey:
			refused++
		default:
			t.Fatalf("concurrent DeletePasskey: unexpected error %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("concurrent DeletePasskey: %d deleted, %d refused; want 1 and 1", ok, refused)
	}
	if list, err := s.Passkeys(ctx, u.ID); err != nil || len(list) != 1 {
		t.Fatalf("after concurrent deletes the user has %d passkeys (%v), want 1", len(list), err)
	}
}

func userNotFound(t *testing.T, ctx context.Context, s Users) {
	u, p := userNew()
	userCreate(t, ctx, s, u, p)
	ghost, ghostKey := userNew()
	checks := map[string]error{}
	_, checks["UserByID"] = s.UserByID(ctx, u.ID+1000)
	_, checks["UserByUID"] = s.UserByUID(ctx, ghost.UID)
	_, checks["UserByHandle"] = s.UserByHandle(ctx, ghost.Handle)
	_, checks["UserByUsername"] = s.UserByUsername(ctx, ghost.Username)
	_, checks["UserByEmail"] = s.UserByEmail(ctx, ghost.Email)
	_, checks["PasskeyByCredentialID"] = s.PasskeyByCredentialID(ctx, ghostKey.CredentialID)
	checks["RecordPasskeyUse"] = s.RecordPasskeyUse(ctx, p.ID+1000, 1, false, time.Now())
	_, checks["RenamePasskey"] = s.RenamePasskey(ctx, u.ID, ghostKey.UID, "x")
	checks["DeletePasskey"] = s.DeletePasskey(ctx, u.ID, ghostKey.UID)
	checks["DeletePasskey of a missing user"] = s.DeletePasskey(ctx, u.ID+1000, p.UID)
	for name, err := range checks {
		if !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	list, err := s.Passkeys(ctx, u.ID+1000)
	if err != nil || len(list) != 0 {
		t.Errorf("Passkeys of a missing user = %d passkeys, %v; want none and no error", len(list), err)
	}
}

func userPing(t *testing.T, ctx context.Context, s Users) {
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// userNew returns a valid user and first passkey, distinct from every other
// userNew's in each unique field. IDs are left for the store to assign.
func userNew() (*auth.User, *auth.Passkey) {
	tag := userRandomHex(6)
	created := userTime()
	u := &auth.User{
		UID:         "u_" + userRandomHex(12),
		Handle:      userRandomBytes(32),
		Username:    "user_" + tag,
		Email:       "person." + tag + "@example.com",
		DisplayName: "Person " + tag,
		CreatedAt:   created,
		UpdatedAt:   created.Add(time.Second),
	}
	return u, userNewPasskey(0)
}

// userNewPasskey returns a valid passkey of userID with random identifiers.
func userNewPasskey(userID int64) *auth.Passkey {
	return &auth.Passkey{
		UID:             "pk_" + userRandomHex(12),
		UserID:          userID,
		CredentialID:    userRandomBytes(32),
		PublicKey:       userRandomBytes(77),
		AAGUID:          userRandomBytes(16),
		SignCount:       7,
		Transports:      []string{"internal", "hybrid"},
		BackupEligible:  true,
		BackupState:     true,
		AttestationType: "none",
		Name:            "Passkey " + userRandomHex(3),
		CreatedAt:       userTime(),
	}
}

// userTime is a fixed past instant with a sub-second part and a zone other
// than UTC, so a store that mangles fractions or time zones shows it.
func userTime() time.Time {
	return time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC-3:30", -(3*3600+1800)))
}

func userRandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func userRandomHex(n int) string { return hex.EncodeToString(userRandomBytes(n)) }

// userSameTime compares to the second: stores may keep less than nanoseconds,
// and no caller needs more than seconds.
func userSameTime(a, b time.Time) bool {
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

func userCreate(t *testing.T, ctx context.Context, s Users, u *auth.User, p *auth.Passkey) {
	t.Helper()
	if err := s.CreateUser(ctx, u, p); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Username, err)
	}
}

func userPasskey(t *testing.T, ctx context.Context, s Users, credentialID []byte) *auth.Passkey {
	t.Helper()
	p, err := s.PasskeyByCredentialID(ctx, credentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	return p
}

// userWantNotStored asserts that a refused sign-up left nothing behind: neither
// the user nor, above all, its passkey, which would otherwise be a
// credential bound to no account.
func userWantNotStored(t *testing.T, ctx context.Context, s Users, u *auth.User, p *auth.Passkey) {
	t.Helper()
	if _, err := s.UserByUID(ctx, u.UID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("refused user is stored: UserByUID err = %v", err)
	}
	if _, err := s.UserByHandle(ctx, u.Handle); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("refused user is stored: UserByHandle err = %v", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, p.CredentialID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("refused user's passkey is stored: PasskeyByCredentialID err = %v", err)
	}
}

func userWantAuthError(t *testing.T, err error, code, field string) {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *auth.Error coded %s", err, code)
	}
	if ae.Code != code || ae.Field != field {
		t.Fatalf("err = %v (field %q), want code %s, field %q", err, ae.Field, code, field)
	}
	if ae.Message == "" {
		t.Fatalf("err %v has no message for the person", err)
	}
}

func userCompare(t *testing.T, what string, got, want *auth.User) {
	t.Helper()
	if got.ID != want.ID || got.UID != want.UID || !bytes.Equal(got.Handle, want.Handle) ||
		got.Username != want.Username || got.Email != want.Email || got.DisplayName != want.DisplayName ||
		!userSameTime(got.CreatedAt, want.CreatedAt) || !userSameTime(got.UpdatedAt, want.UpdatedAt) ||
		got.EmailVerifiedAt.IsZero() != want.EmailVerifiedAt.IsZero() || !userSameTime(got.EmailVerifiedAt, want.EmailVerifiedAt) ||
		got.EmailPending != want.EmailPending {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

func userComparePasskey(t *testing.T, what string, got, want *auth.Passkey) {
	t.Helper()
	same := got.ID == want.ID && got.UID == want.UID && got.UserID == want.UserID &&
		bytes.Equal(got.CredentialID, want.CredentialID) && bytes.Equal(got.PublicKey, want.PublicKey) &&
		bytes.Equal(got.AAGUID, want.AAGUID) && got.SignCount == want.SignCount &&
		// nil and empty are the same absence of transports.
		slices.Equal(got.Transports, want.Transports) &&
		got.BackupEligible == want.BackupEligible && got.BackupState == want.BackupState &&
		got.AttestationType == want.AttestationType && got.Name == want.Name &&
		userSameTime(got.CreatedAt, want.CreatedAt) &&
		got.LastUsedAt.IsZero() == want.LastUsedAt.IsZero() && userSameTime(got.LastUsedAt, want.LastUsedAt)
	if !same {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

// userConcurrently runs fs at once, released together so they really overlap,
// and returns their errors in order.
func userConcurrently(fs ...func() error) []error {
	errs := make([]error, len(fs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() {
			<-start
			errs[i] = f()
		})
	}
	close(start)
	wg.Wait()
	return errs
}
