package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// maxBody bounds every request body; the largest legitimate one is a
// registration response with an attestation certificate chain.
const maxBody = 64 << 10

// decode reads exactly one JSON object into v: unknown fields, trailing
// data, wrong types and oversized bodies are the client's error (4xx with a
// message), never a 500.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return auth.Errorf(shared.CodeUnsupportedMedia, "Send the request body as JSON (Content-Type: application/json).")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return decodeJSON(r.Body, v)
}

// decodeJSON is decode without the HTTP parts; the fuzz target drives it.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return decodeError(err)
	}
	// encoding/json takes null for any struct and leaves it empty.
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return auth.Errorf(shared.CodeInvalidInput, "The request body must be a JSON object.")
	}
	inner := json.NewDecoder(bytes.NewReader(raw))
	inner.DisallowUnknownFields()
	if err := inner.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return auth.Errorf(shared.CodeInvalidInput, "The request body must hold a single JSON object.")
	}
	return nil
}

func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return auth.Errorf(shared.CodeBodyTooLarge, "The request body is larger than %d KiB.", maxBody>>10)
	case errors.Is(err, io.EOF):
		return auth.Errorf(shared.CodeInvalidInput, "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return auth.Errorf(shared.CodeInvalidInput, "The request body is cut short.")
	case errors.As(err, &se):
		return auth.Errorf(shared.CodeInvalidInput, "The request body is not valid JSON (at byte %d).", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return &auth.Error{Code: shared.CodeInvalidInput, Field: te.Field, Message: fmt.Sprintf("%s must be a %s.", te.Field, jsonKind(te.Type.Kind().String()))}
		}
		return auth.Errorf(shared.CodeInvalidInput, "The request body must be a JSON object.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &auth.Error{Code: shared.CodeInvalidInput, Field: name, Message: fmt.Sprintf("Unknown field %q.", name)}
	}
	return &auth.Error{Code: shared.CodeInvalidInput, Message: "The request body could not be read.", Err: err}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "struct", "map":
		return "JSON object"
	case "bool":
		return "boolean"
	}
	return "number"
}
