//go:build js && wasm

package jsutil

import (
	"context"
	"syscall/js"
	"testing"
	"time"
)

// These run under Node: GOOS=js GOARCH=wasm go test
// -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./app/jsutil

func promise(ms int, ok bool, v string) js.Value {
	return js.Global().Get("Promise").New(js.FuncOf(func(this js.Value, args []js.Value) any {
		settle := args[1]
		if ok {
			settle = args[0]
		}
		js.Global().Call("setTimeout", js.FuncOf(func(js.Value, []js.Value) any {
			if ok {
				settle.Invoke(v)
			} else {
				settle.Invoke(js.Global().Get("Error").New(v))
			}
			return nil
		}), ms)
		return nil
	}))
}

func TestAwaitResolvesAndRejects(t *testing.T) {
	v, err := Await(context.Background(), promise(1, true, "done"))
	if err != nil || v.String() != "done" {
		t.Fatalf("resolve: %v %v", v, err)
	}
	_, err = Await(context.Background(), promise(1, false, "nope"))
	je, ok := err.(*JSError)
	if !ok || je.Name != "Error" || je.Message != "nope" {
		t.Fatalf("reject: %#v", err)
	}
}

// A promise abandoned on cancellation still settles later and calls back
// into Go; that must not hit a released function (a crash in the page).
func TestAwaitSurvivesAPromiseThatSettlesAfterCancel(t *testing.T) {
	// syscall/js reports a call to a released function on console.error.
	console := js.Global().Get("console")
	orig := console.Get("error")
	var logged []string
	hook := js.FuncOf(func(this js.Value, args []js.Value) any {
		for _, a := range args {
			logged = append(logged, a.String())
		}
		return nil
	})
	console.Set("error", hook)
	defer func() {
		console.Set("error", orig)
		hook.Release()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := Await(ctx, promise(50, false, "aborted")); err != context.DeadlineExceeded {
		t.Fatalf("got %v", err)
	}
	// Let the promise settle; a released callback would panic the runtime.
	if _, err := Await(context.Background(), promise(100, true, "later")); err != nil {
		t.Fatal(err)
	}
	if len(logged) > 0 {
		t.Fatalf("the late settlement reached Go badly: %v", logged)
	}
}

func TestCallTurnsExceptionsIntoErrors(t *testing.T) {
	_, err := Call(js.Global().Get("JSON"), "parse", "{not json")
	je, ok := err.(*JSError)
	if !ok || je.Name != "SyntaxError" {
		t.Fatalf("got %#v", err)
	}
}
