//go:build js && wasm

// Package jsutil bridges JavaScript promises and errors to Go for the wasm.
package jsutil

import (
	"context"
	"syscall/js"
)

// JSError is a JavaScript exception or rejection (often a DOMException).
type JSError struct {
	Name    string
	Message string
}

func (e *JSError) Error() string { return e.Name + ": " + e.Message }

// Await blocks the calling goroutine until p settles. It must not run on the
// goroutine that handles JS events (use ctx.Async in components).
func Await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	onOK := js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	onErr := js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- result{err: ToError(arg0(args))}
		return nil
	})
	release := func() {
		onOK.Release()
		onErr.Release()
	}
	p.Call("then", onOK, onErr)
	select {
	case r := <-ch:
		release()
		return r.v, r.err
	case <-ctx.Done():
		// The promise will still settle (an aborted WebAuthn request
		// rejects a moment later) and call back into Go; the callbacks must
		// live until then.
		go func() {
			<-ch
			release()
		}()
		return js.Undefined(), ctx.Err()
	}
}

// Call invokes a method and turns a thrown exception into an error.
func Call(v js.Value, method string, args ...any) (r js.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			// syscall/js panics with the thrown value as a js.Error, never
			// wrapped.
			if je, ok := p.(js.Error); ok {
				err = ToError(je.Value)
				return
			}
			panic(p)
		}
	}()
	return v.Call(method, args...), nil
}

// ToError converts a thrown JavaScript value to a *JSError.
func ToError(v js.Value) error {
	if v.Type() == js.TypeObject {
		return &JSError{Name: v.Get("name").String(), Message: v.Get("message").String()}
	}
	return &JSError{Name: "Error", Message: v.String()}
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}
