package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/latchkey/latchkey/server/auth"
)

// maxBody bounds every request body; the largest legitimate one is a
// registration response with an attestation certificate chain.
const maxBody = 64 << 10

// decodeOptions make the decoder strict where encoding/json is lenient: a
// member name must match its field exactly (not in any case), a name may
// appear once in an object (encoding/json lets the last one win, so two
// parsers could read one body differently), strings must be valid UTF-8
// (encoding/json replaces bad bytes with U+FFFD), and unknown members are an
// error. The duplicate and UTF-8 checks are the tokenizer's, so they hold for
// every nested value too, including the credential JSON that is kept raw
// for the WebAuthn library: checked here, once, for every route.
var decodeOptions = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// decode reads exactly one JSON object into v: unknown fields, fields in
// the wrong case, duplicate fields, invalid UTF-8, trailing data, wrong
// types and oversized bodies are the client's error (4xx with a message),
// never a 500.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return auth.UnsupportedMediaType()
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return decodeJSON(r.Body, v)
}

// decodeJSON is decode without the HTTP parts; the fuzz target drives it.
func decodeJSON(body io.Reader, v any) error {
	dec := jsontext.NewDecoder(body, decodeOptions)
	// ReadValue checks the whole value's syntax, names and UTF-8 before any
	// of it reaches v, so nothing is half-decoded.
	raw, err := dec.ReadValue()
	if err != nil {
		return decodeError(err)
	}
	// A null or an array must not pass for an empty request.
	if raw.Kind() != '{' {
		return auth.BodyNotObject()
	}
	if err := json.Unmarshal(raw, v, decodeOptions); err != nil {
		return decodeError(err)
	}
	if _, err := dec.ReadValue(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return auth.BodyNotSingle()
	}
	return nil
}

// errInvalidUTF8 is the error jsontext reports for invalid UTF-8; the
// package does not export it (it lives in an internal package), so it is
// taken from a decode that must fail that way.
var errInvalidUTF8 = func() error {
	_, err := jsontext.NewDecoder(strings.NewReader("\"\xff\"")).ReadValue()
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		panic(fmt.Sprintf("jsontext accepted invalid UTF-8: %v", err))
	}
	return se.Err
}()

func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *jsontext.SyntacticError
		te  *json.SemanticError
	)
	switch {
	case errors.As(err, &mbe):
		return auth.BodyTooLarge(maxBody)
	case errors.Is(err, io.EOF):
		return auth.BodyEmpty()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return auth.BodyCutShort()
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		name := fieldName(se.JSONPointer)
		return auth.DuplicateField(name)
	case errors.As(err, &se) && errors.Is(se.Err, errInvalidUTF8):
		return auth.BodyNotUTF8(se.ByteOffset)
	case errors.As(err, &se):
		return auth.BodyNotJSON(se.ByteOffset)
	case errors.As(err, &te) && errors.Is(te.Err, json.ErrUnknownName):
		name := fieldName(te.JSONPointer)
		return auth.UnknownField(name)
	case errors.As(err, &te):
		if name := fieldName(te.JSONPointer); name != "" && te.GoType != nil {
			return auth.FieldWrongType(name, jsonKind(te.GoType.Kind()))
		}
		return auth.BodyNotObject()
	}
	return auth.BodyUnreadable(err)
}

// fieldName turns a JSON Pointer such as /credential/response into the
// dotted form encoding/json used to report, credential.response.
func fieldName(p jsontext.Pointer) string {
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Struct, reflect.Map:
		return "JSON object"
	case reflect.Bool:
		return "boolean"
	}
	return "number"
}
