// Package webhook holds the pure parts of outgoing webhooks, following the
// Standard Webhooks specification (https://www.standardwebhooks.com/): endpoint
// secrets, signing and verifying, the headers of a delivery, the event types an
// endpoint subscribes to, the payload envelope, the policy on endpoint URLs and
// the HTTP client that enforces it at connect time, one delivery attempt, the
// retry schedule and the rule that disables a failing endpoint. Storage and the
// job queue that drive deliveries live elsewhere.
//
// A delivery is a POST of the payload with three headers:
//
//	webhook-id:        the message id, the same on every retry of one message
//	webhook-timestamp: the attempt's time in unix seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">
//
// keyed with the base64-decoded part of the endpoint secret after "whsec_".
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// secretBytes is how much randomness a new secret holds (the specification asks
// for 24 to 64 bytes).
const secretBytes = 32

// The header names of a delivery, as the specification spells them (http.Header
// canonicalises them on Set and Get).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// UserAgent identifies our deliveries to the receiver.
const UserAgent = "SmartOnboarding-Webhooks/1"

// DefaultTolerance is how far a delivery's timestamp may be from the receiver's
// clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// maxIDLen bounds a message id: it travels in a header.
const maxIDLen = 256

// Errors of Verify, to test with errors.Is. None of them says anything about the
// secret or the expected signature.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp   = errors.New("webhook: the webhook-timestamp header is not unix seconds")
	ErrTimestamp      = errors.New("webhook: the timestamp is outside the tolerance")
	ErrSignature      = errors.New("webhook: no signature matches")
)

// NewSecret returns a new endpoint secret: "whsec_" and the standard base64 of
// 32 random bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// decodeSecret returns the HMAC key of a secret. Like the reference libraries it
// accepts the base64 part without its prefix too. The error never quotes the
// secret.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, so.FieldErrorf(so.EINVALID, "secret", "is not %q followed by standard base64", SecretPrefix)
	}
	return key, nil
}

// checkID refuses a message id that could not travel in a header or would make
// the signed content ambiguous to read.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return so.FieldErrorf(so.EINVALID, "id", "must be 1 to %d characters", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return so.FieldErrorf(so.EINVALID, "id", "must be printable ASCII without spaces or commas")
		}
	}
	return nil
}

// signature returns the base64 HMAC-SHA256 of "id.timestamp.body" under key.
func signature(key []byte, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Sign returns the webhook-signature value of a delivery: "v1," and the base64
// HMAC-SHA256 of "id.unixseconds.body" keyed with the decoded secret.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	return "v1," + signature(key, id, strconv.FormatInt(ts.Unix(), 10), body), nil
}

// Headers returns the headers of one delivery attempt: webhook-id,
// webhook-timestamp (unix seconds), webhook-signature, Content-Type and
// User-Agent.
func Headers(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 5)
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	return h, nil
}

// Verify checks a received delivery the way a receiver should: the three
// headers are present, the timestamp is within tolerance of now (either way;
// DefaultTolerance when tolerance is not positive), and one of the
// space-separated "v1,<base64>" signatures matches, compared in constant time.
// Signatures of other versions are ignored. It is the reference for our
// customers and what our tests check deliveries with.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := []byte(signature(key, id, tsText, body))
	for sig := range strings.FieldsSeq(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if ok && version == "v1" && hmac.Equal([]byte(value), want) {
			return nil
		}
	}
	return ErrSignature
}
