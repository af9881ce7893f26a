package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/server/auth"
)

// Grants is a grant store as the contract sees it: consents and grants
// belong to users, so the same store keeps the users, and deleting one
// deletes what they granted.
type Grants interface {
	auth.GrantStore
	auth.UserStore
}

// GrantStore runs the auth.GrantStore contract. open is called once per
// subtest, possibly from parallel subtests, and must return an empty store
// of its own, closed through t.Cleanup.
//
// Times are compared to the second, as in UserStore. Beyond the interface's
// own words, the contract says: a consent or grant for a user that does not
// exist is ErrNotFound; a grant id that is taken is refused and the stored
// grant stays as it was; consents given at the same time and signing keys
// of the same epoch may come in any order; and DeleteUser deletes the
// user's consents and grants.
func GrantStore(t *testing.T, open func(t *testing.T) Grants) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, s Grants)
	}{
		{"saves a consent and replaces it", grantConsentSaveReplace},
		{"lists a user's consents oldest first and no one else's", grantConsentOrder},
		{"deletes only the consent asked for, and deleting none is no error", grantConsentDelete},
		{"a user without consents has none", grantConsentNone},
		{"refuses a consent or grant of a user that does not exist", grantMissingUser},
		{"creates a grant and reads back every field", grantCreateAndRead},
		{"refuses a grant id that is taken and keeps the stored grant", grantDuplicateID},
		{"rotates a refresh token only from its current generation", grantRotate},
		{"never rotates a revoked grant", grantRotateRevoked},
		{"lets exactly one of two racing rotations of a generation win", grantRotateRace},
		{"revokes one grant, once", grantRevokeOne},
		{"revokes a user's live grants, of one app or all, and counts them", grantRevokeByUser},
		{"revokes the user's live grants of one passkey's logins", grantRevokeByPasskey},
		{"deletes the grants that ended before a time, and only those", grantDeleteBefore},
		{"deleting a user deletes their consents and grants", grantDeleteUser},
		{"keeps the first signing key of an alg and epoch", grantSigningKeyFirstWins},
		{"racing additions of a signing key agree on one", grantSigningKeyRace},
		{"lists signing keys newest epoch first", grantSigningKeyOrder},
		{"deletes the signing keys of epochs before one", grantSigningKeyDelete},
		{"answers a ping", grantPing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, t.Context(), open(t))
		})
	}
}

