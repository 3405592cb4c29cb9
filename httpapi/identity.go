package httpapi

import (
	"crypto/hmac"
	"encoding/hex"
	"net/http"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// userVerifier returns the identity check for a request's users. When the
// project requires identity verification, a public-key call naming a user must
// carry X-User-Hash, the hex HMAC-SHA256 of the user id under the project's
// identity secret; without it, anyone holding the public key could read any
// user's journey. Secret keys are the customer's backend and need no hash.
func (s *Server) userVerifier(r *http.Request) (func(userID string) error, error) {
	key := APIKeyFrom(r.Context())
	if key == nil || key.Kind == so.KeySecret {
		return func(string) error { return nil }, nil
	}
	p, err := s.cachedProject(r)
	if err != nil {
		return nil, err
	}
	if p.IdentitySecret == "" {
		return func(string) error { return nil }, nil
	}
	secrets := p.IdentitySecrets(time.Now())
	got, _ := hex.DecodeString(userHashParam(r))
	return func(userID string) error {
		if !slices.ContainsFunc(secrets, func(secret string) bool { return hmac.Equal(got, so.UserHash(secret, userID)) }) {
			return so.FieldErrorf(so.EUNAUTHORIZED, "user_id", "identity verification is on: send X-User-Hash, the hex HMAC-SHA256 of the user id under the project's identity secret")
		}
		return nil
	}, nil
}

// checkUser applies the identity check to one user.
func (s *Server) checkUser(r *http.Request, userID string) error {
	verify, err := s.userVerifier(r)
	if err != nil {
		return err
	}
	return verify(userID)
}

// userHashParam is X-User-Hash, or ?user_hash= on the routes browsers call
// without headers (navigator.sendBeacon, EventSource).
func userHashParam(r *http.Request) string {
	if h := r.Header.Get("X-User-Hash"); h != "" {
		return h
	}
	if keyInURL(r) {
		return r.URL.Query().Get("user_hash")
	}
	return ""
}
