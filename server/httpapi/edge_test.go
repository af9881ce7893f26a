package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/internal/teststores"
	"github.com/latchkey/latchkey/shared"
)

// testOrigin is the PUBLIC_URL of the servers built here.
const testOrigin = "https://latchkey.example"

// fakePWA stands in for the PWA handler.
var fakePWA = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "page")
})

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTestServer(t *testing.T, checks ...Check) *Server {
	t.Helper()
	return New(Options{
		Logger: discardLogger(),
		Origin: testOrigin,
		PWA:    fakePWA,
		Ready:  checks,
		Auth:   testAuth(t),
	})
}

// testAuth is a service on the embedded deployment's stores: the edge's
// own tests rarely reach it, but a server always has one.
func testAuth(t *testing.T) *auth.Service {
	t.Helper()
	st := teststores.SQLite(t)
	svc, err := auth.New(st.Users, st.Challenges, st.Sessions, auth.Options{
		Origin: testOrigin, RPID: "latchkey.example", Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeAPIError decodes an error response, failing the test unless it is one.
func decodeAPIError(t *testing.T, w *httptest.ResponseRecorder) shared.APIError {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %q", ct, w.Body.String())
	}
	var body shared.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error body without code or message: %q", w.Body.String())
	}
	return body.Error
}

func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) shared.APIError {
	t.Helper()
	if w.Code != status {
		t.Errorf("status %d, want %d; body %q", w.Code, status, w.Body.String())
	}
	e := decodeAPIError(t, w)
	if e.Code != code {
		t.Errorf("code %q, want %q (message %q)", e.Code, code, e.Message)
	}
	return e
}

func TestEveryResponseCarriesSecurityHeadersAndARequestID(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	post := func(target string, header map[string]string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		return r
	}
	cases := map[string]*http.Request{
		"a page":                         httptest.NewRequest(http.MethodGet, "/", nil),
		"liveness":                       httptest.NewRequest(http.MethodGet, "/healthz", nil),
		"readiness":                      httptest.NewRequest(http.MethodGet, "/readyz", nil),
		"an unknown API path":            httptest.NewRequest(http.MethodGet, "/api/no-such-endpoint", nil),
		"a POST to a page":               post("/", nil),
		"a refused cross-origin request": post("/api/no-such-endpoint", map[string]string{"Sec-Fetch-Site": "cross-site"}),
	}
	ids := map[string]bool{}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			w := serve(s, r)
			h := w.Header()
			csp := h.Get("Content-Security-Policy")
			for _, directive := range []string{"default-src 'self'", "'wasm-unsafe-eval'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, directive) {
					t.Errorf("Content-Security-Policy %q lacks %s", csp, directive)
				}
			}
			if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
				t.Errorf("Content-Security-Policy %q allows inline or eval'd script", csp)
			}
			want := map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
				"X-Frame-Options":        "DENY",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := h.Get("Strict-Transport-Security"); got != "" {
				t.Errorf("Strict-Transport-Security %q on a server that is not Secure", got)
			}
			id := h.Get("X-Request-Id")
			if len(id) < 16 {
				t.Errorf("X-Request-Id %q", id)
			}
			if ids[id] {
				t.Errorf("X-Request-Id %q repeated", id)
			}
			ids[id] = true
		})
	}
}