func grantConsentSaveReplace(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	// Not in alphabetical order, so a store that sorts them shows it.
	c := &auth.Consent{UserID: u.ID, AppID: "grafana", Scopes: []string{"openid", "profile", "email"}, GrantedAt: userTime()}
	grantSaveConsent(t, ctx, s, c)
	grantCompareConsent(t, "Consent", grantConsent(t, ctx, s, u.ID, "grafana"), c)

	wider := &auth.Consent{UserID: u.ID, AppID: "grafana", Scopes: []string{"openid", "offline_access", "email", "profile"}, GrantedAt: userTime().Add(time.Hour)}
	grantSaveConsent(t, ctx, s, wider)
	grantCompareConsent(t, "Consent after replacing", grantConsent(t, ctx, s, u.ID, "grafana"), wider)
	list, err := s.Consents(ctx, u.ID)
	if err != nil {
		t.Fatalf("Consents: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("Consents after replacing = %d consents, want 1", len(list))
	}
	grantCompareConsent(t, "Consents[0]", &list[0], wider)
}

func grantConsentOrder(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	other := grantUser(t, ctx, s)
	base := userTime()
	// Saved out of order, so a store that lists by insertion or by app
	// fails.
	for _, c := range []auth.Consent{
		{UserID: u.ID, AppID: "a-newest", Scopes: []string{"openid"}, GrantedAt: base.Add(2 * time.Hour)},
		{UserID: u.ID, AppID: "c-oldest", Scopes: []string{"openid", "email"}, GrantedAt: base},
		{UserID: other.ID, AppID: "d-other", Scopes: []string{"openid"}, GrantedAt: base.Add(time.Minute)},
		{UserID: u.ID, AppID: "b-middle", Scopes: []string{"openid", "profile"}, GrantedAt: base.Add(time.Hour)},
	} {
		grantSaveConsent(t, ctx, s, &c)
	}
	list, err := s.Consents(ctx, u.ID)
	if err != nil {
		t.Fatalf("Consents: %v", err)
	}
	var got []string
	for _, c := range list {
		if c.UserID != u.ID {
			t.Fatalf("Consents of user %d lists one of user %d", u.ID, c.UserID)
		}
		got = append(got, c.AppID)
	}
	if want := []string{"c-oldest", "b-middle", "a-newest"}; !slices.Equal(got, want) {
		t.Fatalf("Consents apps = %v, want %v (oldest first)", got, want)
	}
	if !slices.Equal(list[0].Scopes, []string{"openid", "email"}) {
		t.Fatalf("Consents[0].Scopes = %v, want [openid email]", list[0].Scopes)
	}
}

func grantConsentDelete(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	other := grantUser(t, ctx, s)
	for _, c := range []*auth.Consent{
		{UserID: u.ID, AppID: "gitea", Scopes: []string{"openid"}, GrantedAt: userTime()},
		{UserID: u.ID, AppID: "grafana", Scopes: []string{"openid"}, GrantedAt: userTime()},
		{UserID: other.ID, AppID: "gitea", Scopes: []string{"openid"}, GrantedAt: userTime()},
	} {
		grantSaveConsent(t, ctx, s, c)
	}
	if err := s.DeleteConsent(ctx, u.ID, "gitea"); err != nil {
		t.Fatalf("DeleteConsent: %v", err)
	}
	if c, err := s.Consent(ctx, u.ID, "gitea"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Consent after DeleteConsent = %+v, %v; want ErrNotFound", c, err)
	}
	grantConsent(t, ctx, s, u.ID, "grafana")
	grantConsent(t, ctx, s, other.ID, "gitea")
	for _, appID := range []string{"gitea", "never-consented"} {
		if err := s.DeleteConsent(ctx, u.ID, appID); err != nil {
			t.Fatalf("DeleteConsent of a consent that is not there (%s): %v", appID, err)
		}
	}
	if err := s.DeleteConsent(ctx, u.ID+1000, "gitea"); err != nil {
		t.Fatalf("DeleteConsent of a missing user: %v", err)
	}
}

func grantConsentNone(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	if c, err := s.Consent(ctx, u.ID, "grafana"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Consent never given = %+v, %v; want ErrNotFound", c, err)
	}
	for _, id := range []int64{u.ID, u.ID + 1000} {
		list, err := s.Consents(ctx, id)
		if err != nil || len(list) != 0 {
			t.Fatalf("Consents of user %d without any = %d consents, %v; want none and no error", id, len(list), err)
		}
	}
}

func grantMissingUser(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	ghost := u.ID + 1000
	err := s.SaveConsent(ctx, &auth.Consent{UserID: ghost, AppID: "grafana", Scopes: []string{"openid"}, GrantedAt: userTime()})
	if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("SaveConsent of a missing user: err = %v, want ErrNotFound", err)
	}
	g := grantNew(ghost, "grafana")
	if err := s.CreateGrant(ctx, g); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("CreateGrant of a missing user: err = %v, want ErrNotFound", err)
	}
	if got, err := s.Grant(ctx, g.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the refused grant is stored: %+v, %v", got, err)
	}
}

func grantCreateAndRead(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	g := grantNew(u.ID, "grafana")
	grantCreate(t, ctx, s, g)
	grantCompare(t, "Grant", grantGet(t, ctx, s, g.ID), g)

	// Without a refresh token, and with lists that are empty: nil and
	// empty are the same absence.
	bare := grantNew(u.ID, "grafana")
	bare.Scopes, bare.AMR, bare.RefreshGen = nil, []string{}, 0
	grantCreate(t, ctx, s, bare)
	grantCompare(t, "Grant without a refresh token", grantGet(t, ctx, s, bare.ID), bare)

	// A revoked grant still reads back, with its revocation time.
	revoked := grantNew(u.ID, "gitea")
	revoked.RevokedAt = revoked.CreatedAt.Add(time.Minute)
	grantCreate(t, ctx, s, revoked)
	grantCompare(t, "revoked Grant", grantGet(t, ctx, s, revoked.ID), revoked)

	if got, err := s.Grant(ctx, "no-such-grant"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Grant of an unknown id = %+v, %v; want ErrNotFound", got, err)
	}
}

