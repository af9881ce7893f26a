package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// The credential fuzz targets drive the domain's finish paths, the only
// code that hands client JSON to go-webauthn, with whatever a client could
// send. Their seeds are real browser output (testdata/fuzz/*/chromium-*,
// written by server/e2e's TestBrowserCredentialsAreFuzzSeeds) and the test
// authenticator's. Whatever arrives, the answer is success or an *auth.Error
// whose code is a client error: never a panic, never a 500.
//
// The browser seeds answer another ceremony, so each input's clientDataJSON
// gets this ceremony's challenge and origin spliced in (byte for byte,
// nothing else re-encoded). A registration with "none" attestation signs
// nothing, so mutated registrations can reach the attestation, authenticator
// data and COSE key parsing; assertions reach the signature check.
const (
	fuzzOrigin = "http://localhost:8080"
	fuzzRPID   = "localhost"
)

// fuzzService is a service on SQLite and in-process stores, as a single
// instance runs.
func fuzzService(f *testing.F) *auth.Service {
	st := teststores.SQLite(f)
	svc, err := auth.New(st.Users, st.Challenges, st.Sessions, auth.Options{
		Origin: fuzzOrigin, RPID: fuzzRPID,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.Fatal(err)
	}
	return svc
}

// clientErrorCodes are the codes a finish may answer with; the rest (internal,
// unavailable) would be a 5xx.
var clientErrorCodes = map[string]bool{
	shared.CodeInvalidInput: true, shared.CodeCeremonyInvalid: true, shared.CodeCredentialRejected: true,
	shared.CodeUsernameTaken: true, shared.CodeEmailTaken: true, shared.CodeUserNotFound: true,
}

func wantClientError(t *testing.T, what string, cred []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ae *auth.Error
	if !errors.As(err, &ae) || !clientErrorCodes[ae.Code] || ae.Message == "" {
		t.Fatalf("%s with credential %q: %v (%T, code %q), want a client error", what, cred, err, err, auth.ErrorCode(err))
	}
}

// readSeeds returns the inputs of a committed seed corpus
// (testdata/fuzz/NAME), in Go's corpus file format with one []byte value.
func readSeeds(f *testing.F, name string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		header, value, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		lit, ok := strings.CutPrefix(strings.TrimSpace(value), "[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		if header != "go test fuzz v1" || !ok || !ok2 {
			f.Fatalf("%s is not a corpus file with one []byte", file)
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// spliceClientData replaces the challenge and origin inside the
// clientDataJSON of cred, leaving every other byte as it was. Input it
// cannot find them in is returned unchanged.
func spliceClientData(cred []byte, challenge, origin string) []byte {
	const member = `"clientDataJSON":"`
	i := bytes.Index(cred, []byte(member))
	if i < 0 {
		return cred
	}
	start := i + len(member)
	n := bytes.IndexByte(cred[start:], '"')
	if n < 0 {
		return cred
	}
	cd, err := base64.RawURLEncoding.DecodeString(string(cred[start : start+n]))
	if err != nil {
		return cred
	}
	cd = replaceString(cd, "challenge", challenge)
	cd = replaceString(cd, "origin", origin)
	out := append([]byte{}, cred[:start]...)
	out = append(out, base64.RawURLEncoding.EncodeToString(cd)...)
	return append(out, cred[start+n:]...)
}

// replaceString sets the first "name":"…" string member of a JSON text.
func replaceString(b []byte, name, value string) []byte {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(b, key)
	if i < 0 {
		return b
	}
	start := i + len(key)
	n := bytes.IndexByte(b[start:], '"')
	if n < 0 {
		return b
	}
	out := append([]byte{}, b[:start]...)
	out = append(out, value...)
	return append(out, b[start+n:]...)
}

// challengeOf reads the challenge out of a ceremony's options.
func challengeOf(t testing.TB, options json.RawMessage) string {
	var o struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.Challenge == "" {
		t.Fatalf("options without a challenge: %s (%v)", options, err)
	}
	return o.Challenge
}

var fuzzUsers atomic.Int64

// signupCeremony begins a sign-up under a fresh name.
func signupCeremony(t testing.TB, svc *auth.Service) *shared.CeremonyResponse {
	begin, _ := signupCeremonyNamed(t, svc)
	return begin
}

func signupCeremonyNamed(t testing.TB, svc *auth.Service) (*shared.CeremonyResponse, string) {
	name := fmt.Sprintf("fuzz%d", fuzzUsers.Add(1))
	begin, err := svc.SignupBegin(context.Background(), shared.SignupBeginRequest{Username: name, Email: name + "@example.com"})
	if err != nil {
		t.Fatalf("signup begin: %v", err)
	}
	return begin, name
}

func FuzzRegistrationCredential(f *testing.F) {
	svc := fuzzService(f)
	ctx := context.Background()
	for _, seed := range readSeeds(f, "FuzzRegistrationCredential") {
		f.Add(seed)
	}
	key := passkeytest.New(fuzzOrigin, fuzzRPID)
	reg, err := key.Register(signupCeremony(f, svc).Options)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(reg))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`))
	f.Fuzz(func(t *testing.T, cred []byte) {
		begin := signupCeremony(t, svc)
		cred = spliceClientData(cred, challengeOf(t, begin.Options), fuzzOrigin)
		_, err := svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, auth.Client{})
		wantClientError(t, "SignupFinish", cred, err)
	})
}

func FuzzAssertionCredential(f *testing.F) {
	svc := fuzzService(f)
	ctx := context.Background()
	// The browser's assertions are for the passkeys its registrations
	// created: register those first, so that assertions find their user and
	// public key and fail, at the earliest, at the signature.
	for _, reg := range readSeeds(f, "FuzzRegistrationCredential") {
		begin := signupCeremony(f, svc)
		reg = spliceClientData(reg, challengeOf(f, begin.Options), fuzzOrigin)
		if _, err := svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: reg}, auth.Client{}); err != nil {
			f.Fatalf("registering a browser seed: %v", err)
		}
	}
	for _, seed := range readSeeds(f, "FuzzAssertionCredential") {
		f.Add(seed)
	}
	// And the test authenticator's, which verify in full as they are.
	key := passkeytest.New(fuzzOrigin, fuzzRPID)
	begin, username := signupCeremonyNamed(f, svc)
	reg, err := key.Register(begin.Options)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.SignupFinish(ctx, shared.SignupFinishRequest{Ceremony: begin.Ceremony, Credential: reg}, auth.Client{}); err != nil {
		f.Fatal(err)
	}
	login, err := svc.LoginBegin(ctx, shared.LoginBeginRequest{})
	if err != nil {
		f.Fatal(err)
	}
	asn, err := key.Login(login.Options)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(asn))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{"userHandle":""}}`))
	f.Fuzz(func(t *testing.T, cred []byte) {
		// Discoverable (the assertion's user handle chooses the user) and
		// named.
		for _, name := range []string{"", username} {
			begin, err := svc.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: name})
			if err != nil {
				t.Fatalf("login begin: %v", err)
			}
			cred := spliceClientData(cred, challengeOf(t, begin.Options), fuzzOrigin)
			_, err = svc.LoginFinish(ctx, shared.LoginFinishRequest{Ceremony: begin.Ceremony, Credential: cred}, auth.Client{})
			wantClientError(t, "LoginFinish", cred, err)
		}
	})
}
