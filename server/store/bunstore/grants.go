package bunstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

var _ auth.GrantStore = (*Store)(nil)

// SaveConsent implements auth.GrantStore. A user that does not exist is
// ErrNotFound.
func (s *Store) SaveConsent(ctx context.Context, c *auth.Consent) error {
	row, err := consentToRow(c)
	if err != nil {
		return err
	}
	// One statement, so two saves racing for the same user and app replace
	// each other instead of one failing on the primary key.
	if _, err := s.db.NewInsert().Model(row).
		On("CONFLICT (user_id, app_id) DO UPDATE").
		Set("scopes = EXCLUDED.scopes").
		Set("granted_at = EXCLUDED.granted_at").
		Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("bunstore: save consent: user %d: %w", c.UserID, auth.ErrNotFound)
		}
		return mapError("save consent", err)
	}
	return nil
}

// Consent implements auth.GrantStore.
func (s *Store) Consent(ctx context.Context, userID int64, appID string) (*auth.Consent, error) {
	row := new(consentRow)
	if err := s.db.NewSelect().Model(row).
		Where("user_id = ?", userID).
		Where("app_id = ?", appID).
		Scan(ctx); err != nil {
		return nil, mapError("consent", err)
	}
	return row.toConsent()
}

// Consents implements auth.GrantStore.
func (s *Store) Consents(ctx context.Context, userID int64) ([]auth.Consent, error) {
	var rows []consentRow
	// app_id breaks ties between consents given within the same microsecond.
	if err := s.db.NewSelect().Model(&rows).
		Where("user_id = ?", userID).
		Order("granted_at ASC", "app_id ASC").
		Scan(ctx); err != nil {
		return nil, mapError("consents", err)
	}
	out := make([]auth.Consent, 0, len(rows))
	for i := range rows {
		c, err := rows[i].toConsent()
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

// DeleteConsent implements auth.GrantStore.
func (s *Store) DeleteConsent(ctx context.Context, userID int64, appID string) error {
	if _, err := s.db.NewDelete().Model((*consentRow)(nil)).
		Where("user_id = ?", userID).
		Where("app_id = ?", appID).
		Exec(ctx); err != nil {
		return mapError("delete consent", err)
	}
	return nil
}

// CreateGrant implements auth.GrantStore. A user that does not exist is
// ErrNotFound; a taken id fails and leaves the stored grant as it was.
func (s *Store) CreateGrant(ctx context.Context, g *auth.Grant) error {
	row, err := grantToRow(g)
	if err != nil {
		return err
	}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("bunstore: create grant: user %d: %w", g.UserID, auth.ErrNotFound)
		}
		return mapError("create grant", err)
	}
	return nil
}

// Grant implements auth.GrantStore.
func (s *Store) Grant(ctx context.Context, id string) (*auth.Grant, error) {
	row := new(grantRow)
	if err := s.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, mapError("grant", err)
	}
	return row.toGrant()
}

