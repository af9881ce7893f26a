package httpapi

import (
	"time"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// The domain's values as the API shows them.

// apiUser is a user as the API shows it.
func apiUser(u *auth.User) shared.User {
	out := shared.User{ID: u.UID, Username: u.Username, Email: u.Email, EmailVerified: u.Email != "" && !u.EmailVerifiedAt.IsZero(), DisplayName: u.DisplayName}
	if out.Email == "" {
		// An address the account asked for but does not hold is shown as
		// unproven, like any other, so the owner sees what they typed.
		out.Email = u.EmailPending
	}
	return out
}

// apiPasskey is a passkey as the API shows it; now decides whether it is
// still provisional.
func apiPasskey(p auth.Passkey, now time.Time) shared.Passkey {
	provider, _ := auth.LookupAuthenticator(p.AAGUID)
	out := shared.Passkey{
		ID:                p.UID,
		Name:              p.Name,
		AuthenticatorName: provider.Name,
		AuthenticatorIcon: provider.Icon,
		Synced:            p.BackupState,
		BackupEligible:    p.BackupEligible,
		Transports:        p.Transports,
		CreatedAt:         p.CreatedAt,
	}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		out.LastUsedAt = &t
	}
	if p.Provisional(now) {
		t := p.ProvisionalUntil
		out.ProvisionalUntil = &t
	}
	return out
}