func grantDuplicateID(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	other := grantUser(t, ctx, s)
	g := grantNew(u.ID, "grafana")
	grantCreate(t, ctx, s, g)
	dup := grantNew(other.ID, "gitea")
	dup.ID = g.ID
	if err := s.CreateGrant(ctx, dup); err == nil {
		t.Fatal("CreateGrant with a taken id succeeded")
	}
	grantCompare(t, "Grant after a refused duplicate", grantGet(t, ctx, s, g.ID), g)
}

func grantRotate(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	g := grantNew(u.ID, "grafana")
	g.RefreshGen = 1
	grantCreate(t, ctx, s, g)
	other := grantNew(u.ID, "grafana")
	other.RefreshGen = 1
	grantCreate(t, ctx, s, other)

	next := g.RefreshExpiresAt.Add(24 * time.Hour)
	if err := s.RotateRefresh(ctx, g.ID, 1, next); err != nil {
		t.Fatalf("RotateRefresh from the current generation: %v", err)
	}
	want := *g
	want.RefreshGen, want.RefreshExpiresAt = 2, next
	grantCompare(t, "Grant after RotateRefresh", grantGet(t, ctx, s, g.ID), &want)
	grantCompare(t, "another grant after RotateRefresh", grantGet(t, ctx, s, other.ID), other)

	// The old generation again is a replay; a generation not reached yet,
	// or an unknown grant, is nothing to rotate either.
	for _, tc := range []struct {
		what string
		id   string
		from int
	}{
		{"the old generation", g.ID, 1},
		{"a generation not reached", g.ID, 3},
		{"generation 0", g.ID, 0},
		{"an unknown grant", "no-such-grant", 2},
	} {
		err := s.RotateRefresh(ctx, tc.id, tc.from, next.Add(time.Hour))
		if !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("RotateRefresh from %s: err = %v, want ErrNotFound", tc.what, err)
		}
		grantCompare(t, "Grant after a refused RotateRefresh from "+tc.what, grantGet(t, ctx, s, g.ID), &want)
	}
	if err := s.RotateRefresh(ctx, g.ID, 2, next.Add(time.Hour)); err != nil {
		t.Fatalf("RotateRefresh from generation 2: %v", err)
	}
	if got := grantGet(t, ctx, s, g.ID); got.RefreshGen != 3 {
		t.Fatalf("RefreshGen after two rotations = %d, want 3", got.RefreshGen)
	}
}

func grantRotateRevoked(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	g := grantNew(u.ID, "grafana")
	g.RefreshGen = 4
	grantCreate(t, ctx, s, g)
	at := g.CreatedAt.Add(time.Hour)
	if err := s.RevokeGrant(ctx, g.ID, at); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	err := s.RotateRefresh(ctx, g.ID, 4, g.RefreshExpiresAt.Add(time.Hour))
	if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("RotateRefresh of a revoked grant: err = %v, want ErrNotFound", err)
	}
	want := *g
	want.RevokedAt = at
	grantCompare(t, "revoked Grant after a refused RotateRefresh", grantGet(t, ctx, s, g.ID), &want)
}

func grantRotateRace(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	g := grantNew(u.ID, "grafana")
	g.RefreshGen = 1
	grantCreate(t, ctx, s, g)
	// Many rounds, because one can pass by luck of scheduling: a rotation
	// that reads the generation and then writes it lost in the first round
	// on Postgres, but on SQLite only after anywhere from 2 to over 20.
	for from := 1; from <= 50; from++ {
		expires := g.RefreshExpiresAt.Add(time.Duration(from) * time.Hour)
		errs := userConcurrently(
			func() error { return s.RotateRefresh(ctx, g.ID, from, expires) },
			func() error { return s.RotateRefresh(ctx, g.ID, from, expires) },
		)
		var ok, lost int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, auth.ErrNotFound):
				lost++
			default:
				t.Fatalf("racing RotateRefresh: unexpected error %v", err)
			}
		}
		if ok != 1 || lost != 1 {
			t.Fatalf("racing RotateRefresh from %d: %d won, %d got ErrNotFound; want 1 and 1", from, ok, lost)
		}
		if got := grantGet(t, ctx, s, g.ID); got.RefreshGen != from+1 {
			t.Fatalf("after racing RotateRefresh from %d: RefreshGen = %d, want %d", from, got.RefreshGen, from+1)
		}
	}
}

