package smartonboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
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
	// Revision counts updates, so an update made from an outdated read is
	// refused (conflict) instead of undoing the one before it.
	Revision int `json:"-"`
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
	ID        string
	ProjectID string
	Kind      KeyKind
	Name      string
	Prefix    string
	Hash      string
	CreatedAt time.Time
	Scopes    []Scope // secret keys only
	CreatedBy string  // the actor that made it ("key:…", "account:…"), or empty for bootstrap
	Source    string  // KeySource*: the API, a first start, or a bootstrap variable
	// LastUsedAt is written at most once a minute per key per instance.
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// ProjectStore keeps projects and their keys.
type ProjectStore interface {
	// CreateProject stores a new project; a taken id is a conflict.
	CreateProject(ctx context.Context, p *Project) error
	// FindProject returns a project by id or a not_found error.
	FindProject(ctx context.Context, id string) (*Project, error)
	// UpdateProject stores a project's name and settings if its Revision is
	// still the stored one, and moves Revision on; an outdated one is a
	// conflict, a missing project not_found.
	UpdateProject(ctx context.Context, p *Project) error
	// CreateAPIKey stores a key (prefix and hash only); a taken hash is a conflict.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// FindAPIKeysByPrefix returns the keys whose lookup prefix matches, revoked
	// ones included.
	FindAPIKeysByPrefix(ctx context.Context, prefix string) ([]*APIKey, error)
	// ListAPIKeys returns a project's keys, oldest first, revoked ones included.
	ListAPIKeys(ctx context.Context, projectID string) ([]*APIKey, error)
	// RevokeAPIKey marks a project's key revoked at the given time; a key that
	// does not exist (or is of another project) is not_found, and revoking a
	// revoked key keeps its first revocation time.
	RevokeAPIKey(ctx context.Context, projectID, id string, at time.Time) (*APIKey, error)
	// TouchAPIKeys records when keys were last used (id → time), never moving
	// a time backwards.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
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

// NewAPIKey builds the stored form of a key; a secret key gets every scope
// (narrow them with Scopes), a public key none.
func NewAPIKey(projectID string, kind KeyKind, name, key string) *APIKey {
	k := &APIKey{
		ID:        NewID(),
		ProjectID: projectID,
		Kind:      kind,
		Name:      name,
		Prefix:    KeyLookupPrefix(key),
		Hash:      HashKey(key),
		CreatedAt: Now(),
		Source:    KeySourceAPI,
	}
	if kind == KeySecret {
		k.Scopes = slices.Clone(AllScopes)
	}
	return k
}

// Matches compares a presented key with the stored hash in constant time.
func (k *APIKey) Matches(key string) bool {
	return subtle.ConstantTimeCompare([]byte(k.Hash), []byte(HashKey(key))) == 1
}

// Authenticate finds the stored key a presented key matches, or returns
// unauthorized; a revoked or expired key is refused with its reason, since the
// caller holds a real key and deserves to know why it stopped working.
func Authenticate(ctx context.Context, s ProjectStore, key string) (*APIKey, error) {
	k, err := FindKey(ctx, s, key)
	if err != nil {
		return nil, err
	}
	return k, k.CheckUsable(time.Now())
}

// FindKey finds the stored key a presented key matches, usable or not.
func FindKey(ctx context.Context, s ProjectStore, key string) (*APIKey, error) {
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

// CheckUsable explains why a stored key may not authenticate at now.
func (k *APIKey) CheckUsable(now time.Time) error {
	switch {
	case k.RevokedAt != nil:
		return Errorf(EUNAUTHORIZED, "this API key was revoked")
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return Errorf(EUNAUTHORIZED, "this API key expired")
	}
	return nil
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
// A rotated secret stays valid for grace, so pages already rendered with hashes
// under it keep working while the customer's backend moves to the new one.
func (p *Project) SetIdentityVerification(on, rotate bool, grace time.Duration, now time.Time) {
	switch {
	case !on:
		p.IdentitySecret, p.PreviousIdentitySecret, p.PreviousSecretUntil = "", "", time.Time{}
	case p.IdentitySecret == "":
		p.IdentitySecret = newIdentitySecret()
	case rotate:
		p.PreviousIdentitySecret, p.PreviousSecretUntil = p.IdentitySecret, Truncate(now.Add(grace))
		p.IdentitySecret = newIdentitySecret()
	}
}

func newIdentitySecret() string { return "ids_" + GenerateKey(KeySecret)[len(SecretKeyPrefix):] }

// IdentitySecrets lists the secrets a user hash may be made with at now: the
// current one, and the previous one during its grace period.
func (p *Project) IdentitySecrets(now time.Time) []string {
	if p.IdentitySecret == "" {
		return nil
	}
	if p.PreviousIdentitySecret != "" && now.Before(p.PreviousSecretUntil) {
		return []string{p.IdentitySecret, p.PreviousIdentitySecret}
	}
	return []string{p.IdentitySecret}
}
