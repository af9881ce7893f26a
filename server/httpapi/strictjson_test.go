package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// postBytes sends body as it is (the Go client would re-encode it) and
// returns the status and the error body.
func postBytes(t *testing.T, u string, body []byte) (int, shared.APIError) {
	t.Helper()
	resp, err := http.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb shared.ErrorBody
	_ = json.Unmarshal(b, &eb)
	return resp.StatusCode, eb.Error
}

// withMember puts `"name":value` first in a JSON object, unchecked: a
// duplicate or invalid UTF-8 stays as written.
func withMember(obj []byte, name, value string) []byte {
	return append([]byte(`{"`+name+`":`+value+`,`), obj[1:]...)
}

// TestStrictJSON: a field name must match exactly, a name may appear once
// and strings must be valid UTF-8, at the top level and inside the
// credential the WebAuthn library parses (whose encoding/json would take
// the last duplicate and replace bad bytes). Each is a 400 before the
// domain sees the request, so the ceremony is still there afterwards.
func TestStrictJSON(t *testing.T) {
	ctx := context.Background()
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPI(t, s)
			begin := a.URL + shared.APISignupBegin

			t.Run("a field name in another case is an unknown field", func(t *testing.T) {
				status, e := postBytes(t, begin, []byte(`{"Username":"carol","email":"carol@example.com"}`))
				if status != http.StatusBadRequest || e.Code != shared.CodeInvalidInput || e.Field != "Username" {
					t.Errorf("got %d %+v, want 400 invalid_input naming Username", status, e)
				}
			})
			t.Run("a duplicate field is refused, named", func(t *testing.T) {
				status, e := postBytes(t, begin, []byte(`{"username":"carol","email":"carol@example.com","username":"mallory"}`))
				if status != http.StatusBadRequest || e.Code != shared.CodeInvalidInput || e.Field != "username" {
					t.Errorf("got %d %+v, want 400 invalid_input naming username", status, e)
				}
			})
			t.Run("invalid UTF-8 is refused, not replaced", func(t *testing.T) {
				status, e := postBytes(t, begin, []byte("{\"username\":\"carol\",\"email\":\"carol@example.com\",\"display_name\":\"Car\xffol\"}"))
				if status != http.StatusBadRequest || e.Code != shared.CodeInvalidInput {
					t.Errorf("got %d %+v, want 400 invalid_input", status, e)
				}
			})

			key := passkeytest.New(a.URL, "localhost")
			c := client.NewHTTP(a.URL, nil)
			finish := func(url, ceremony string, cred []byte) (int, shared.APIError) {
				body := append([]byte(`{"ceremony":"`+ceremony+`","credential":`), cred...)
				return postBytes(t, url, append(body, '}'))
			}
			// Each tampered credential is one the library would accept: a
			// second "type" with the same value, or an extra member it
			// ignores. After the refusal the untampered credential finishes
			// the same ceremony: the domain never saw the tampered one.
			tampers := []struct {
				name  string
				apply func([]byte) []byte
				field string
			}{
				{"a duplicate member", func(c []byte) []byte { return withMember(c, "type", `"public-key"`) }, "credential.type"},
				{"a nested duplicate", func(c []byte) []byte {
					return withMember(c, "clientExtensionResults", `{"credProps":{},"credProps":{}}`)
				}, "credential.clientExtensionResults.credProps"},
				{"invalid UTF-8", func(c []byte) []byte { return withMember(c, "note", "\"\xff\"") }, ""},
				{"an overlong encoding", func(c []byte) []byte { return withMember(c, "note", "\"\xc0\xaf\"") }, ""},
				{"an encoded surrogate", func(c []byte) []byte { return withMember(c, "note", "\"\xed\xa0\x80\"") }, ""},
			}
			for i, tc := range tampers {
				t.Run("registration with "+tc.name+" is refused", func(t *testing.T) {
					name := fmt.Sprintf("reg%d", i)
					sb, err := c.SignupBegin(ctx, shared.SignupBeginRequest{Username: name, Email: name + "@example.com"})
					if err != nil {
						t.Fatal(err)
					}
					reg, err := key.Register(sb.Options)
					if err != nil {
						t.Fatal(err)
					}
					status, e := finish(a.URL+shared.APISignupFinish, sb.Ceremony, tc.apply(reg))
					if status != http.StatusBadRequest || e.Code != shared.CodeInvalidInput || e.Field != tc.field {
						t.Errorf("got %d %+v, want 400 invalid_input naming %q", status, e, tc.field)
					}
					if status, e := finish(a.URL+shared.APISignupFinish, sb.Ceremony, reg); status != http.StatusCreated {
						t.Errorf("the untampered registration after the refusal: %d %+v", status, e)
					}
				})
			}
			for _, tc := range tampers {
				t.Run("an assertion with "+tc.name+" is refused", func(t *testing.T) {
					lb, err := c.LoginBegin(ctx, shared.LoginBeginRequest{UsernameOrEmail: "reg0"})
					if err != nil {
						t.Fatal(err)
					}
					asn, err := key.Login(lb.Options)
					if err != nil {
						t.Fatal(err)
					}
					status, e := finish(a.URL+shared.APILoginFinish, lb.Ceremony, tc.apply(asn))
					if status != http.StatusBadRequest || e.Code != shared.CodeInvalidInput || e.Field != tc.field {
						t.Errorf("got %d %+v, want 400 invalid_input naming %q", status, e, tc.field)
					}
					if status, e := finish(a.URL+shared.APILoginFinish, lb.Ceremony, asn); status != http.StatusOK {
						t.Errorf("the untampered assertion after the refusal: %d %+v", status, e)
					}
				})
			}
		})
	}
}