func TestSecureServersSendHSTS(t *testing.T) {
	t.Parallel()
	s := New(Options{Logger: discardLogger(), Origin: testOrigin, Secure: true, PWA: fakePWA, Auth: testAuth(t)})
	w := serve(s, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := w.Header().Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", got)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	// Liveness never depends on the stores: a failing one must not get the
	// process restarted.
	s := newTestServer(t, Check{Name: "database", Ping: func(context.Context) error { return errors.New("down") }})
	w := serve(s, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got := strings.TrimSpace(w.Body.String()); got != `{"status":"ok"}` {
		t.Errorf("body %s", got)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }

	t.Run("is 200 when every check pings fine", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, Check{Name: "database", Ping: ok}, Check{Name: "sessions", Ping: ok})
		w := serve(s, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var h shared.Health
		if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		if h.Status != "ok" || h.Checks["database"] != "ok" || h.Checks["sessions"] != "ok" || len(h.Checks) != 2 {
			t.Errorf("body %s", w.Body)
		}
	})

	t.Run("is 503 naming the check that failed, without its error", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t,
			Check{Name: "database", Ping: ok},
			Check{Name: "sessions", Ping: func(context.Context) error {
				return errors.New("dial tcp 10.1.2.3:6379: connection refused (password hunter2)")
			}})
		w := serve(s, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"status": "unavailable",
			"checks": map[string]any{"database": "ok", "sessions": "unreachable"},
		}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("body %s, want %v", w.Body, want)
		}
		if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "10.1.2.3") {
			t.Errorf("the check's error leaked: %s", w.Body)
		}
	})

	t.Run("answers even when a check blocks until its context ends", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t,
			Check{Name: "database", Ping: ok},
			Check{Name: "challenges", Ping: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}})
		done := make(chan *httptest.ResponseRecorder, 1)
		start := time.Now()
		go func() { done <- serve(s, httptest.NewRequest(http.MethodGet, "/readyz", nil)) }()
		select {
		case w := <-done:
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("status %d: %s", w.Code, w.Body)
			}
			var h shared.Health
			if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
				t.Fatal(err)
			}
			if h.Status != "unavailable" || h.Checks["challenges"] != "unreachable" || h.Checks["database"] != "ok" {
				t.Errorf("body %s", w.Body)
			}
			t.Logf("answered after %v", time.Since(start).Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Fatal("/readyz still waiting after 10s for a check that blocks until its context ends")
		}
	})
}

func TestRouting(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)

	t.Run("an unknown API path is a JSON 404", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			w := serve(s, httptest.NewRequest(method, "/api/no-such-endpoint", nil))
			wantError(t, w, http.StatusNotFound, shared.CodeNotFound)
		}
	})

	t.Run("every route in shared.Routes is served, at its method", func(t *testing.T) {
		for _, rt := range shared.Routes {
			rt = rt.With("some-id")
			r := httptest.NewRequest(rt.Method, rt.Path, strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			w := serve(s, r)
			if strings.Contains(w.Body.String(), "No API endpoint") {
				t.Errorf("%s: %d %s", rt.Pattern(), w.Code, w.Body)
			}
			// The same path with a method it does not have is not served.
			other := http.MethodPut
			w = serve(s, httptest.NewRequest(other, rt.Path, nil))
			if w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d %s", other, rt.Path, w.Code, w.Body)
			}
		}
	})

	t.Run("POST to a page is a JSON 405 with Allow", func(t *testing.T) {
		w := serve(s, httptest.NewRequest(http.MethodPost, "/", nil))
		wantError(t, w, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed)
		if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") {
			t.Errorf("Allow %q", allow)
		}
	})

	t.Run("GET and HEAD of a page reach the PWA", func(t *testing.T) {
		for _, path := range []string{"/", "/login", "/web/app.wasm"} {
			w := serve(s, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != http.StatusOK || w.Body.String() != "page" {
				t.Errorf("GET %s: %d %q", path, w.Code, w.Body)
			}
		}
		w := serve(s, httptest.NewRequest(http.MethodHead, "/", nil))
		if w.Code != http.StatusOK {
			t.Errorf("HEAD /: %d", w.Code)
		}
	})
}

func TestCrossOriginProtection(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	post := func(header map[string]string, host string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/no-such-endpoint", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		if host != "" {
			r.Host = host
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		return serve(s, r)
	}

	refused := map[string]map[string]string{
		"a cross-site fetch":                {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"a same-site fetch from a sibling":  {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.latchkey.example"},
		"an old browser's foreign Origin":   {"Origin": "https://evil.example"},
		"a cross-site fetch without Origin": {"Sec-Fetch-Site": "cross-site"},
		"an Origin naming another port":     {"Origin": "http://example.com:8081"},
	}
	for name, header := range refused {
		t.Run("refuses "+name, func(t *testing.T) {
			wantError(t, post(header, ""), http.StatusForbidden, shared.CodeForbidden)
		})
	}

	allowed := map[string]struct {
		header map[string]string
		host   string
	}{
		"a same-origin fetch":          {header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://example.com"}},
		"a request without headers":    {header: nil},
		"an old browser on our origin": {header: map[string]string{"Origin": "http://example.com"}},
		// Behind a proxy the Host is internal; PUBLIC_URL's origin is trusted.
		"PUBLIC_URL's origin behind a proxy": {header: map[string]string{"Origin": testOrigin}, host: "10.0.0.7:8080"},
	}
	for name, c := range allowed {
		t.Run("lets through "+name, func(t *testing.T) {
			wantError(t, post(c.header, c.host), http.StatusNotFound, shared.CodeNotFound)
		})
	}

	t.Run("never refuses a GET", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
		if w := serve(s, r); w.Code != http.StatusOK {
			t.Errorf("status %d", w.Code)
		}
	})
}

// captureLog is a logger whose output a test can read.
func captureLog() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func requestWithLogger(log *slog.Logger) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/x", nil)
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, &requestState{log: log}))
}