func grantRevokeOne(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	g := grantNew(u.ID, "grafana")
	grantCreate(t, ctx, s, g)
	sibling := grantNew(u.ID, "grafana")
	grantCreate(t, ctx, s, sibling)

	first := g.CreatedAt.Add(time.Hour)
	if err := s.RevokeGrant(ctx, g.ID, first); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	want := *g
	want.RevokedAt = first
	grantCompare(t, "Grant after RevokeGrant", grantGet(t, ctx, s, g.ID), &want)
	grantCompare(t, "the same user's other grant", grantGet(t, ctx, s, sibling.ID), sibling)

	// Revoking again changes nothing: the first revocation's time stays.
	if err := s.RevokeGrant(ctx, g.ID, first.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeGrant of a revoked grant: %v", err)
	}
	grantCompare(t, "Grant after revoking it again", grantGet(t, ctx, s, g.ID), &want)
	if err := s.RevokeGrant(ctx, "no-such-grant", first); err != nil {
		t.Fatalf("RevokeGrant of an unknown grant: %v", err)
	}
}

func grantRevokeByUser(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	other := grantUser(t, ctx, s)
	grafana1, grafana2, gitea := grantNew(u.ID, "grafana"), grantNew(u.ID, "grafana"), grantNew(u.ID, "gitea")
	earlier := grantNew(u.ID, "grafana")
	earlier.RevokedAt = earlier.CreatedAt.Add(time.Minute)
	othersGrafana := grantNew(other.ID, "grafana")
	for _, g := range []*auth.Grant{grafana1, grafana2, gitea, earlier, othersGrafana} {
		grantCreate(t, ctx, s, g)
	}
	revoked := func(g *auth.Grant, at time.Time) *auth.Grant {
		w := *g
		w.RevokedAt = at
		return &w
	}

	at := userTime().Add(time.Hour)
	n, err := s.RevokeGrants(ctx, u.ID, "grafana", at)
	if err != nil || n != 2 {
		t.Fatalf("RevokeGrants of one app = %d, %v; want 2 (the already revoked grant does not count)", n, err)
	}
	grantCompare(t, "grafana grant 1", grantGet(t, ctx, s, grafana1.ID), revoked(grafana1, at))
	grantCompare(t, "grafana grant 2", grantGet(t, ctx, s, grafana2.ID), revoked(grafana2, at))
	grantCompare(t, "earlier revoked grant", grantGet(t, ctx, s, earlier.ID), earlier)
	grantCompare(t, "another app's grant", grantGet(t, ctx, s, gitea.ID), gitea)
	grantCompare(t, "another user's grant", grantGet(t, ctx, s, othersGrafana.ID), othersGrafana)

	later := at.Add(time.Hour)
	n, err = s.RevokeGrants(ctx, u.ID, "", later)
	if err != nil || n != 1 {
		t.Fatalf("RevokeGrants of every app = %d, %v; want 1 (only gitea's grant was live)", n, err)
	}
	grantCompare(t, "gitea grant", grantGet(t, ctx, s, gitea.ID), revoked(gitea, later))
	grantCompare(t, "grafana grant 1 after revoking all", grantGet(t, ctx, s, grafana1.ID), revoked(grafana1, at))
	grantCompare(t, "another user's grant after revoking all", grantGet(t, ctx, s, othersGrafana.ID), othersGrafana)

	for _, appID := range []string{"", "grafana"} {
		if n, err := s.RevokeGrants(ctx, u.ID, appID, later.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("RevokeGrants(%q) with nothing live = %d, %v; want 0", appID, n, err)
		}
	}
	if n, err := s.RevokeGrants(ctx, u.ID+1000, "", later); err != nil || n != 0 {
		t.Fatalf("RevokeGrants of a missing user = %d, %v; want 0", n, err)
	}
}

