package auth

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
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

// DeviceName labels a User-Agent for people: "Chrome on Mac".
func DeviceName(userAgent string) string {
	browser, platform := describeUserAgent(userAgent)
	switch {
	case browser == "" && platform == "":
		if userAgent == "" {
			return "An app"
		}
		return "A browser"
	case browser == "":
		return "A browser on " + platform
	case platform == "":
		return browser
	}
	return browser + " on " + platform
}

// describeUserAgent picks a browser and platform name from a User-Agent
// header, checking the tokens that browsers copy from each other last.
func describeUserAgent(ua string) (browser, platform string) {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Edg/"):
		browser = "Edge"
	case has("OPR/"):
		browser = "Opera"
	case has("Firefox/"):
		browser = "Firefox"
	case has("Chrome/") || has("CriOS/") || has("HeadlessChrome/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	}
	switch {
	case has("iPhone"):
		platform = "iPhone"
	case has("iPad"):
		platform = "iPad"
	case has("Android"):
		platform = "Android"
	case has("Mac OS X") || has("Macintosh"):
		platform = "Mac"
	case has("Windows"):
		platform = "Windows"
	case has("CrOS"):
		platform = "ChromeOS"
	case has("Linux"):
		platform = "Linux"
	}
	return browser, platform
}
