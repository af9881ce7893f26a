package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/latchkey/latchkey/server/config"
	"github.com/latchkey/latchkey/shared"
)

// printClients writes what an app's settings need (`latchkey clients`):
// the provider's endpoints and each configured client, never a secret or
// its hash.
func printClients(w io.Writer, cfg *config.Config) error {
	iss := cfg.Issuer()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label string, values ...string) {
		if len(values) == 0 {
			values = []string{"(none)"}
		}
		for i, v := range values {
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, v)
		}
	}
	row("Issuer", iss)
	row("Discovery", iss+shared.OIDCDiscovery)
	row("Authorization endpoint", iss+shared.OIDCAuthorize)
	row("Token endpoint", iss+shared.OIDCToken)
	row("Userinfo endpoint", iss+shared.OIDCUserinfo)
	row("JWKS", iss+shared.OIDCKeys)
	row("End session endpoint", iss+shared.OIDCLogout)
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(cfg.Apps) == 0 {
		_, err := fmt.Fprintln(w, "\nNo clients: OIDC_CLIENTS_FILE is not set.")
		return err
	}
	for _, a := range cfg.Apps {
		fmt.Fprintf(tw, "\nClient %s\n", a.ID)
		row("  Client ID", a.ID)
		row("  Name", a.Name)
		if a.Public {
			row("  Type", "public: no secret; PKCE with S256")
		} else {
			row("  Type", "confidential: client_secret_basic or client_secret_post, with its secret (never printed)")
		}
		if a.SkipConsent {
			row("  First-party", "yes: no consent page")
		} else {
			row("  First-party", "no: asks for consent")
		}
		row("  Scopes", strings.Join(a.Scopes, " "))
		row("  ID token algorithm", a.IDTokenAlg)
		row("  Redirect URIs", a.RedirectURIs...)
		row("  Post-logout redirect URIs", a.PostLogoutRedirectURIs...)
	}
	return tw.Flush()
}
