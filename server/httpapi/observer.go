package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/shared"
)

// Observer is told of every request the edge answers, for metrics. It runs
// on the request's goroutine, so it must be quick. Everything it is given
// comes from fixed sets, never from what the request said.
type Observer interface {
	// ObserveRequest reports one answered request. route is the ServeMux
	// pattern it matched: an API route's (shared.Route.Pattern()), a health
	// check's, "/api/" for an unknown API path or "/" for the app's pages
	// and files; for the OpenID Connect provider the endpoint's path
	// (shared.OIDCToken, …) or shared.OIDCPrefix; "" when nothing matched.
	// code is "" for a success, else the error code answered, one of
	// shared.Codes. d is how long the answer took.
	ObserveRequest(route, code string, d time.Duration)
}

// requestState is what the edge keeps about a request while it runs: the
// logger carrying its id, and the error code it was answered with.
type requestState struct {
	log  *slog.Logger
	code string
}

// routeOf is the route an Observer is told of. ServeMux writes the pattern
// it matched into the very request it was given, which is the one observe
// passed down.
func routeOf(r *http.Request) string {
	if r.Pattern == shared.OIDCPrefix {
		switch r.URL.Path {
		case shared.OIDCAuthorize, shared.OIDCToken, shared.OIDCUserinfo, shared.OIDCKeys, shared.OIDCLogout:
			return r.URL.Path
		}
	}
	return r.Pattern
}

// codeOfStatus names the failures that writeError did not write (the
// OpenID Connect provider's, ServeMux's own 404 and 405) by their status,
// so an Observer only ever sees codes from shared.Codes.
func codeOfStatus(status int) string {
	switch {
	case status < 400:
		return ""
	case status == http.StatusUnauthorized:
		return shared.CodeUnauthenticated
	case status == http.StatusForbidden:
		return shared.CodeForbidden
	case status == http.StatusNotFound:
		return shared.CodeNotFound
	case status == http.StatusMethodNotAllowed:
		return shared.CodeMethodNotAllowed
	case status == http.StatusRequestEntityTooLarge:
		return shared.CodeBodyTooLarge
	case status == http.StatusUnsupportedMediaType:
		return shared.CodeUnsupportedMedia
	case status == http.StatusTooManyRequests:
		return shared.CodeRateLimited
	case status == http.StatusServiceUnavailable:
		return shared.CodeUnavailable
	case status >= 500:
		return shared.CodeInternal
	default:
		return shared.CodeInvalidInput
	}
}
