package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// Access and refresh tokens are opaque to apps and self-describing to
// Latchkey: a small binary payload and its HMAC under a key derived from
// OIDC_KEY_ENCRYPTION_KEY. Every instance derives the same key, so a token
// issued by one is read by any other without a lookup; what a MAC cannot
// say (has the grant been revoked?) is one read of the grant by id.
//
// Payload: kind (1 byte) | grant id (16 bytes) | n (8 bytes) | scopes (1 byte)
// where n is the access token's expiry (Unix seconds) or the refresh
// token's generation, and scopes a bit set over shared.Scopes.

const (
	kindAccess  byte = 'a'
	kindRefresh byte = 'r'

	grantIDLen = 16
	payloadLen = 1 + grantIDLen + 8 + 1
	macLen     = 32
)

// deriveKey derives a purpose-specific key, so the key that seals signing
// keys never also signs tokens.
func deriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "latchkey "+purpose, 32)
	if err != nil {
		// Only a length over 255*32 bytes fails.
		panic(err)
	}
	return k
}

type tokenClaims struct {
	kind    byte
	grantID string
	n       int64
	scopes  []string
}

func scopeMask(scopes []string) byte {
	var m byte
	for i, sc := range shared.Scopes {
		if slices.Contains(scopes, sc) {
			m |= 1 << i
		}
	}
	return m
}

func scopesOf(m byte) []string {
	var out []string
	for i, sc := range shared.Scopes {
		if m&(1<<i) != 0 {
			out = append(out, sc)
		}
	}
	return out
}

func (s *Service) mintToken(c tokenClaims) string {
	id, err := base64.RawURLEncoding.DecodeString(c.grantID)
	if err != nil || len(id) != grantIDLen {
		panic("auth: grant id is not " + "16 random bytes")
	}
	b := make([]byte, 0, payloadLen+macLen)
	b = append(b, c.kind)
	b = append(b, id...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.n))
	b = append(b, scopeMask(c.scopes))
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b))
}

var errTokenMalformed = errors.New("token malformed or forged")

// readToken checks a token's MAC and kind; it says nothing yet about expiry
// or revocation.
func (s *Service) readToken(token string, kind byte) (*tokenClaims, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(payloadLen+macLen) {
		return nil, errTokenMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != payloadLen+macLen {
		return nil, errTokenMalformed
	}
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(b[:payloadLen])
	if !hmac.Equal(m.Sum(nil), b[payloadLen:]) || b[0] != kind {
		return nil, errTokenMalformed
	}
	return &tokenClaims{
		kind:    b[0],
		grantID: base64.RawURLEncoding.EncodeToString(b[1 : 1+grantIDLen]),
		n:       int64(binary.BigEndian.Uint64(b[1+grantIDLen:])),
		scopes:  scopesOf(b[payloadLen-1]),
	}, nil
}

func (s *Service) accessToken(g *Grant, scopes []string, expires time.Time) string {
	return s.mintToken(tokenClaims{kind: kindAccess, grantID: g.ID, n: expires.Unix(), scopes: scopes})
}

func (s *Service) refreshToken(g *Grant) string {
	return s.mintToken(tokenClaims{kind: kindRefresh, grantID: g.ID, n: int64(g.RefreshGen), scopes: g.Scopes})
}
