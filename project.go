package smartonboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"
)

// DefaultProjectID is the project created on first start; single-tenant installs
// never see another.
const DefaultProjectID = "default"

// Project is a tenant: every stored row belongs to exactly one.
type Project struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// IdentitySecret, when set, turns on identity verification: public-key calls
	// naming a user must carry X-User-Hash = hex HMAC-SHA256(secret, user id).
	IdentitySecret string `json:"-"`
	// PreviousIdentitySecret is accepted until PreviousSecretUntil after a
	// rotation, so pages rendered with the old hash keep working for a while.
	PreviousIdentitySecret string          `json:"-"`
	PreviousSecretUntil    time.Time       `json:"-"`
	Settings               ProjectSettings `json:"settings"`
}

// KeyKind tells what an API key may do.
type KeyKind string

// Key kinds: secret keys administer a project, public keys are safe in a web page.
const (
	KeySecret KeyKind = "secret"
	KeyPublic KeyKind = "public"
)

// Key prefixes make a leaked key recognisable at a glance (and to secret scanners).
const (
	SecretKeyPrefix = "sk_"
	PublicKeyPrefix = "pk_"
)

// keyLookupLen is how many leading characters of a key are stored in clear to find
// its row; the rest is only ever compared as a hash.
const keyLookupLen = 11

// minKeyLen keeps keys high-entropy enough that an unsalted SHA-256 is a safe hash.
const minKeyLen = 32

// maxKeyLen bounds a presented key; generated keys are 43 characters.
const maxKeyLen = 256

// APIKey is a stored key: only its lookup prefix and SHA-256 hash, never the key.
type APIKey struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	Kind      KeyKind   `json:"kind"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectStore keeps projects and their keys.
type ProjectStore interface {
	// CreateProject stores a new project; a taken id is a conflict.
	CreateProject(ctx context.Context, p *Project) error
	// FindProject returns a project by id or a not_found error.
	FindProject(ctx context.Context, id string) (*Project, error)
	// UpdateProject stores a project's name and settings, or returns not_found.
	UpdateProject(ctx context.Context, p *Project) error
	// CreateAPIKey stores a key (prefix and hash only); a taken hash is a conflict.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// FindAPIKeysByPrefix returns the keys whose lookup prefix matches.
	FindAPIKeysByPrefix(ctx context.Context, prefix string) ([]*APIKey, error)
	// ListAPIKeys returns a project's keys, oldest first.
	ListAPIKeys(ctx context.Context, projectID string) ([]*APIKey, error)
}

// GenerateKey returns a new random key of the kind, prefixed sk_ or pk_.
func GenerateKey(kind KeyKind) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return kindPrefix(kind) + string(b)
}

func kindPrefix(kind KeyKind) string {
	if kind == KeySecret {
		return SecretKeyPrefix
	}
	return PublicKeyPrefix
}

// KeyKindOf tells the kind of a key from its prefix, or false if it has none.
func KeyKindOf(key string) (KeyKind, bool) {
	switch {
	case strings.HasPrefix(key, SecretKeyPrefix):
		return KeySecret, true
	case strings.HasPrefix(key, PublicKeyPrefix):
		return KeyPublic, true
	}
	return "", false
}

// ValidateKey checks that a key supplied by an operator is usable: the right prefix,
// enough length to be unguessable, and only the characters a presented key may
// have, so a configured key can always authenticate.
func ValidateKey(kind KeyKind, key string) error {
	if !strings.HasPrefix(key, kindPrefix(kind)) {
		return Errorf(EINVALID, "must start with %q", kindPrefix(kind))
	}
	if len(key) < minKeyLen {
		return Errorf(EINVALID, "must be at least %d characters long", minKeyLen)
	}
	if len(key) > maxKeyLen {
		return Errorf(EINVALID, "must be at most %d characters long", maxKeyLen)
	}
	if !WellFormedKey(key) {
		return Errorf(EINVALID, "may hold only ASCII letters, digits, _ and - after the prefix")
	}
	return nil
}

// WellFormedKey tells whether a presented key could be one this server issued or
// was configured with: a known prefix, then at least enough ASCII letters, digits,
// _ or -. Anything else (control or non-ASCII bytes) is refused before it reaches
// a store, which could not even compare it.
func WellFormedKey(key string) bool {
	if _, ok := KeyKindOf(key); !ok || len(key) < minKeyLen || len(key) > maxKeyLen {
		return false
	}
	for i := len(SecretKeyPrefix); i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// HashKey returns the hex SHA-256 of a key, the only form in which keys are stored.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyLookupPrefix returns the clear part of a key stored to find its row.
func KeyLookupPrefix(key string) string {
	if len(key) < keyLookupLen {
		return key
	}
	return key[:keyLookupLen]
}

// NewAPIKey builds the stored form of a key.
func NewAPIKey(projectID string, kind KeyKind, name, key string) *APIKey {
	return &APIKey{
		ID:        NewID(),
		ProjectID: projectID,
		Kind:      kind,
		Name:      name,
		Prefix:    KeyLookupPrefix(key),
		Hash:      HashKey(key),
		CreatedAt: Now(),
	}
}

// Matches compares a presented key with the stored hash in constant time.
func (k *APIKey) Matches(key string) bool {
	return subtle.ConstantTimeCompare([]byte(k.Hash), []byte(HashKey(key))) == 1
}

// Authenticate finds the stored key a presented key matches, or returns unauthorized.
func Authenticate(ctx context.Context, s ProjectStore, key string) (*APIKey, error) {
	if !WellFormedKey(key) {
		return nil, Errorf(EUNAUTHORIZED, "invalid API key")
	}
	keys, err := s.FindAPIKeysByPrefix(ctx, KeyLookupPrefix(key))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Matches(key) {
			return k, nil
		}
	}
	return nil, Errorf(EUNAUTHORIZED, "invalid API key")
}

// UserHash is the HMAC-SHA256 of a user id under a project's identity secret:
// what a customer's backend computes, hex-encoded, for X-User-Hash.
func UserHash(secret, userID string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return m.Sum(nil)
}

// SetIdentityVerification turns identity verification on (keeping the secret, or
// making a new one when there is none or rotate is set) or off (forgetting it).
func (p *Project) SetIdentityVerification(on, rotate bool) {
	switch {
	case !on:
		p.IdentitySecret = ""
	case p.IdentitySecret == "" || rotate:
		p.IdentitySecret = "ids_" + GenerateKey(KeySecret)[len(SecretKeyPrefix):]
	}
}
