package auth

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Authenticator is what Latchkey knows of a passkey provider from its AAGUID.
type Authenticator struct {
	Name string `json:"name"`
	// Icon names the UI's icon for the kind of provider: "device" (a
	// platform authenticator), "manager" (a password manager) or
	// "security-key". Brand logos are their owners'; categories are ours.
	Icon string `json:"icon"`
}

// aaguids is a small table of common platforms and password managers, from
// the community-maintained passkey AAGUID list. With attestation "none" the
// AAGUID is the provider's claim, fine for a label and nothing more.
//
//go:embed aaguids.json
var aaguidsJSON []byte

var aaguids = func() map[string]Authenticator {
	m := map[string]Authenticator{}
	if err := json.Unmarshal(aaguidsJSON, &m); err != nil {
		panic(fmt.Sprintf("auth: aaguids.json: %v", err))
	}
	return m
}()

// LookupAuthenticator names the provider of an AAGUID, if known.
func LookupAuthenticator(aaguid []byte) (Authenticator, bool) {
	a, ok := aaguids[formatAAGUID(aaguid)]
	return a, ok
}

func formatAAGUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// defaultPasskeyName labels a new passkey when the person gave no name: the
// provider when its AAGUID is known, else the browser and platform it was
// made on, which is how people tell their devices apart.
func defaultPasskeyName(aaguid []byte, userAgent string) string {
	if a, ok := LookupAuthenticator(aaguid); ok {
		return a.Name
	}
	if browser, platform := describeUserAgent(userAgent); browser == "" && platform == "" {
		return "Passkey"
	}
	return DeviceName(userAgent)
}
