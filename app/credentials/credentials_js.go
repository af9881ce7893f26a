//go:build js && wasm

package credentials

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"syscall/js"

	"github.com/latchkey/latchkey/app/jsutil"
)

// Supported reports whether the browser offers WebAuthn.
func Supported() bool {
	return js.Global().Get("PublicKeyCredential").Truthy() &&
		js.Global().Get("navigator").Get("credentials").Truthy()
}

// ConditionalMediationAvailable reports whether passkey autofill works here.
func ConditionalMediationAvailable(ctx context.Context) bool {
	pkc := js.Global().Get("PublicKeyCredential")
	if !pkc.Truthy() || !pkc.Get("isConditionalMediationAvailable").Truthy() {
		return false
	}
	v, err := jsutil.Await(ctx, pkc.Call("isConditionalMediationAvailable"))
	return err == nil && v.Truthy()
}

// Create runs navigator.credentials.create with PublicKeyCredentialCreationOptionsJSON
// and returns RegistrationResponseJSON.
func Create(ctx context.Context, optionsJSON []byte) ([]byte, error) {
	if !Supported() {
		return nil, ErrUnsupported
	}
	pkc := js.Global().Get("PublicKeyCredential")
	var publicKey js.Value
	if pkc.Get("parseCreationOptionsFromJSON").Truthy() {
		v, err := jsutil.Call(pkc, "parseCreationOptionsFromJSON", parseJSON(optionsJSON))
		if err != nil {
			return nil, fmt.Errorf("reading the creation options: %w", err)
		}
		publicKey = v
	} else {
		v, err := creationOptionsFallback(optionsJSON)
		if err != nil {
			return nil, err
		}
		publicKey = v
	}
	return run(ctx, "create", map[string]any{"publicKey": publicKey})
}

// Get runs navigator.credentials.get with PublicKeyCredentialRequestOptionsJSON
// and returns AuthenticationResponseJSON. Conditional mediation is passkey
// autofill: the browser waits for the person to pick a passkey in a field
// marked autocomplete="username webauthn", until ctx is cancelled.
func Get(ctx context.Context, optionsJSON []byte, conditional bool) ([]byte, error) {
	if !Supported() {
		return nil, ErrUnsupported
	}
	pkc := js.Global().Get("PublicKeyCredential")
	var publicKey js.Value
	if pkc.Get("parseRequestOptionsFromJSON").Truthy() {
		v, err := jsutil.Call(pkc, "parseRequestOptionsFromJSON", parseJSON(optionsJSON))
		if err != nil {
			return nil, fmt.Errorf("reading the request options: %w", err)
		}
		publicKey = v
	} else {
		v, err := requestOptionsFallback(optionsJSON)
		if err != nil {
			return nil, err
		}
		publicKey = v
	}
	opts := map[string]any{"publicKey": publicKey}
	if conditional {
		opts["mediation"] = "conditional"
	}
	// An AbortController lets a pending autofill request be withdrawn when
	// the person presses a button that starts a modal prompt instead: run
	// returns as soon as ctx ends, and the browser's request is aborted
	// then. (Not with context.AfterFunc: it links a context type of its
	// own into the wasm.)
	ac := js.Global().Get("AbortController").New()
	opts["signal"] = ac.Get("signal")
	cred, err := run(ctx, "get", opts)
	if ctx.Err() != nil {
		ac.Call("abort")
	}
	return cred, err
}

func run(ctx context.Context, method string, opts map[string]any) ([]byte, error) {
	p, err := jsutil.Call(js.Global().Get("navigator").Get("credentials"), method, opts)
	if err != nil {
		return nil, classify(err)
	}
	cred, err := jsutil.Await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classify(err)
	}
	if cred.IsNull() || cred.IsUndefined() {
		return nil, ErrCancelled
	}
	if cred.Get("toJSON").Truthy() {
		if v, err := jsutil.Call(cred, "toJSON"); err == nil {
			return []byte(js.Global().Get("JSON").Call("stringify", v).String()), nil
		}
	}
	return credentialJSONFallback(cred)
}