func TestWriteError(t *testing.T) {
	t.Parallel()

	t.Run("an auth.Error gets its code's status, message and field", func(t *testing.T) {
		log, _ := captureLog()
		w := httptest.NewRecorder()
		err := fmt.Errorf("signup: %w", &auth.Error{
			Code: shared.CodeUsernameTaken, Field: "username", Message: "That username is taken.",
			Err: errors.New("unique constraint users_username_key"),
		})
		writeError(w, requestWithLogger(log), err)
		e := wantError(t, w, http.StatusConflict, shared.CodeUsernameTaken)
		if e.Message != "That username is taken." || e.Field != "username" {
			t.Errorf("error %+v", e)
		}
		if strings.Contains(w.Body.String(), "constraint") {
			t.Errorf("developer detail sent: %s", w.Body)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
	})

	t.Run("every code maps to its table status", func(t *testing.T) {
		for _, code := range shared.Codes {
			w := httptest.NewRecorder()
			writeError(w, requestWithLogger(discardLogger()), &auth.Error{Code: code, Message: "m"})
			wantError(t, w, statusOf[code], code)
		}
	})

	t.Run("a plain error is a generic internal 500, logged in full", func(t *testing.T) {
		log, logged := captureLog()
		w := httptest.NewRecorder()
		writeError(w, requestWithLogger(log), errors.New("pq: password authentication failed for user latchkey"))
		e := wantError(t, w, http.StatusInternalServerError, shared.CodeInternal)
		if strings.Contains(w.Body.String(), "password") || strings.Contains(w.Body.String(), "pq:") {
			t.Errorf("internal detail sent: %s", w.Body)
		}
		if e.Field != "" || !strings.Contains(e.Message, "went wrong") {
			t.Errorf("error %+v", e)
		}
		if !strings.Contains(logged.String(), "password authentication failed") || !strings.Contains(logged.String(), "level=ERROR") {
			t.Errorf("log %q lacks the error", logged)
		}
	})

	t.Run("a status set where the error was made overrides the table", func(t *testing.T) {
		w := httptest.NewRecorder()
		writeError(w, requestWithLogger(discardLogger()), fmt.Errorf("login: %w",
			&auth.Error{Code: shared.CodeCredentialRejected, Message: "That passkey was not accepted.", Status: http.StatusUnauthorized}))
		wantError(t, w, http.StatusUnauthorized, shared.CodeCredentialRejected)
	})
}

func TestPanicsBecomeJSON500s(t *testing.T) {
	t.Parallel()
	log, logged := captureLog()

	t.Run("before anything is written", func(t *testing.T) {
		h := observe(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("nil map write in handler with token abc123")
		}))
		w := serve(h, httptest.NewRequest(http.MethodGet, "/api/x", nil))
		wantError(t, w, http.StatusInternalServerError, shared.CodeInternal)
		if strings.Contains(w.Body.String(), "abc123") {
			t.Errorf("panic value sent: %s", w.Body)
		}
		if w.Header().Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id")
		}
		if !strings.Contains(logged.String(), "nil map write") || !strings.Contains(logged.String(), "request_id=") {
			t.Errorf("log %q lacks the panic or the request id", logged)
		}
	})

	t.Run("after the status is written, nothing more is written", func(t *testing.T) {
		h := observe(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "partial")
			panic("late")
		}))
		w := serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code != http.StatusAccepted || w.Body.String() != "partial" {
			t.Errorf("got %d %q", w.Code, w.Body)
		}
	})

	t.Run("http.ErrAbortHandler still aborts", func(t *testing.T) {
		h := observe(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
	})
}

