package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

func TestEmailKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Composed, decomposed and upper-case é are one letter.
		{"Éve@example.com", "éve@example.com"},
		{"éve@example.com", "éve@example.com"},
		{"e\u0301ve@example.com", "éve@example.com"},
		{"E\u0301VE@EXAMPLE.COM", "éve@example.com"},
		// Invisible characters never distinguish two addresses.
		{"eve\u200b@example.com", "eve@example.com"},
		{"e\u202ev\u2066e\ufeff@exa\u00admple.com", "eve@example.com"},
		// An accent is not case: these are other mailboxes.
		{"eve@example.com", "eve@example.com"},
		// Full case folding, beyond lower-casing.
		{"STRASSE@example.com", "strasse@example.com"},
		{"straße@example.com", "strasse@example.com"},
		{"ΣΊΣΥΦΟΣ@example.com", "σίσυφοσ@example.com"},
		{"σίσυφος@example.com", "σίσυφοσ@example.com"},
		// One form for internationalised domains: IDNA ASCII, lower case.
		{"eve@bücher.example", "eve@xn--bcher-kva.example"},
		{"eve@BÜCHER.example", "eve@xn--bcher-kva.example"},
		{"eve@bu\u0308cher.example", "eve@xn--bcher-kva.example"},
		{"eve@XN--BCHER-KVA.example", "eve@xn--bcher-kva.example"},
		{"eve@ｅxample.com", "eve@example.com"},
		// Addresses the current rules refuse still get a key (old rows,
		// what people type at login).
		{"u@Under_Score.example", "u@under_score.example"},
		{"  Eve@Example.com ", "eve@example.com"},
		{"no-at-sign", "no-at-sign"},
		{"", ""},
		{"\u200b", ""},
	} {
		if got := auth.EmailKey(tc.in); got != tc.want {
			t.Errorf("EmailKey(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Eve@Example.COM", "Eve@example.com"},
		{"e\u0301ve@example.com", "éve@example.com"}, // NFC, as typed otherwise
		{"Éve@BÜCHER.example", "Éve@bücher.example"},
		{"用户@例子.广告", "用户@例子.广告"}, // non-ASCII local parts and domains are welcome
		{"eve@xn--bcher-kva.example", "eve@xn--bcher-kva.example"},
	} {
		got, err := auth.NormalizeEmail(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%+q) = %+q, %v; want %+q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"eve\u200b@example.com",     // zero-width space
		"eve\u2060@example.com",     // word joiner
		"\ufeffeve@example.com",     // byte order mark inside
		"e\u200dve@example.com",     // zero-width joiner: fine in names, not here
		"eve\u202e@example.com",     // right-to-left override
		"eve\u200f@example.com",     // right-to-left mark
		"eve@exa\u00admple.com",     // soft hyphen
		"e\u00a0ve@example.com",     // no-break space
		"eve\u2028@example.com",     // line separator
		"eve\x7f@example.com",       // DEL
		"eve\u0085@example.com",     // next line (C1 control)
		"eve\ue000@example.com",     // private use
		"eve\U000e0001@example.com", // language tag
		"eve\u0378@example.com",     // unassigned
		"eve@under_score.example",
		"eve@-bad.example",
		"eve@xn--zz.example", // not valid punycode
		"eve@" + strings.Repeat("a", 64) + ".example",
		"eve\xff@example.com",
	} {
		_, err := auth.NormalizeEmail(in)
		wantCode(t, err, shared.CodeInvalidInput)
		if f := fieldOf(err); f != "email" {
			t.Errorf("NormalizeEmail(%+q): field %q, want email", in, f)
		}
	}
}

func fieldOf(err error) string {
	if e, ok := err.(*auth.Error); ok {
		return e.Field
	}
	return ""
}

