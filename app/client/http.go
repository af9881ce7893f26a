//go:build !js

package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
)

// NewHTTP returns a client for the server at baseURL (scheme://host[:port]).
// A nil hc gets a client with its own cookie jar, which is what keeps the
// session between calls.
func NewHTTP(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		jar, _ := cookiejar.New(nil)
		hc = &http.Client{Jar: jar}
	}
	return &Client{t: httpTransport{base: strings.TrimRight(baseURL, "/"), hc: hc}}
}

type httpTransport struct {
	base string
	hc   *http.Client
}

func (t httpTransport) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrNetwork, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the answer: %v", ErrNetwork, err)
	}
	return resp.StatusCode, b, nil
}
