package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/server/auth"
	"github.com/latchkey/latchkey/shared"
)

// statusOf is the one place an error code becomes an HTTP status.
var statusOf = map[string]int{
	shared.CodeInvalidInput:       http.StatusBadRequest,
	shared.CodeUnsupportedMedia:   http.StatusUnsupportedMediaType,
	shared.CodeBodyTooLarge:       http.StatusRequestEntityTooLarge,
	shared.CodeNotFound:           http.StatusNotFound,
	shared.CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	shared.CodeUsernameTaken:      http.StatusConflict,
	shared.CodeEmailTaken:         http.StatusConflict,
	shared.CodeCeremonyInvalid:    http.StatusBadRequest,
	shared.CodeCredentialRejected: http.StatusBadRequest,
	shared.CodeUserNotFound:       http.StatusNotFound,
	shared.CodeNotRemembered:      http.StatusNotFound,
	shared.CodeUnauthenticated:    http.StatusUnauthorized,
	shared.CodeReauthRequired:     http.StatusForbidden,
	shared.CodeLastPasskey:        http.StatusConflict,
	shared.CodeLimitReached:       http.StatusConflict,
	shared.CodeTokenInvalid:       http.StatusBadRequest,
	shared.CodeRateLimited:        http.StatusTooManyRequests,
	shared.CodeForbidden:          http.StatusForbidden,
	shared.CodeUnavailable:        http.StatusServiceUnavailable,
	shared.CodeBusy:               http.StatusServiceUnavailable,
	shared.CodeInternal:           http.StatusInternalServerError,
}

// handlerFunc is an HTTP handler that returns its failure.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, r, err)
	}
}

// writeError answers with {"error": {...}}. An error without a code is
// internal: logged in full with the request id, shown as a plain sentence.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	body := shared.APIError{Code: shared.CodeInternal, Message: auth.InternalMessage}
	var ae *auth.Error
	if errors.As(err, &ae) {
		body.Code, body.Message, body.Field = ae.Code, ae.Message, ae.Field
	}
	status, ok := statusOf[body.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if ae != nil && ae.Status != 0 {
		// Set where the error was made, for a code whose status depends
		// on the flow (a rejected passkey is 401 at login only).
		status = ae.Status
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// A store that cannot be reached (unavailable) or is full (busy)
		// will likely serve again in a moment.
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetryUnavailable.Seconds()))
	}
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		st.code = body.Code
	}
	log := logger(r.Context())
	switch {
	case status >= 500 && !errors.Is(err, context.Canceled):
		log.ErrorContext(r.Context(), "request failed", "status", status, "err", err)
	default:
		// Client errors carry developer detail (a library's reason for
		// rejecting a credential, say) that helps debugging and is never sent.
		log.InfoContext(r.Context(), "request refused", "status", status, "code", body.Code, "err", err)
	}
	writeJSON(w, status, shared.ErrorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

type stateKey struct{}

// logger returns the request's logger (with its request id).
func logger(ctx context.Context) *slog.Logger {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.log
	}
	return slog.Default()
}
