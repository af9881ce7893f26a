package auth

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The ID token signing algorithms Latchkey offers: ES256 for every app
// that can (small, fast), RS256 for those that support nothing else.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// Signer is the key that signs ID tokens with one algorithm now.
type Signer struct {
	KID string
	Alg string
	Key crypto.Signer
}

// PublicKey is a key apps may see in a token: the one signing now, or a
// retired one whose tokens may still be alive.
type PublicKey struct {
	KID string
	Alg string
	Key crypto.PublicKey
}

// keyring caches unsealed keys. Keys are rotated by epoch, a number every
// instance derives from the clock alone, so the cache is keyed by it and
// needs no invalidation across instances: a new epoch is a miss, and the
// first instance to miss creates the key the others then read.
type keyring struct {
	mu      sync.Mutex
	epoch   int64
	signers map[string]*Signer // by alg, for epoch
	public  []PublicKey        // for epoch, until a retired key leaves
	until   time.Time
	byKID   map[string]*Signer // every unsealed key, so each is unsealed once
}

func (s *Service) epoch(t time.Time) int64 {
	return t.Unix() / int64(s.opts.KeyRotation/time.Second)
}

// epochEnd is when the keys of epoch e stop signing.
func (s *Service) epochEnd(e int64) time.Time {
	return time.Unix((e+1)*int64(s.opts.KeyRotation/time.Second), 0)
}

// SigningAlgs are the ID token algorithms some app needs; ES256 always.
func (s *Service) SigningAlgs() []string {
	out := []string{AlgES256}
	for _, a := range s.opts.Apps {
		if a.IDTokenAlg == AlgRS256 {
			return append(out, AlgRS256)
		}
	}
	return out
}

// SigningKey returns the key that signs alg's tokens now, creating this
// rotation period's key if no instance has yet.
func (s *Service) SigningKey(ctx context.Context, alg string) (*Signer, error) {
	if err := s.loadKeys(ctx); err != nil {
		return nil, err
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	sg, ok := s.keys.signers[alg]
	if !ok {
		return nil, fmt.Errorf("no %s signing key", alg)
	}
	return sg, nil
}

// PublicKeys returns the keys apps need to verify tokens: each algorithm's
// current key, and every retired key until the last ID token it signed has
// expired.
func (s *Service) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	if err := s.loadKeys(ctx); err != nil {
		return nil, err
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	return s.keys.public, nil
}

// loadKeys makes sure the cache holds the current epoch's keys.
func (s *Service) loadKeys(ctx context.Context) error {
	now := s.opts.Now()
	e := s.epoch(now)
	s.keys.mu.Lock()
	fresh := s.keys.signers != nil && s.keys.epoch == e && now.Before(s.keys.until)
	s.keys.mu.Unlock()
	if fresh {
		return nil
	}
	stored, err := s.grants.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	signers := map[string]*Signer{}
	for _, alg := range s.SigningAlgs() {
		i := slices.IndexFunc(stored, func(k SigningKey) bool { return k.Alg == alg && k.Epoch == e })
		if i >= 0 {
			continue
		}
		k, err := s.newKey(ctx, alg, e)
		if err != nil {
			return err
		}
		stored = append(stored, *k)
	}
	var public []PublicKey
	oldest, until := e, s.epochEnd(e)
	for _, k := range stored {
		// A key retired at the end of its epoch may have signed an ID
		// token just before; it stays published until that one expires.
		leaves := s.epochEnd(k.Epoch).Add(s.opts.IDTokenTTL)
		if k.Epoch > e || !now.Before(leaves) {
			continue
		}
		if k.Epoch < e {
			until = minTime(until, leaves)
		}
		sg, err := s.unsealCached(&k)
		if err != nil {
			return err
		}
		if k.Epoch == e {
			signers[k.Alg] = sg
		}
		public = append(public, PublicKey{KID: sg.KID, Alg: sg.Alg, Key: sg.Key.Public()})
		oldest = min(oldest, k.Epoch)
	}
	if err := s.grants.DeleteSigningKeys(ctx, oldest); err != nil {
		// Only tidiness: an old key in the table publishes nothing.
		s.log.WarnContext(ctx, "could not delete retired signing keys", "err", err)
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	s.keys.epoch, s.keys.signers, s.keys.public, s.keys.until = e, signers, public, until
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// newKey makes epoch e's key for alg. Two instances racing both make one;
// the store keeps the first, and both use that.
func (s *Service) newKey(ctx context.Context, alg string, e int64) (*SigningKey, error) {
	priv, err := newPrivateKey(alg)
	if err != nil {
		return nil, err
	}
	k := &SigningKey{Alg: alg, Epoch: e, KID: alg[:2] + "-" + strconv.FormatInt(e, 36) + "-" + randomID(6), CreatedAt: s.opts.Now().UTC()}
	if k.Sealed, err = s.seal(priv, k); err != nil {
		return nil, err
	}
	stored, err := s.grants.AddSigningKey(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	if stored.KID == k.KID {
		s.log.InfoContext(ctx, "new signing key", "kid", k.KID, "alg", alg)
	}
	return stored, nil
}

func newPrivateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("unknown signing algorithm %q", alg)
}

// keyAAD binds a sealed key to its row, so a sealed key copied into
// another row (another epoch, kid or algorithm) does not open.
func keyAAD(k *SigningKey) []byte {
	return []byte(k.Alg + "|" + strconv.FormatInt(k.Epoch, 10) + "|" + k.KID)
}

func (s *Service) aead() cipher.AEAD {
	block, err := aes.NewCipher(s.sealKey)
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// seal encrypts a private key with AES-256-GCM under a key derived from
// OIDC_KEY_ENCRYPTION_KEY: a copy of the database alone signs nothing.
func (s *Service) seal(priv crypto.Signer, k *SigningKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	g := s.aead()
	nonce := randomBytes(g.NonceSize())
	return g.Seal(nonce, nonce, der, keyAAD(k)), nil
}

func (s *Service) unsealCached(k *SigningKey) (*Signer, error) {
	s.keys.mu.Lock()
	sg, ok := s.keys.byKID[k.KID]
	s.keys.mu.Unlock()
	if ok {
		return sg, nil
	}
	g := s.aead()
	if len(k.Sealed) < g.NonceSize() {
		return nil, fmt.Errorf("signing key %s: sealed value too short", k.KID)
	}
	der, err := g.Open(nil, k.Sealed[:g.NonceSize()], k.Sealed[g.NonceSize():], keyAAD(k))
	if err != nil {
		return nil, fmt.Errorf("signing key %s does not open with OIDC_KEY_ENCRYPTION_KEY (was it changed?): %w", k.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, errors.New("signing key is not a signer")
	}
	sg = &Signer{KID: k.KID, Alg: k.Alg, Key: priv}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if s.keys.byKID == nil {
		s.keys.byKID = map[string]*Signer{}
	}
	s.keys.byKID[k.KID] = sg
	return sg, nil
}
