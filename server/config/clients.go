package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/latchkey/latchkey/server/auth"
)

// oidc reads the OpenID Connect provider's settings: the clients file, the
// key-encryption key and the lives of keys and tokens.
func (e *env) oidc(c *Config, d auth.Options) {
	c.KeyRotation = e.duration("OIDC_KEY_ROTATION", d.KeyRotation)
	c.AccessTokenTTL = e.duration("OIDC_ACCESS_TOKEN_TTL", d.AccessTokenTTL)
	c.IDTokenTTL = e.duration("OIDC_ID_TOKEN_TTL", d.IDTokenTTL)
	c.RefreshTokenTTL = e.duration("OIDC_REFRESH_TOKEN_TTL", d.RefreshTokenTTL)
	if c.KeyRotation < minKeyRotation {
		// Each period leaves a key in the database and in JWKS until its
		// tokens expire; a typo (1m for 1mo) would pile them up.
		e.fail("OIDC_KEY_ROTATION", "must be at least %s, got %s", shortDuration(minKeyRotation), shortDuration(c.KeyRotation))
	}

	c.ClientsFile = e.str("OIDC_CLIENTS_FILE", "")
	if c.ClientsFile != "" {
		apps, err := readClients(c.ClientsFile)
		if err != nil {
			e.fail("OIDC_CLIENTS_FILE", "%v", err)
		}
		c.Apps = apps
	}

	// Never the value, only its length: it is a secret.
	c.KeyEncryptionKey = e.str("OIDC_KEY_ENCRYPTION_KEY", "")
	switch kek := c.KeyEncryptionKey; {
	case kek == "" && c.ClientsFile != "":
		e.fail("OIDC_KEY_ENCRYPTION_KEY", "is required when OIDC_CLIENTS_FILE is set (at least 32 random characters, e.g. `openssl rand -base64 32`, the same on every instance)")
	case kek != "" && len(kek) < 32:
		e.fail("OIDC_KEY_ENCRYPTION_KEY", "must be at least 32 characters (e.g. `openssl rand -base64 32`), got %d", len(kek))
	case kek != "" && kek == c.ServerSecret:
		// Keys kept apart: SERVER_SECRET keys HMACs that the login stage
		// shows to anyone, and is often handled more casually; a leak of
		// it must not also open the signing keys and the token MACs.
		e.fail("OIDC_KEY_ENCRYPTION_KEY", "must differ from SERVER_SECRET: give each its own random value")
	}
}

// minKeyRotation bounds OIDC_KEY_ROTATION from below.
const minKeyRotation = time.Hour

// clientsDecoding is strict where encoding/json is lenient, as the API's
// request bodies are: a field name must match exactly (not in another
// case), may appear once in a client (a second "secret" would silently
// win), strings must be valid UTF-8, and unknown fields are an error, so a
// misspelt "post_logout_redirect_uri" stops the start instead of being
// ignored.
var clientsDecoding = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// readClients reads OIDC_CLIENTS_FILE: a JSON list of auth.App objects,
// checked and normalised by auth.CheckApps. The error is one line naming
// the file and, when it can, the client and the field; it never quotes a
// secret.
func readClients(path string) ([]auth.App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	apps, err := decodeClients(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return apps, nil
}

func decodeClients(data []byte) ([]auth.App, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data), clientsDecoding)
	// The whole file's syntax, names and UTF-8 first, so a mistake is
	// reported where it is, by line and column.
	all, err := dec.ReadValue()
	if err != nil {
		return nil, syntaxError(data, err)
	}
	// The next read reuses the decoder's buffer.
	all = all.Clone()
	if _, err := dec.ReadValue(); err != io.EOF {
		return nil, errors.New("holds more than one JSON value; put every client in one list")
	}
	if all.Kind() != '[' {
		return nil, errors.New(`must be a JSON list of clients: [{"id": …, "name": …, "redirect_uris": […]}, …]`)
	}
	var raws []jsontext.Value
	if err := json.Unmarshal(all, &raws); err != nil {
		return nil, fmt.Errorf("is not a list of clients: %w", err)
	}
	if len(raws) == 0 {
		return nil, errors.New("lists no clients (leave OIDC_CLIENTS_FILE unset to turn the OpenID Connect provider off)")
	}
	apps := make([]auth.App, len(raws))
	for i, raw := range raws {
		if raw.Kind() != '{' {
			return nil, &auth.AppError{Index: i, Problem: "must be a JSON object"}
		}
		if err := json.Unmarshal(raw, &apps[i], clientsDecoding); err != nil {
			return nil, clientError(i, raw, err)
		}
	}
	return auth.CheckApps(apps)
}

// syntaxError says where the file stops being JSON, by line and column
// rather than by byte offset.
func syntaxError(data []byte, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("is not valid JSON: it ends too soon")
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return fmt.Errorf("is not valid JSON: %w", err)
	}
	if errors.Is(se.Err, jsontext.ErrDuplicateName) {
		// The pointer is /index/name: the client has a field twice.
		tokens := pointerTokens(se.JSONPointer)
		if i, err := strconv.Atoi(tokens[0]); err == nil && len(tokens) >= 2 {
			return &auth.AppError{Index: i, Field: fieldPath(tokens[1:]), Problem: "appears twice"}
		}
		return fmt.Errorf("has a field twice at %s", se.JSONPointer)
	}
	off := min(max(se.ByteOffset, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("is not valid JSON: line %d, column %d: %v", line, col, se.Err)
}

// clientError names the client and the field a client's value is wrong
// in. The library's message is not used: it may quote the value, and the
// value may be a secret.
func clientError(i int, raw jsontext.Value, err error) error {
	var head struct {
		ID string `json:"id"`
	}
	// Lenient, only to name the client; an id of the wrong type leaves ""
	// and the client is named by its position.
	_ = json.Unmarshal(raw, &head)
	ae := &auth.AppError{Index: i, ID: head.ID, Problem: "is not valid"}
	var te *json.SemanticError
	if errors.As(err, &te) {
		ae.Field = fieldPath(pointerTokens(te.JSONPointer))
		switch {
		case errors.Is(te.Err, json.ErrUnknownName):
			ae.Problem = "is not a field of a client (" + strings.Join(appFields(), ", ") + ")"
		case te.GoType != nil:
			ae.Problem = "must be " + jsonKind(te.GoType)
		}
	}
	return ae
}

func pointerTokens(p jsontext.Pointer) []string {
	var tokens []string
	for tok := range p.Tokens() {
		tokens = append(tokens, tok)
	}
	if len(tokens) == 0 {
		return []string{""}
	}
	return tokens
}

// fieldPath writes a pointer's tokens as CheckApps names fields:
// redirect_uris[1].
func fieldPath(tokens []string) string {
	var b strings.Builder
	for _, tok := range tokens {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	}
	return "a number"
}

// appFields lists the names a client may have, read from auth.App's JSON
// tags, so the list in the message cannot fall behind the type.
func appFields() []string {
	t := reflect.TypeFor[auth.App]()
	names := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