func TestEveryErrorCodeHasAStatus(t *testing.T) {
	t.Parallel()
	for _, code := range shared.Codes {
		status, ok := statusOf[code]
		if !ok {
			t.Errorf("statusOf has no entry for %q", code)
			continue
		}
		if status < 400 || status > 599 {
			t.Errorf("statusOf[%q] = %d, not an error status", code, status)
		}
	}
	for code := range statusOf {
		if !slices.Contains(shared.Codes, code) {
			t.Errorf("statusOf has %q, which is not in shared.Codes", code)
		}
	}
}

type nameBody struct {
	Name string `json:"name"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	big := `{"name":"` + strings.Repeat("a", maxBody) + `"}`
	cases := []struct {
		name        string
		contentType string
		body        string
		// want is the error code, "" for success.
		want      string
		wantField string
		wantName  string
	}{
		{name: "a valid object", contentType: "application/json", body: `{"name":"alice"}`, wantName: "alice"},
		{name: "a charset parameter", contentType: "application/json; charset=utf-8", body: `{"name":"bob"}`, wantName: "bob"},
		{name: "surrounding whitespace", contentType: "application/json", body: " \n{\"name\":\"carol\"}\n ", wantName: "carol"},
		{name: "an unknown field", contentType: "application/json", body: `{"name":"a","admin":true}`, want: shared.CodeInvalidInput, wantField: "admin"},
		{name: "a wrong type", contentType: "application/json", body: `{"name":42}`, want: shared.CodeInvalidInput, wantField: "name"},
		{name: "an array instead of an object", contentType: "application/json", body: `["alice"]`, want: shared.CodeInvalidInput},
		{name: "trailing data", contentType: "application/json", body: `{"name":"a"} x`, want: shared.CodeInvalidInput},
		{name: "a second object", contentType: "application/json", body: `{"name":"a"}{"name":"b"}`, want: shared.CodeInvalidInput},
		{name: "a trailing empty object", contentType: "application/json", body: `{"name":"a"} {}`, want: shared.CodeInvalidInput},
		{name: "an empty body", contentType: "application/json", body: ``, want: shared.CodeInvalidInput},
		{name: "an empty body without Content-Type", body: ``, want: shared.CodeInvalidInput},
		{name: "a syntax error", contentType: "application/json", body: `{"name" "a"}`, want: shared.CodeInvalidInput},
		{name: "a body cut short", contentType: "application/json", body: `{"name":"a`, want: shared.CodeInvalidInput},
		{name: "a body over the limit", contentType: "application/json", body: big, want: shared.CodeBodyTooLarge},
		{name: "a valid object padded over the limit", contentType: "application/json", body: `{"name":"a"}` + strings.Repeat(" ", maxBody), want: shared.CodeBodyTooLarge},
		{name: "text/plain", contentType: "text/plain", body: `{"name":"a"}`, want: shared.CodeUnsupportedMedia},
		{name: "a form", contentType: "application/x-www-form-urlencoded", body: `name=a`, want: shared.CodeUnsupportedMedia},
		{name: "a body without Content-Type", body: `{"name":"a"}`, want: shared.CodeUnsupportedMedia},
		{name: "a malformed Content-Type", contentType: "application/json; charset", body: `{"name":"a"}`, want: shared.CodeUnsupportedMedia},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/x", strings.NewReader(c.body))
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			w := httptest.NewRecorder()
			var v nameBody
			err := decode(w, r, &v)
			if c.want == "" {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if v.Name != c.wantName {
					t.Errorf("name %q, want %q", v.Name, c.wantName)
				}
				return
			}
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("decode returned %v (%T), want an *auth.Error", err, err)
			}
			if ae.Code != c.want || ae.Field != c.wantField {
				t.Errorf("code %q field %q, want %q field %q (message %q)", ae.Code, ae.Field, c.want, c.wantField, ae.Message)
			}
			if ae.Message == "" {
				t.Error("no message")
			}
			// And the status it becomes.
			writeError(w, requestWithLogger(discardLogger()), err)
			want := map[string]int{
				shared.CodeInvalidInput:     http.StatusBadRequest,
				shared.CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
				shared.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
			}[c.want]
			if w.Code != want {
				t.Errorf("status %d, want %d", w.Code, want)
			}
		})
	}
}

