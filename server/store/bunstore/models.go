package bunstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/latchkey/latchkey/server/auth"
)

// Rows mirror the tables as migrations left them. They stay private so that
// no Bun type leaks into package auth; the functions below are the only
// crossing between the two.

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID       int64  `bun:"id,pk,autoincrement"`
	UID      string `bun:"uid"`
	Handle   []byte `bun:"handle"`
	Username string `bun:"username"`
	// Email is NULL for an account without an address (nullzero maps it
	// to ""), so the unique index lets any number of accounts have none.
	Email       string    `bun:"email,nullzero"`
	DisplayName string    `bun:"display_name"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
	// EmailVerifiedAt is NULL while the address is unproven.
	EmailVerifiedAt time.Time `bun:"email_verified_at,nullzero"`
	EmailPending    string    `bun:"email_pending,nullzero"`
	// EmailKey is auth.EmailKey(Email): what the unique index and lookups
	// compare. nullzero: no address, no key.
	EmailKey string `bun:"email_key,nullzero"`
}

type passkeyRow struct {
	bun.BaseModel `bun:"table:passkeys"`

	ID           int64  `bun:"id,pk,autoincrement"`
	UID          string `bun:"uid"`
	UserID       int64  `bun:"user_id"`
	CredentialID []byte `bun:"credential_id"`
	PublicKey    []byte `bun:"public_key"`
	AAGUID       []byte `bun:"aaguid"`
	// SignCount is int64 because the counter is a uint32 and Postgres has
	// no unsigned integers.
	SignCount int64 `bun:"sign_count"`
	// Transports is a JSON array: one portable column type, where a
	// Postgres text[] would have no SQLite counterpart.
	Transports      string    `bun:"transports"`
	BackupEligible  bool      `bun:"backup_eligible"`
	BackupState     bool      `bun:"backup_state"`
	AttestationType string    `bun:"attestation_type"`
	Name            string    `bun:"name"`
	CreatedAt       time.Time `bun:"created_at"`
	// nullzero: a passkey never used has NULL, which reads back as the zero
	// time auth.Passkey documents.
	LastUsedAt time.Time `bun:"last_used_at,nullzero"`
	// ProvisionalUntil is NULL for a passkey that never was provisional.
	ProvisionalUntil time.Time `bun:"provisional_until,nullzero"`
}

// userPasskeyRow is a user's row joined with one of their passkeys'; the
// passkey's columns are all NULL (zero) for a user without passkeys.
type userPasskeyRow struct {
	User    userRow    `bun:"embed:u_"`
	Passkey passkeyRow `bun:"embed:p_"`
}

// userPasskeyColumns selects every column of users (as u) and passkeys (as
// p) under the names userPasskeyRow's embeds give them. It lists the row
// types' own columns, so a column added to either is read here too. Both
// dialects quote identifiers alike, so it is made once for any database.
var userPasskeyColumns = func() func(*bun.DB) string {
	var (
		once sync.Once
		cols string
	)
	return func(db *bun.DB) string {
		once.Do(func() {
			var list []string
			for _, t := range []struct {
				typ           reflect.Type
				alias, prefix string
			}{
				{reflect.TypeFor[userRow](), "u", "u_"},
				{reflect.TypeFor[passkeyRow](), "p", "p_"},
			} {
				for _, f := range db.Table(t.typ).Fields {
					list = append(list, fmt.Sprintf("%s.%s AS %q", t.alias, f.SQLName, t.prefix+f.Name))
				}
			}
			cols = strings.Join(list, ", ")
		})
		return cols
	}
}()

type consentRow struct {
	bun.BaseModel `bun:"table:consents"`

	UserID int64  `bun:"user_id,pk"`
	AppID  string `bun:"app_id,pk"`
	// Scopes is a JSON array, like passkeys' transports: it keeps the order.
	Scopes    string    `bun:"scopes"`
	GrantedAt time.Time `bun:"granted_at"`
}

type grantRow struct {
	bun.BaseModel `bun:"table:grants"`

	ID     string `bun:"id,pk"`
	UserID int64  `bun:"user_id"`
	AppID  string `bun:"app_id"`
	// Scopes and AMR are JSON arrays.
	Scopes           string    `bun:"scopes"`
	AuthTime         time.Time `bun:"auth_time"`
	AMR              string    `bun:"amr"`
	PasskeyUID       string    `bun:"passkey_uid"`
	RefreshGen       int64     `bun:"refresh_gen"`
	RefreshExpiresAt time.Time `bun:"refresh_expires_at"`
	CreatedAt        time.Time `bun:"created_at"`
	// RevokedAt is NULL while the grant is live (nullzero: the zero time
	// auth.Grant documents).
	RevokedAt time.Time `bun:"revoked_at,nullzero"`
}

type signingKeyRow struct {
	bun.BaseModel `bun:"table:signing_keys"`

	Alg       string    `bun:"alg,pk"`
	Epoch     int64     `bun:"epoch,pk"`
	KID       string    `bun:"kid"`
	Sealed    []byte    `bun:"sealed"`
	CreatedAt time.Time `bun:"created_at"`
}

func userToRow(u *auth.User) *userRow {
	return &userRow{
		ID:              u.ID,
		UID:             u.UID,
		Handle:          nonNil(u.Handle),
		Username:        u.Username,
		Email:           u.Email,
		DisplayName:     u.DisplayName,
		CreatedAt:       utc(u.CreatedAt),
		UpdatedAt:       utc(u.UpdatedAt),
		EmailVerifiedAt: utc(u.EmailVerifiedAt),
		EmailPending:    u.EmailPending,
		EmailKey:        auth.EmailKey(u.Email),
	}
}

func (r *userRow) toUser() *auth.User {
	return &auth.User{
		ID:          r.ID,
		UID:         r.UID,
		Handle:      r.Handle,
		Username:    r.Username,
		Email:       r.Email,
		DisplayName: r.DisplayName,
		CreatedAt:   utc(r.CreatedAt),
		UpdatedAt:   utc(r.UpdatedAt),

		EmailVerifiedAt: utc(r.EmailVerifiedAt),
		EmailPending:    r.EmailPending,
	}
}

func passkeyToRow(p *auth.Passkey) (*passkeyRow, error) {
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	tj, err := json.Marshal(transports)
	if err != nil {
		return nil, fmt.Errorf("bunstore: encode transports: %w", err)
	}
	return &passkeyRow{
		ID:               p.ID,
		UID:              p.UID,
		UserID:           p.UserID,
		CredentialID:     nonNil(p.CredentialID),
		PublicKey:        nonNil(p.PublicKey),
		AAGUID:           nonNil(p.AAGUID),
		SignCount:        int64(p.SignCount),
		Transports:       string(tj),
		BackupEligible:   p.BackupEligible,
		BackupState:      p.BackupState,
		AttestationType:  p.AttestationType,
		Name:             p.Name,
		CreatedAt:        utc(p.CreatedAt),
		LastUsedAt:       utc(p.LastUsedAt),
		ProvisionalUntil: utc(p.ProvisionalUntil),
	}, nil
}

func (r *passkeyRow) toPasskey() (*auth.Passkey, error) {
	var transports []string
	if err := json.Unmarshal([]byte(r.Transports), &transports); err != nil {
		return nil, fmt.Errorf("bunstore: passkey %d: decode transports: %w", r.ID, err)
	}
	if len(transports) == 0 {
		transports = nil
	}
	return &auth.Passkey{
		ID:               r.ID,
		UID:              r.UID,
		UserID:           r.UserID,
		CredentialID:     r.CredentialID,
		PublicKey:        r.PublicKey,
		AAGUID:           r.AAGUID,
		SignCount:        uint32(r.SignCount),
		Transports:       transports,
		BackupEligible:   r.BackupEligible,
		BackupState:      r.BackupState,
		AttestationType:  r.AttestationType,
		Name:             r.Name,
		CreatedAt:        utc(r.CreatedAt),
		LastUsedAt:       utc(r.LastUsedAt),
		ProvisionalUntil: utc(r.ProvisionalUntil),
	}, nil
}

func consentToRow(c *auth.Consent) (*consentRow, error) {
	scopes, err := encodeList("scopes", c.Scopes)
	if err != nil {
		return nil, err
	}
	return &consentRow{UserID: c.UserID, AppID: c.AppID, Scopes: scopes, GrantedAt: utc(c.GrantedAt)}, nil
}

func (r *consentRow) toConsent() (*auth.Consent, error) {
	scopes, err := decodeList("scopes", r.Scopes)
	if err != nil {
		return nil, fmt.Errorf("bunstore: consent of user %d to %s: %w", r.UserID, r.AppID, err)
	}
	return &auth.Consent{UserID: r.UserID, AppID: r.AppID, Scopes: scopes, GrantedAt: utc(r.GrantedAt)}, nil
}

func grantToRow(g *auth.Grant) (*grantRow, error) {
	scopes, err := encodeList("scopes", g.Scopes)
	if err != nil {
		return nil, err
	}
	amr, err := encodeList("amr", g.AMR)
	if err != nil {
		return nil, err
	}
	return &grantRow{
		ID:               g.ID,
		UserID:           g.UserID,
		AppID:            g.AppID,
		Scopes:           scopes,
		AuthTime:         utc(g.AuthTime),
		AMR:              amr,
		PasskeyUID:       g.PasskeyUID,
		RefreshGen:       int64(g.RefreshGen),
		RefreshExpiresAt: utc(g.RefreshExpiresAt),
		CreatedAt:        utc(g.CreatedAt),
		RevokedAt:        utc(g.RevokedAt),
	}, nil
}

func (r *grantRow) toGrant() (*auth.Grant, error) {
	// A grant id is a secret's handle; the error names the grant by its
	// user and app instead.
	scopes, err := decodeList("scopes", r.Scopes)
	if err != nil {
		return nil, fmt.Errorf("bunstore: grant of user %d to %s: %w", r.UserID, r.AppID, err)
	}
	amr, err := decodeList("amr", r.AMR)
	if err != nil {
		return nil, fmt.Errorf("bunstore: grant of user %d to %s: %w", r.UserID, r.AppID, err)
	}
	return &auth.Grant{
		ID:               r.ID,
		UserID:           r.UserID,
		AppID:            r.AppID,
		Scopes:           scopes,
		AuthTime:         utc(r.AuthTime),
		AMR:              amr,
		PasskeyUID:       r.PasskeyUID,
		RefreshGen:       int(r.RefreshGen),
		RefreshExpiresAt: utc(r.RefreshExpiresAt),
		CreatedAt:        utc(r.CreatedAt),
		RevokedAt:        utc(r.RevokedAt),
	}, nil
}

func signingKeyToRow(k *auth.SigningKey) *signingKeyRow {
	return &signingKeyRow{Alg: k.Alg, Epoch: k.Epoch, KID: k.KID, Sealed: nonNil(k.Sealed), CreatedAt: utc(k.CreatedAt)}
}

func (r *signingKeyRow) toSigningKey() *auth.SigningKey {
	return &auth.SigningKey{Alg: r.Alg, Epoch: r.Epoch, KID: r.KID, Sealed: r.Sealed, CreatedAt: utc(r.CreatedAt)}
}

// encodeList writes a list of strings as a JSON array (never null), and
// decodeList reads it back, an empty array as nil.
func encodeList(what string, list []string) (string, error) {
	if list == nil {
		list = []string{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("bunstore: encode %s: %w", what, err)
	}
	return string(b), nil
}

func decodeList(what, s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// utc normalises a time's location: the drivers hand back fixed offsets or
// time.Local, and callers comparing or formatting times should not have to
// care which database they came from. The zero time stays zero so IsZero
// keeps working.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// nonNil turns nil into an empty slice, which Bun writes as an empty value
// rather than NULL, so NOT NULL byte columns accept it.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
