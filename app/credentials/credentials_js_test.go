//go:build js && wasm

package credentials

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/latchkey/latchkey/app/jsutil"
)

// Run under Node: GOOS=js GOARCH=wasm go test
// -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./app/credentials

func bytesOf(v js.Value) []byte {
	arr := js.Global().Get("Uint8Array").New(v)
	b := make([]byte, arr.Length())
	js.CopyBytesToGo(b, arr)
	return b
}

func buffer(b []byte) js.Value {
	arr := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(arr, b)
	return arr.Get("buffer")
}

func TestWithoutWebAuthnEveryCeremonyIsUnsupported(t *testing.T) {
	if Supported() {
		t.Skip("this JavaScript runtime has WebAuthn")
	}
	if _, err := Create(context.Background(), []byte(`{}`)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Create: %v", err)
	}
	if _, err := Get(context.Background(), []byte(`{}`), false); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Get: %v", err)
	}
}

func TestCreationOptionsFallbackDecodesBase64URLMembers(t *testing.T) {
	challenge, handle, excluded := []byte{0, 1, 2, 250, 251}, []byte("handle-bytes"), []byte{9, 9, 9}
	opts, _ := json.Marshal(map[string]any{
		"challenge":          base64.RawURLEncoding.EncodeToString(challenge),
		"rp":                 map[string]any{"id": "localhost", "name": "Latchkey"},
		"user":               map[string]any{"id": base64.RawURLEncoding.EncodeToString(handle), "name": "alice", "displayName": "Alice"},
		"excludeCredentials": []any{map[string]any{"type": "public-key", "id": base64.RawURLEncoding.EncodeToString(excluded)}},
	})
	o, err := creationOptionsFallback(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytesOf(o.Get("challenge")); string(got) != string(challenge) {
		t.Errorf("challenge %v", got)
	}
	if got := bytesOf(o.Get("user").Get("id")); string(got) != string(handle) {
		t.Errorf("user.id %v", got)
	}
	if got := bytesOf(o.Get("excludeCredentials").Index(0).Get("id")); string(got) != string(excluded) {
		t.Errorf("excludeCredentials[0].id %v", got)
	}
	if o.Get("user").Get("name").String() != "alice" {
		t.Error("other members changed")
	}
	if _, err := creationOptionsFallback([]byte(`{"challenge":"not base64!"}`)); err == nil {
		t.Error("a malformed challenge was accepted")
	}
}

// A PublicKeyCredential as an older browser hands it over, without toJSON.
func TestCredentialFallbackMakesTheJSONTheServerReads(t *testing.T) {
	cred := js.Global().Get("Object").New()
	cred.Set("id", "AQID")
	cred.Set("rawId", buffer([]byte{1, 2, 3}))
	cred.Set("type", "public-key")
	cred.Set("authenticatorAttachment", "platform")
	resp := js.Global().Get("Object").New()
	resp.Set("clientDataJSON", buffer([]byte(`{"type":"webauthn.get"}`)))
	resp.Set("authenticatorData", buffer([]byte{7, 7}))
	resp.Set("signature", buffer([]byte{8}))
	resp.Set("userHandle", buffer([]byte("h")))
	cred.Set("response", resp)

	raw, err := credentialJSONFallback(cred)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID, RawID, Type, AuthenticatorAttachment string
		Response                                 map[string]string
		ClientExtensionResults                   map[string]any
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	if got.ID != "AQID" || got.RawID != b64([]byte{1, 2, 3}) || got.Type != "public-key" || got.AuthenticatorAttachment != "platform" ||
		got.Response["authenticatorData"] != b64([]byte{7, 7}) || got.Response["signature"] != b64([]byte{8}) ||
		got.Response["userHandle"] != b64([]byte("h")) || got.Response["clientDataJSON"] != b64([]byte(`{"type":"webauthn.get"}`)) ||
		got.ClientExtensionResults == nil {
		t.Errorf("credential JSON %s", raw)
	}
}

// Cancelling the context of a pending Get (an autofill request the person
// withdrew by pressing a button) aborts the browser's request, so that the
// modal prompt that follows is not refused.
func TestCancellingGetAbortsTheRequest(t *testing.T) {
	if Supported() {
		t.Skip("this JavaScript runtime has WebAuthn")
	}
	g := js.Global()
	g.Set("PublicKeyCredential", js.ValueOf(map[string]any{}))
	g.Set("navigator", js.ValueOf(map[string]any{"credentials": map[string]any{}}))
	t.Cleanup(func() {
		g.Delete("PublicKeyCredential")
		g.Delete("navigator")
	})
	pending, aborted := make(chan struct{}), make(chan struct{})
	get := js.FuncOf(func(this js.Value, args []js.Value) any {
		close(pending)
		signal := args[0].Get("signal")
		return g.Get("Promise").New(js.FuncOf(func(this js.Value, pa []js.Value) any {
			signal.Call("addEventListener", "abort", js.FuncOf(func(js.Value, []js.Value) any {
				close(aborted)
				pa[1].Invoke(map[string]any{"name": "AbortError", "message": "aborted"})
				return nil
			}))
			return nil
		}))
	})
	defer get.Release()
	g.Get("navigator").Get("credentials").Set("get", get)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Get(ctx, []byte(`{"challenge":"AAAA"}`), true)
		done <- err
	}()
	<-pending
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Get after cancel: %v", err)
	}
	select {
	case <-aborted:
	case <-time.After(time.Second):
		t.Error("the request was not aborted")
	}
}

// The browser's DOMException names become the errors the pages explain.
func TestClassifyNamesTheBrowsersRefusals(t *testing.T) {
	for name, want := range map[string]error{
		"NotAllowedError": ErrCancelled, "AbortError": ErrCancelled, "InvalidStateError": ErrExcluded,
		"SecurityError": ErrSecurity, "NotSupportedError": ErrUnsupported,
	} {
		err := classify(&jsutil.JSError{Name: name, Message: "why"})
		if !errors.Is(err, want) || !strings.HasSuffix(err.Error(), " (why)") {
			t.Errorf("%s: %v", name, err)
		}
	}
	other := &jsutil.JSError{Name: "UnknownError", Message: "x"}
	if err := classify(other); err != other {
		t.Errorf("an unknown exception became %v", err)
	}
	plain := errors.New("plain")
	if err := classify(plain); err != plain {
		t.Errorf("a plain error became %v", err)
	}
}
