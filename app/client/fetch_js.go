//go:build js && wasm

package client

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/latchkey/latchkey/app/jsutil"
)

// New returns a client for the origin the page was loaded from.
func New() *Client { return &Client{t: fetchTransport{}} }

type fetchTransport struct{}

func (fetchTransport) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	headers := map[string]any{"Accept": "application/json"}
	init := map[string]any{"method": method, "credentials": "same-origin", "cache": "no-store"}
	if body != nil {
		headers["Content-Type"] = "application/json"
		init["body"] = string(body)
	}
	init["headers"] = headers
	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", path, init))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrNetwork, err)
	}
	text, err := jsutil.Await(ctx, resp.Call("text"))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the answer: %v", ErrNetwork, err)
	}
	return resp.Get("status").Int(), []byte(text.String()), nil
}
