package bunstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/server/store/bunstore"
)

// oidcVersion is the migration that added consents, grants and signing keys.
const oidcVersion = "20261208000001"

// Accounts from before the provider existed can consent and hold grants,
// and deleting them still takes those along.
func TestOIDCMigrationServesExistingAccounts(t *testing.T) {
	t.Parallel()
	for dialect, newURL := range databases(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := newURL(t)
			old, err := bunstore.OpenBefore(ctx, url, oidcVersion)
			if err != nil {
				t.Fatal(err)
			}
			id := insertOldUser(t, old, "olduser", "old@example.com")
			old.Close()

			s := openStore(t, url, "")
			now := time.Now().UTC()
			if err := s.SaveConsent(ctx, &auth.Consent{UserID: id, AppID: "grafana", Scopes: []string{"openid"}, GrantedAt: now}); err != nil {
				t.Fatalf("SaveConsent for an existing account: %v", err)
			}
			g := &auth.Grant{ID: "g1", UserID: id, AppID: "grafana", Scopes: []string{"openid"}, AuthTime: now,
				AMR: []string{"pop"}, RefreshGen: 1, RefreshExpiresAt: now.Add(time.Hour), CreatedAt: now}
			if err := s.CreateGrant(ctx, g); err != nil {
				t.Fatalf("CreateGrant for an existing account: %v", err)
			}
			if err := s.DeleteUser(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Consent(ctx, id, "grafana"); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("Consent after DeleteUser: err = %v, want ErrNotFound", err)
			}
			if _, err := s.Grant(ctx, g.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("Grant after DeleteUser: err = %v, want ErrNotFound", err)
			}
		})
	}
}

// A database that is gone must never answer ErrNotFound: the domain reads
// a refused rotation as a replayed refresh token, and a missing grant or
// consent as a decision already made.
func TestGrantStoreOnAClosedDatabaseFailsWithoutNotFound(t *testing.T) {
	t.Parallel()
	for dialect, newURL := range databases(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s, err := bunstore.Open(t.Context(), newURL(t), "")
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			ctx, now := context.Background(), time.Now()
			checks := map[string]error{}
			checks["SaveConsent"] = s.SaveConsent(ctx, &auth.Consent{UserID: 1, AppID: "a", GrantedAt: now})
			_, checks["Consent"] = s.Consent(ctx, 1, "a")
			_, checks["Consents"] = s.Consents(ctx, 1)
			checks["DeleteConsent"] = s.DeleteConsent(ctx, 1, "a")
			checks["CreateGrant"] = s.CreateGrant(ctx, &auth.Grant{ID: "g", UserID: 1, AppID: "a"})
			_, checks["Grant"] = s.Grant(ctx, "g")
			checks["RotateRefresh"] = s.RotateRefresh(ctx, "g", 1, now)
			checks["RevokeGrant"] = s.RevokeGrant(ctx, "g", now)
			_, checks["RevokeGrants"] = s.RevokeGrants(ctx, 1, "", now)
			_, checks["DeleteGrantsBefore"] = s.DeleteGrantsBefore(ctx, now)
			_, checks["SigningKeys"] = s.SigningKeys(ctx)
			_, checks["AddSigningKey"] = s.AddSigningKey(ctx, &auth.SigningKey{Alg: "ES256", Epoch: 1, KID: "k"})
			checks["DeleteSigningKeys"] = s.DeleteSigningKeys(ctx, 1)
			checks["Ping"] = s.Ping(ctx)
			for name, err := range checks {
				if err == nil || errors.Is(err, auth.ErrNotFound) {
					t.Errorf("%s on a closed database: err = %v, want an error other than ErrNotFound", name, err)
				}
			}
		})
	}
}