func classify(err error) error {
	je, ok := err.(*jsutil.JSError)
	if !ok {
		return err
	}
	var kind error
	switch je.Name {
	case "NotAllowedError", "AbortError":
		kind = ErrCancelled
	case "InvalidStateError":
		kind = ErrExcluded
	case "SecurityError":
		kind = ErrSecurity
	case "NotSupportedError":
		kind = ErrUnsupported
	default:
		return err
	}
	return fmt.Errorf("%w (%s)", kind, je.Message)
}

func parseJSON(b []byte) js.Value {
	return js.Global().Get("JSON").Call("parse", string(b))
}

// The fallbacks below serve browsers without the WebAuthn Level 3 JSON
// helpers: they turn the base64url members into ArrayBuffers and back.

func creationOptionsFallback(optionsJSON []byte) (js.Value, error) {
	o := parseJSON(optionsJSON)
	if err := b64Field(o, "challenge"); err != nil {
		return js.Undefined(), err
	}
	if err := b64Field(o.Get("user"), "id"); err != nil {
		return js.Undefined(), err
	}
	if err := b64List(o.Get("excludeCredentials")); err != nil {
		return js.Undefined(), err
	}
	return o, nil
}

func requestOptionsFallback(optionsJSON []byte) (js.Value, error) {
	o := parseJSON(optionsJSON)
	if err := b64Field(o, "challenge"); err != nil {
		return js.Undefined(), err
	}
	if err := b64List(o.Get("allowCredentials")); err != nil {
		return js.Undefined(), err
	}
	return o, nil
}

func b64List(list js.Value) error {
	if list.IsUndefined() || list.IsNull() {
		return nil
	}
	for i := 0; i < list.Length(); i++ {
		if err := b64Field(list.Index(i), "id"); err != nil {
			return err
		}
	}
	return nil
}

func b64Field(obj js.Value, name string) error {
	if obj.IsUndefined() || obj.IsNull() || obj.Get(name).Type() != js.TypeString {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(obj.Get(name).String())
	if err != nil {
		return fmt.Errorf("the server sent a malformed %s: %w", name, err)
	}
	arr := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(arr, b)
	obj.Set(name, arr.Get("buffer"))
	return nil
}

func bufferB64(v js.Value) string {
	if v.IsUndefined() || v.IsNull() {
		return ""
	}
	arr := js.Global().Get("Uint8Array").New(v)
	b := make([]byte, arr.Length())
	js.CopyBytesToGo(b, arr)
	return base64.RawURLEncoding.EncodeToString(b)
}

func credentialJSONFallback(cred js.Value) ([]byte, error) {
	resp := cred.Get("response")
	r := map[string]any{"clientDataJSON": bufferB64(resp.Get("clientDataJSON"))}
	if ao := resp.Get("attestationObject"); ao.Truthy() {
		r["attestationObject"] = bufferB64(ao)
		transports := []string{}
		if resp.Get("getTransports").Truthy() {
			t := resp.Call("getTransports")
			for i := 0; i < t.Length(); i++ {
				transports = append(transports, t.Index(i).String())
			}
		}
		r["transports"] = transports
	} else {
		r["authenticatorData"] = bufferB64(resp.Get("authenticatorData"))
		r["signature"] = bufferB64(resp.Get("signature"))
		if uh := resp.Get("userHandle"); uh.Truthy() {
			r["userHandle"] = bufferB64(uh)
		}
	}
	ext := map[string]any{}
	if cred.Get("getClientExtensionResults").Truthy() {
		raw := js.Global().Get("JSON").Call("stringify", cred.Call("getClientExtensionResults")).String()
		_ = json.Unmarshal([]byte(raw), &ext)
	}
	out := map[string]any{
		"id":                     cred.Get("id").String(),
		"rawId":                  bufferB64(cred.Get("rawId")),
		"type":                   cred.Get("type").String(),
		"response":               r,
		"clientExtensionResults": ext,
	}
	if a := cred.Get("authenticatorAttachment"); a.Type() == js.TypeString {
		out["authenticatorAttachment"] = a.String()
	}
	return json.Marshal(out)
}