func grantRevokeByPasskey(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	other := grantUser(t, ctx, s)
	a1, a2, b := grantNew(u.ID, "grafana"), grantNew(u.ID, "gitea"), grantNew(u.ID, "grafana")
	a2.PasskeyUID = a1.PasskeyUID
	email := grantNew(u.ID, "grafana")
	email.PasskeyUID = ""
	done := grantNew(u.ID, "gitea")
	done.PasskeyUID, done.RevokedAt = a1.PasskeyUID, done.CreatedAt.Add(time.Minute)
	others := grantNew(other.ID, "grafana")
	others.PasskeyUID = a1.PasskeyUID
	for _, g := range []*auth.Grant{a1, a2, b, email, done, others} {
		grantCreate(t, ctx, s, g)
	}
	at := userTime().Add(time.Hour)
	n, err := s.RevokePasskeyGrants(ctx, u.ID, a1.PasskeyUID, at)
	if err != nil || n != 2 {
		t.Fatalf("RevokePasskeyGrants = %d, %v; want 2", n, err)
	}
	for _, g := range []*auth.Grant{a1, a2} {
		w := *g
		w.RevokedAt = at
		grantCompare(t, "a grant of the passkey", grantGet(t, ctx, s, g.ID), &w)
	}
	grantCompare(t, "another passkey's grant", grantGet(t, ctx, s, b.ID), b)
	grantCompare(t, "an email login's grant", grantGet(t, ctx, s, email.ID), email)
	grantCompare(t, "a grant revoked before", grantGet(t, ctx, s, done.ID), done)
	grantCompare(t, "another user's grant", grantGet(t, ctx, s, others.ID), others)
}

func grantDeleteBefore(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	cutoff := userTime().Add(30 * 24 * time.Hour)
	grant := func(refreshGen int, expires time.Duration, revoked time.Duration) *auth.Grant {
		g := grantNew(u.ID, "grafana")
		g.RefreshGen = refreshGen
		g.RefreshExpiresAt = cutoff.Add(expires)
		if revoked != 0 {
			g.RevokedAt = cutoff.Add(revoked)
		}
		grantCreate(t, ctx, s, g)
		return g
	}
	// A grant without a refresh token (generation 0) carries its access
	// tokens' expiry in RefreshExpiresAt.
	ended := map[string]*auth.Grant{
		"refresh expired":                 grant(3, -time.Minute, 0),
		"revoked, refresh still valid":    grant(2, time.Hour, -time.Minute),
		"revoked and expired":             grant(2, -time.Hour, -time.Minute),
		"no refresh, access tokens ended": grant(0, -time.Second, 0),
	}
	live := map[string]*auth.Grant{
		"live":                                 grant(1, time.Hour, 0),
		"refresh expires at the cutoff":        grant(1, 0, 0),
		"revoked after the cutoff":             grant(1, time.Hour, time.Minute),
		"no refresh, access tokens still good": grant(0, time.Minute, 0),
	}
	n, err := s.DeleteGrantsBefore(ctx, cutoff)
	if err != nil || n != len(ended) {
		t.Fatalf("DeleteGrantsBefore = %d, %v; want %d", n, err, len(ended))
	}
	for what, g := range ended {
		if got, err := s.Grant(ctx, g.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("grant %s is still there: %+v, %v", what, got, err)
		}
	}
	for what, g := range live {
		grantCompare(t, "grant "+what, grantGet(t, ctx, s, g.ID), g)
	}
	if n, err := s.DeleteGrantsBefore(ctx, cutoff); err != nil || n != 0 {
		t.Fatalf("DeleteGrantsBefore again = %d, %v; want 0", n, err)
	}
}

