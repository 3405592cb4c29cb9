package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
)

// checkUser enforces identity verification: when the project requires it, a
// public-key call naming a user must carry X-User-Hash, the hex HMAC-SHA256 of
// the user id under the project's identity secret. Without it, anyone holding
// the public key could read any user's journey.
func (s *Server) checkUser(r *http.Request, userID string) error {
	key := APIKeyFrom(r.Context())
	if key == nil || key.Kind == so.KeySecret {
		return nil
	}
	secret, err := s.secrets.get(r.Context(), s.Projects, key.ProjectID)
	if err != nil || secret == "" {
		return err
	}
	got, err := hex.DecodeString(r.Header.Get("X-User-Hash"))
	if err != nil || !hmac.Equal(got, UserHash(secret, userID)) {
		return so.FieldErrorf(so.EUNAUTHORIZED, "user_id", "identity verification is on: send X-User-Hash, the hex HMAC-SHA256 of the user id under the project's identity secret")
	}
	return nil
}

// UserHash is the HMAC a customer's backend computes for X-User-Hash.
func UserHash(secret, userID string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return m.Sum(nil)
}
