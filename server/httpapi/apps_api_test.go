package httpapi_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/app/client"
	"github.com/latchkey/latchkey/server/internal/passkeytest"
	"github.com/latchkey/latchkey/shared"
)

// Without OIDC clients configured there is no provider and no grant store,
// yet /account still asks which apps may sign the person in: none.
func TestAppsWithoutTheProvider(t *testing.T) {
	for _, open := range allStores {
		s := open(t)
		t.Run(s.Name, func(t *testing.T) {
			a := newAPI(t, s)
			c := client.NewHTTP(a.URL, newJarClient())
			signUp(t, c, passkeytest.New(a.URL, "localhost"), "vera", "vera@example.com")
			ctx := context.Background()
			apps, err := c.Apps(ctx)
			if err != nil || len(apps.Apps) != 0 {
				t.Fatalf("apps %+v %v", apps, err)
			}
			if err := c.RemoveApp(ctx, "grafana"); client.Code(err) != shared.CodeNotFound {
				t.Errorf("removing an unknown app: %v", err)
			}
		})
	}
}