func grantDeleteUser(t *testing.T, ctx context.Context, s Grants) {
	u := grantUser(t, ctx, s)
	other := grantUser(t, ctx, s)
	mine, theirs := grantNew(u.ID, "grafana"), grantNew(other.ID, "grafana")
	for _, g := range []*auth.Grant{mine, theirs} {
		grantCreate(t, ctx, s, g)
		grantSaveConsent(t, ctx, s, &auth.Consent{UserID: g.UserID, AppID: g.AppID, Scopes: g.Scopes, GrantedAt: g.CreatedAt})
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if c, err := s.Consent(ctx, u.ID, "grafana"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Consent of a deleted user = %+v, %v; want ErrNotFound", c, err)
	}
	if list, err := s.Consents(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("Consents of a deleted user = %d, %v; want none", len(list), err)
	}
	if g, err := s.Grant(ctx, mine.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Grant of a deleted user = %+v, %v; want ErrNotFound", g, err)
	}
	grantConsent(t, ctx, s, other.ID, "grafana")
	grantCompare(t, "the other user's grant", grantGet(t, ctx, s, theirs.ID), theirs)
}

func grantSigningKeyFirstWins(t *testing.T, ctx context.Context, s Grants) {
	// An earlier epoch is there too, so a store that finds the key by its
	// alg alone shows it.
	if _, err := s.AddSigningKey(ctx, grantNewKey("ES256", 41)); err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	first := grantNewKey("ES256", 42)
	got, err := s.AddSigningKey(ctx, first)
	if err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	grantCompareKey(t, "AddSigningKey of a new epoch", got, first)

	// Another instance made its own key for the same epoch a moment later.
	second := grantNewKey("ES256", 42)
	second.CreatedAt = first.CreatedAt.Add(time.Second)
	got, err = s.AddSigningKey(ctx, second)
	if err != nil {
		t.Fatalf("AddSigningKey of a taken epoch: %v", err)
	}
	grantCompareKey(t, "AddSigningKey of a taken epoch", got, first)

	// The same epoch of another algorithm is another key.
	rsa := grantNewKey("RS256", 42)
	if got, err = s.AddSigningKey(ctx, rsa); err != nil {
		t.Fatalf("AddSigningKey of another alg: %v", err)
	}
	grantCompareKey(t, "AddSigningKey of another alg", got, rsa)

	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 3 {
		t.Fatalf("SigningKeys = %d keys, want 3", len(keys))
	}
	for _, k := range keys[:2] {
		want := first
		if k.Alg == "RS256" {
			want = rsa
		}
		grantCompareKey(t, "SigningKeys", &k, want)
	}
}

func grantSigningKeyRace(t *testing.T, ctx context.Context, s Grants) {
	for epoch := int64(1); epoch <= 3; epoch++ {
		a, b := grantNewKey("ES256", epoch), grantNewKey("ES256", epoch)
		var gotA, gotB *auth.SigningKey
		errs := userConcurrently(
			func() (err error) { gotA, err = s.AddSigningKey(ctx, a); return err },
			func() (err error) { gotB, err = s.AddSigningKey(ctx, b); return err },
		)
		for _, err := range errs {
			if err != nil {
				t.Fatalf("racing AddSigningKey: %v", err)
			}
		}
		if gotA.KID != gotB.KID || !bytes.Equal(gotA.Sealed, gotB.Sealed) {
			t.Fatalf("racing AddSigningKey of epoch %d answered two keys: %s and %s", epoch, gotA.KID, gotB.KID)
		}
		if gotA.KID != a.KID && gotA.KID != b.KID {
			t.Fatalf("racing AddSigningKey answered kid %s, neither %s nor %s", gotA.KID, a.KID, b.KID)
		}
	}
}

func grantSigningKeyOrder(t *testing.T, ctx context.Context, s Grants) {
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys of an empty store = %d keys, %v; want none", len(keys), err)
	}
	// Added out of order, so a store that lists by insertion fails.
	for _, k := range []*auth.SigningKey{
		grantNewKey("ES256", 7), grantNewKey("ES256", 9), grantNewKey("RS256", 8), grantNewKey("ES256", 8), grantNewKey("ES256", 10),
	} {
		if _, err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey: %v", err)
		}
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, fmt.Sprintf("%s/%d", k.Alg, k.Epoch))
	}
	// Within an epoch the order is free.
	if want := []string{"ES256/10", "ES256/9", "ES256/8", "RS256/8", "ES256/7"}; !slices.Equal(got, want) {
		if alt := []string{"ES256/10", "ES256/9", "RS256/8", "ES256/8", "ES256/7"}; !slices.Equal(got, alt) {
			t.Fatalf("SigningKeys = %v, want %v (newest epoch first)", got, want)
		}
	}
}