func TestDecodeJSONWithoutHTTP(t *testing.T) {
	t.Parallel()
	var v nameBody
	if err := decodeJSON(strings.NewReader(`{"name":"dave"}`), &v); err != nil || v.Name != "dave" {
		t.Errorf("decodeJSON: %v, %+v", err, v)
	}
	err := decodeJSON(strings.NewReader(`{"nmae":"dave"}`), &v)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != shared.CodeInvalidInput || ae.Field != "nmae" {
		t.Errorf("unknown field: %v", err)
	}
}

// FuzzDecodeJSON feeds request bodies to decode for two real request types:
// whatever arrives, the answer is success or a client error, never a panic
// and never a 500.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"username":"alice","email":"a@example.com"}`,
		`{"username":"alice","email":"a@example.com","display_name":"Alice A."}`,
		`{"ceremony":"x","credential":{"id":"abc","type":"public-key"}}`,
		`{"ceremony":"x","credential":{"id":"abc","rawId":"abc","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0","attestationObject":"o2NmbXRkbm9uZQ"}},"passkey_name":"Laptop"}`,
		`{}`,
		`[]`,
		`null`,
		`{"a":1}{"b":2}`,
		`{"username":1}`,
		`{"credential":}`,
		`{"username":"\ud800"}`,
		`{"ceremony":"x","credential":{"id":"abc"`,
		"",
		" ",
		`"just a string"`,
		`{"username":"alice","username":"bob"}`,
		`{"USERNAME":"alice"}`,
	} {
		f.Add([]byte(seed))
	}
	allowed := []string{shared.CodeInvalidInput, shared.CodeBodyTooLarge, shared.CodeUnsupportedMedia}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&shared.SignupBeginRequest{}, &shared.SignupFinishRequest{}} {
			r := httptest.NewRequest(http.MethodPost, "/api/signup/begin", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decode(httptest.NewRecorder(), r, v)
			if err == nil {
				continue
			}
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("decode(%q) into %T returned %v (%T), not an *auth.Error", body, v, err, err)
			}
			if !slices.Contains(allowed, ae.Code) {
				t.Fatalf("decode(%q) into %T: code %q (%s)", body, v, ae.Code, ae.Message)
			}
			if ae.Message == "" {
				t.Fatalf("decode(%q) into %T: empty message", body, v)
			}
		}
	})
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	nets := func(cidrs ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, c := range cidrs {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	proxies := nets("10.0.0.0/8", "fd00::/8")
	cases := []struct {
		name    string
		remote  string
		xff     []string
		trusted []*net.IPNet
		want    string
	}{
		{name: "the peer when no proxy is trusted", remote: "203.0.113.9:51234", xff: []string{"198.51.100.1"}, want: "203.0.113.9"},
		{name: "an IPv6 peer", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "the peer when it is not a trusted proxy", remote: "203.0.113.9:51234", xff: []string{"198.51.100.1"}, trusted: proxies, want: "203.0.113.9"},
		{name: "the hop a trusted proxy saw", remote: "10.0.0.2:40000", xff: []string{"198.51.100.1"}, trusted: proxies, want: "198.51.100.1"},
		{name: "not a spoofed leading entry", remote: "10.0.0.2:40000", xff: []string{"1.1.1.1, 198.51.100.1"}, trusted: proxies, want: "198.51.100.1"},
		{name: "the last untrusted hop through a chain of proxies", remote: "10.0.0.2:40000", xff: []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, trusted: proxies, want: "198.51.100.1"},
		// A proxy may add its own X-Forwarded-For line (HAProxy's option
		// forwardfor does) after the one the client sent; the lines are one
		// list (RFC 9110, 5.3).
		{name: "several X-Forwarded-For lines as one list", remote: "10.0.0.2:40000", xff: []string{"6.6.6.6", "198.51.100.1"}, trusted: proxies, want: "198.51.100.1"},
		{name: "an IPv6 client behind an IPv6 proxy", remote: "[fd00::2]:40000", xff: []string{"2001:db8::7"}, trusted: proxies, want: "2001:db8::7"},
		{name: "the proxy when it sends no X-Forwarded-For", remote: "10.0.0.2:40000", trusted: proxies, want: "10.0.0.2"},
		{name: "not a garbage hop", remote: "10.0.0.2:40000", xff: []string{"198.51.100.1, not-an-ip"}, trusted: proxies, want: "10.0.0.2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, c.trusted); got != c.want {
				t.Errorf("clientIP = %q, want %q", got, c.want)
			}
		})
	}
}
