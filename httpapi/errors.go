package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// statusOf maps each domain error code to its one HTTP status.
var statusOf = map[string]int{
	so.EINVALID:      http.StatusBadRequest,
	so.EUNAUTHORIZED: http.StatusUnauthorized,
	so.EFORBIDDEN:    http.StatusForbidden,
	so.ENOTFOUND:     http.StatusNotFound,
	so.ECONFLICT:     http.StatusConflict,
	so.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	so.EMEDIATYPE:    http.StatusUnsupportedMediaType,
	so.ERATELIMITED:  http.StatusTooManyRequests,
	so.EUNAVAILABLE:  http.StatusServiceUnavailable,
	so.EINTERNAL:     http.StatusInternalServerError,
}

// writeError renders any error as the JSON error shape; errors that are not
// application errors become a generic 500 and are logged with the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		err = so.Errorf(so.EUNAVAILABLE, "the request was cancelled") // the client has gone; nothing to log
	case errors.Is(err, context.DeadlineExceeded):
		err = so.Errorf(so.EUNAVAILABLE, "the request took too long; retry")
	}
	code := so.ErrorCode(err)
	if code == so.EINTERNAL {
		s.Logger.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method,
			"path", r.URL.Path, "request_id", requestID(r.Context()))
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="smartonboard"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: so.ErrorMessage(err),
		Field: so.ErrorField(err), RequestID: requestID(r.Context())}})
}

// writeJSON writes v with a status; an encoding failure can only be logged, as the
// status line is already sent.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // bodies are JSON, never HTML; keep stored text byte-exact
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