func grantSigningKeyDelete(t *testing.T, ctx context.Context, s Grants) {
	for _, k := range []*auth.SigningKey{
		grantNewKey("ES256", 1), grantNewKey("RS256", 1), grantNewKey("ES256", 2), grantNewKey("RS256", 3), grantNewKey("ES256", 3),
	} {
		if _, err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey: %v", err)
		}
	}
	if err := s.DeleteSigningKeys(ctx, 2); err != nil {
		t.Fatalf("DeleteSigningKeys: %v", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	var epochs []int64
	for _, k := range keys {
		epochs = append(epochs, k.Epoch)
	}
	if want := []int64{3, 3, 2}; !slices.Equal(epochs, want) {
		t.Fatalf("epochs after DeleteSigningKeys(2) = %v, want %v", epochs, want)
	}
	// An epoch freed by the deletion takes a key again.
	k := grantNewKey("ES256", 1)
	got, err := s.AddSigningKey(ctx, k)
	if err != nil {
		t.Fatalf("AddSigningKey of a deleted epoch: %v", err)
	}
	grantCompareKey(t, "AddSigningKey of a deleted epoch", got, k)
	if err := s.DeleteSigningKeys(ctx, 0); err != nil {
		t.Fatalf("DeleteSigningKeys with nothing to delete: %v", err)
	}
}

func grantPing(t *testing.T, ctx context.Context, s Grants) {
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// grantUser stores a new user, to whom consents and grants can belong.
func grantUser(t *testing.T, ctx context.Context, s Grants) *auth.User {
	t.Helper()
	u, p := userNew()
	if err := s.CreateUser(ctx, u, p); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// grantNew returns a live grant of userID to appID with every field set
// and a random id.
func grantNew(userID int64, appID string) *auth.Grant {
	created := userTime()
	return &auth.Grant{
		ID:     "g_" + userRandomHex(16),
		UserID: userID,
		AppID:  appID,
		// Not in alphabetical order, so a store that sorts them shows it.
		Scopes:           []string{"openid", "profile", "offline_access", "email"},
		AuthTime:         created.Add(-time.Minute),
		AMR:              []string{"pop", "mfa"},
		PasskeyUID:       "pk_" + userRandomHex(8),
		RefreshGen:       1,
		RefreshExpiresAt: created.Add(30 * 24 * time.Hour),
		CreatedAt:        created,
	}
}

// grantNewKey returns a signing key of alg and epoch with a random kid and
// sealed key.
func grantNewKey(alg string, epoch int64) *auth.SigningKey {
	return &auth.SigningKey{
		Alg:       alg,
		Epoch:     epoch,
		KID:       "k_" + userRandomHex(8),
		Sealed:    userRandomBytes(120),
		CreatedAt: userTime().Add(time.Duration(epoch) * time.Hour),
	}
}

func grantCreate(t *testing.T, ctx context.Context, s Grants, g *auth.Grant) {
	t.Helper()
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
}

func grantGet(t *testing.T, ctx context.Context, s Grants, id string) *auth.Grant {
	t.Helper()
	g, err := s.Grant(ctx, id)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	return g
}

func grantSaveConsent(t *testing.T, ctx context.Context, s Grants, c *auth.Consent) {
	t.Helper()
	if err := s.SaveConsent(ctx, c); err != nil {
		t.Fatalf("SaveConsent(%s): %v", c.AppID, err)
	}
}

func grantConsent(t *testing.T, ctx context.Context, s Grants, userID int64, appID string) *auth.Consent {
	t.Helper()
	c, err := s.Consent(ctx, userID, appID)
	if err != nil {
		t.Fatalf("Consent(%d, %s): %v", userID, appID, err)
	}
	return c
}

func grantCompareConsent(t *testing.T, what string, got, want *auth.Consent) {
	t.Helper()
	if got.UserID != want.UserID || got.AppID != want.AppID || !slices.Equal(got.Scopes, want.Scopes) ||
		!userSameTime(got.GrantedAt, want.GrantedAt) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

func grantCompare(t *testing.T, what string, got, want *auth.Grant) {
	t.Helper()
	// slices.Equal: nil and empty are the same absence.
	if got.ID != want.ID || got.UserID != want.UserID || got.AppID != want.AppID ||
		!slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.AMR, want.AMR) || got.PasskeyUID != want.PasskeyUID ||
		!userSameTime(got.AuthTime, want.AuthTime) || got.RefreshGen != want.RefreshGen ||
		!userSameTime(got.RefreshExpiresAt, want.RefreshExpiresAt) || !userSameTime(got.CreatedAt, want.CreatedAt) ||
		got.RevokedAt.IsZero() != want.RevokedAt.IsZero() || !userSameTime(got.RevokedAt, want.RevokedAt) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

func grantCompareKey(t *testing.T, what string, got, want *auth.SigningKey) {
	t.Helper()
	if got.Alg != want.Alg || got.Epoch != want.Epoch || got.KID != want.KID ||
		!bytes.Equal(got.Sealed, want.Sealed) || !userSameTime(got.CreatedAt, want.CreatedAt) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}