// RotateRefresh implements auth.GrantStore.
func (s *Store) RotateRefresh(ctx context.Context, id string, from int, expires time.Time) error {
	// The generation check is part of the UPDATE, so two requests with the
	// same refresh token cannot both read the old generation and both pass:
	// the second finds the row moved on (Postgres re-checks the WHERE on the
	// row the first one committed; SQLite runs one write at a time) and
	// changes nothing.
	res, err := s.db.NewUpdate().Model((*grantRow)(nil)).
		Set("refresh_gen = ?", int64(from)+1).
		Set("refresh_expires_at = ?", expires.UTC()).
		Where("id = ?", id).
		Where("refresh_gen = ?", int64(from)).
		Where("revoked_at IS NULL").
		Exec(ctx)
	if err != nil {
		return mapError("rotate refresh", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("bunstore: rotate refresh: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("bunstore: rotate refresh: no live grant at generation %d: %w", from, auth.ErrNotFound)
	}
	return nil
}

// RevokeGrant implements auth.GrantStore.
func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time) error {
	// Only a live grant: the first revocation's time is the one that counts.
	if _, err := s.db.NewUpdate().Model((*grantRow)(nil)).
		Set("revoked_at = ?", at.UTC()).
		Where("id = ?", id).
		Where("revoked_at IS NULL").
		Exec(ctx); err != nil {
		return mapError("revoke grant", err)
	}
	return nil
}

// RevokeGrants implements auth.GrantStore.
func (s *Store) RevokeGrants(ctx context.Context, userID int64, appID string, at time.Time) (int, error) {
	q := s.db.NewUpdate().Model((*grantRow)(nil)).
		Set("revoked_at = ?", at.UTC()).
		// Served by grants_user_app_idx.
		Where("user_id = ?", userID).
		Where("revoked_at IS NULL")
	if appID != "" {
		q = q.Where("app_id = ?", appID)
	}
	res, err := q.Exec(ctx)
	return rowsAffected("revoke grants", res, err)
}

// RevokePasskeyGrants implements auth.GrantStore.
func (s *Store) RevokePasskeyGrants(ctx context.Context, userID int64, passkeyUID string, at time.Time) (int, error) {
	res, err := s.db.NewUpdate().Model((*grantRow)(nil)).
		Set("revoked_at = ?", at.UTC()).
		// grants_user_app_idx narrows to the user's grants.
		Where("user_id = ?", userID).
		Where("passkey_uid = ?", passkeyUID).
		Where("revoked_at IS NULL").
		Exec(ctx)
	return rowsAffected("revoke passkey grants", res, err)
}

// DeleteGrantsBefore implements auth.GrantStore.
func (s *Store) DeleteGrantsBefore(ctx context.Context, t time.Time) (int, error) {
	// A grant without a refresh token carries its access tokens' expiry in
	// refresh_expires_at, so one rule covers both kinds. Each side of the OR
	// has its index.
	res, err := s.db.NewDelete().Model((*grantRow)(nil)).
		Where("(revoked_at < ? OR refresh_expires_at < ?)", t.UTC(), t.UTC()).
		Exec(ctx)
	return rowsAffected("delete grants", res, err)
}

// SigningKeys implements auth.GrantStore.
func (s *Store) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.db.NewSelect().Model(&rows).Order("epoch DESC", "alg ASC").Scan(ctx); err != nil {
		return nil, mapError("signing keys", err)
	}
	out := make([]auth.SigningKey, 0, len(rows))
	for i := range rows {
		out = append(out, *rows[i].toSigningKey())
	}
	return out, nil
}

// AddSigningKey implements auth.GrantStore.
func (s *Store) AddSigningKey(ctx context.Context, k *auth.SigningKey) (*auth.SigningKey, error) {
	// Instances starting together each make a key for the new epoch; the
	// first insert wins and the others keep nothing of theirs, so all of
	// them read back the winner. On Postgres a racing insert waits for the
	// first to commit before it decides there is a conflict, so the read
	// that follows finds the winner.
	if _, err := s.db.NewInsert().Model(signingKeyToRow(k)).
		On("CONFLICT (alg, epoch) DO NOTHING").
		Exec(ctx); err != nil {
		return nil, mapError("add signing key", err)
	}
	row := new(signingKeyRow)
	if err := s.db.NewSelect().Model(row).
		Where("alg = ?", k.Alg).
		Where("epoch = ?", k.Epoch).
		Scan(ctx); err != nil {
		return nil, mapError("add signing key: read back", err)
	}
	return row.toSigningKey(), nil
}

// DeleteSigningKeys implements auth.GrantStore.
func (s *Store) DeleteSigningKeys(ctx context.Context, beforeEpoch int64) error {
	if _, err := s.db.NewDelete().Model((*signingKeyRow)(nil)).
		Where("epoch < ?", beforeEpoch).
		Exec(ctx); err != nil {
		return mapError("delete signing keys", err)
	}
	return nil
}

// rowsAffected turns a write's outcome into how many rows it changed.
func rowsAffected(op string, res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, mapError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("bunstore: %s: %w", op, err)
	}
	return int(n), nil
}
