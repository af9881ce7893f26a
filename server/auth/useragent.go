package auth

import "strings"

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