// The review found five accounts on SQLite and four on Postgres for one
// address spelled differently. One address is one account, however it is
// spelled, and logging in by any spelling finds it.
func TestOneAccountPerAddressHoweverSpelled(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		eve, _ := e.signup(t, "eve", "Éve@example.com")
		if eve.Email != "Éve@example.com" {
			t.Fatalf("stored address %q, want it as typed", eve.Email)
		}
		spellings := []string{"éve@example.com", "e\u0301ve@example.com", "ÉVE@EXAMPLE.COM", "E\u0301ve@Example.Com"}

		t.Run("refuses the other spellings at sign-up", func(t *testing.T) {
			for i, email := range spellings {
				_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory" + string(rune('a'+i)), Email: email})
				wantCode(t, err, shared.CodeEmailTaken)
			}
		})

		t.Run("refuses invisible characters in the address", func(t *testing.T) {
			for _, email := range []string{"eve\u200b@example.com", "\u202eeve@example.com", "éve\ufeff@example.com"} {
				_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: email})
				wantCode(t, err, shared.CodeInvalidInput)
				if f := fieldOf(err); f != "email" {
					t.Errorf("%+q: field %q, want email", email, f)
				}
			}
		})

		t.Run("refuses a spelling begun before the account existed", func(t *testing.T) {
			// Both ceremonies begin while the address is free; the
			// database's key settles it at finish.
			first, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "zoe", Email: "Zoë@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			second, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "zoe2", Email: "zoe\u0308@EXAMPLE.com"})
			if err != nil {
				t.Fatal(err)
			}
			keys := []*passkeytest.Authenticator{passkeytest.New(origin, rpID), passkeytest.New(origin, rpID)}
			for i, begin := range []*shared.CeremonyResponse{first, second} {
				cred, err := keys[i].Register(begin.Options)
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, chromeOnMac)
				if i == 0 && err != nil {
					t.Fatalf("first sign-up: %v", err)
				}
				if i == 1 {
					wantCode(t, err, shared.CodeEmailTaken)
				}
			}
			(&env{users: e.users, key: keys[1]}).noAccount(t, "zoe2")
		})

		t.Run("logs in by any spelling", func(t *testing.T) {
			for _, name := range append(spellings, "Éve@example.com", "\u200béve@example.com") {
				u, _, _ := e.login(t, e.key, name)
				if u.ID != eve.ID {
					t.Fatalf("login as %+q found user %d, want eve (%d)", name, u.ID, eve.ID)
				}
			}
		})

		t.Run("sends the login link to the address as typed at sign-up", func(t *testing.T) {
			if err := e.svc.EmailLogin(ctx, shared.EmailLoginRequest{UsernameOrEmail: "e\u0301VE@example.com"}); err != nil {
				t.Fatal(err)
			}
			e.lastLink(t)
			msgs := e.mail.messages()
			if to := msgs[len(msgs)-1].To; to != "Éve@example.com" {
				t.Fatalf("link sent to %q, want Éve@example.com", to)
			}
		})

		t.Run("keeps an address without the accent for another account", func(t *testing.T) {
			other := &env{svc: e.svc, users: e.users, clock: e.clock, key: passkeytest.New(origin, rpID), mail: e.mail}
			u, _ := other.signup(t, "plain_eve", "eve@example.com")
			if u.ID == eve.ID {
				t.Fatal("eve@ and Éve@ are one account")
			}
		})
	})
}

func TestNamesRefuseBidiControlsAndInvisibleCharacters(t *testing.T) {
	ctx := context.Background()
	bad := map[string]string{
		"right-to-left override":  "Eve\u202Emoc.elgoog",
		"left-to-right embedding": "Eve\u202A",
		"pop directional":         "Eve\u202C",
		"right-to-left isolate":   "\u2067Eve",
		"pop isolate":             "Eve\u2069",
		"left-to-right mark":      "Eve\u200E",
		"right-to-left mark":      "Eve\u200F",
		"arabic letter mark":      "Eve\u061C",
		"zero-width space":        "E\u200Bve",
		"word joiner":             "E\u2060ve",
		"byte order mark":         "E\uFEFFve",
		"soft hyphen":             "E\u00ADve",
		"control":                 "Eve\x1b[31m",
		"line separator":          "Eve\u2028Bob",
	}
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		eve, _ := e.signup(t, "eve", "eve@example.com")
		keys, err := e.users.Passkeys(ctx, eve.ID)
		if err != nil {
			t.Fatal(err)
		}

		for what, name := range bad {
			t.Run("refuses a "+what, func(t *testing.T) {
				_, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: "m@example.com", DisplayName: name})
				wantCode(t, err, shared.CodeInvalidInput)
				if f := fieldOf(err); f != "display_name" {
					t.Errorf("display name: field %q", f)
				}

				begin, err := e.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "mallory", Email: "m@example.com"})
				if err != nil {
					t.Fatal(err)
				}
				key := passkeytest.New(origin, rpID)
				cred, err := key.Register(begin.Options)
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: name}, chromeOnMac)
				wantCode(t, err, shared.CodeInvalidInput)
				if f := fieldOf(err); f != "passkey_name" {
					t.Errorf("passkey name at sign-up: field %q", f)
				}

				_, err = e.svc.RenamePasskey(ctx, eve, keys[0].UID, shared.PasskeyRenameRequest{Name: name})
				wantCode(t, err, shared.CodeInvalidInput)
				if f := fieldOf(err); f != "name" {
					t.Errorf("rename: field %q", f)
				}
			})
		}

		t.Run("keeps emoji sequences joined by ZWJ and stores names in NFC", func(t *testing.T) {
			other := &env{svc: e.svc, users: e.users, clock: e.clock, key: passkeytest.New(origin, rpID), mail: e.mail}
			begin, err := other.svc.SignupBegin(ctx, shared.SignupBeginRequest{Username: "zwj", Email: "zwj@example.com", DisplayName: "E\u0301ve 👩\u200D💻"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := other.key.Register(begin.Options)
			if err != nil {
				t.Fatal(err)
			}
			login, err := other.svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred, PasskeyName: "👨\u200D👩\u200D👧 family 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"}, chromeOnMac)
			if err != nil {
				t.Fatal(err)
			}
			u := login.User
			if u.DisplayName != "Éve 👩\u200D💻" {
				t.Errorf("display name %+q, want NFC with the ZWJ kept", u.DisplayName)
			}
			p, err := e.svc.RenamePasskey(ctx, eve, keys[0].UID, shared.PasskeyRenameRequest{Name: "Persian: می\u200Cخواهم 🧑\u200D🔬"})
			if err != nil || p.Name != "Persian: می\u200Cخواهم 🧑\u200D🔬" {
				t.Fatalf("rename with joiners: %+v, %v", p, err)
			}
		})
	})
}
