package smartonboard

import (
	"slices"
	"strings"
	"time"
)

// Scope is what a secret key or a session may do in its project.
type Scope string

// Scopes: read covers admin GETs; write covers content, flows and users; admin
// covers keys, members, settings and erasure.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// AllScopes lists every scope, weakest first.
var AllScopes = []Scope{ScopeRead, ScopeWrite, ScopeAdmin}

// Role is an account's standing in a project.
type Role string

// Roles of project members, weakest first.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleOwner  Role = "owner"
)

// Roles lists every role, weakest first.
var Roles = []Role{RoleViewer, RoleEditor, RoleOwner}

// Scopes returns what a member with the role may do.
func (r Role) Scopes() []Scope {
	switch r {
	case RoleOwner:
		return []Scope{ScopeRead, ScopeWrite, ScopeAdmin}
	case RoleEditor:
		return []Scope{ScopeRead, ScopeWrite}
	case RoleViewer:
		return []Scope{ScopeRead}
	}
	return nil
}

// CheckRole accepts one of Roles.
func CheckRole(field string, r Role) error { return checkEnum(field, r, Roles) }

// CheckScopes accepts a non-empty set of known scopes, without repeats.
func CheckScopes(field string, scopes []Scope) error {
	if len(scopes) == 0 {
		return FieldErrorf(EINVALID, field, "is required for a secret key: one or more of read, write, admin")
	}
	for i, s := range scopes {
		if err := checkEnum(field, s, AllScopes); err != nil {
			return err
		}
		if slices.Contains(scopes[:i], s) {
			return FieldErrorf(EINVALID, field, "lists %q twice", s)
		}
	}
	return nil
}

// PrincipalKind tells how a request authenticated.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalPublicKey PrincipalKind = "public_key"
	PrincipalSecretKey PrincipalKind = "secret_key"
	PrincipalSession   PrincipalKind = "session"
)

// Principal is who is calling and in which project: a key, or a signed-in
// account acting in the project its request names.
type Principal struct {
	Kind      PrincipalKind
	ProjectID string // empty for a session that named no project
	Key       *APIKey
	Account   *Account
	Session   *Session
	Role      Role // a session's role in ProjectID
	Scopes    []Scope
}

// Can tells whether the principal holds scope.
func (p *Principal) Can(scope Scope) bool { return slices.Contains(p.Scopes, scope) }

// Actor names the principal in the audit log: "key:<id>" or "account:<id>".
func (p *Principal) Actor() string {
	if p.Account != nil {
		return "account:" + p.Account.ID
	}
	if p.Key != nil {
		return "key:" + p.Key.ID
	}
	return ""
}

// KeyPrincipal is the principal of an authenticated key.
func KeyPrincipal(k *APIKey) *Principal {
	if k.Kind == KeyPublic {
		return &Principal{Kind: PrincipalPublicKey, ProjectID: k.ProjectID, Key: k}
	}
	return &Principal{Kind: PrincipalSecretKey, ProjectID: k.ProjectID, Key: k, Scopes: k.Scopes}
}

// Key sources: where a key came from, so a changed bootstrap variable can revoke
// the key it replaced.
const (
	KeySourceAPI       = "api"
	KeySourceGenerated = "generated"
	KeySourceAdminEnv  = "SMARTONBOARD_ADMIN_KEY"
	KeySourcePublicEnv = "SMARTONBOARD_PUBLIC_KEY"
)

// MaxKeyNameLen bounds a key's label.
const MaxKeyNameLen = 100

// KeyInput is the body of POST /v1/api-keys.
type KeyInput struct {
	Kind      KeyKind    `json:"kind"`
	Name      string     `json:"name"`
	Scopes    []Scope    `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// Validate checks a key request; public keys carry no scopes (they only track).
func (in *KeyInput) Validate(now time.Time) error {
	if err := checkEnum("kind", in.Kind, []KeyKind{KeySecret, KeyPublic}); err != nil {
		return err
	}
	if err := checkText("name", in.Name, 1, MaxKeyNameLen); err != nil {
		return err
	}
	switch {
	case in.Kind == KeyPublic && len(in.Scopes) > 0:
		return FieldErrorf(EINVALID, "scopes", "public keys have no scopes; they may only track users")
	case in.Kind == KeySecret:
		if err := CheckScopes("scopes", in.Scopes); err != nil {
			return err
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return FieldErrorf(EINVALID, "expires_at", "must be in the future")
	}
	return nil
}

// Usable tells whether a stored key may authenticate at now: not revoked, not
// expired.
func (k *APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// NormalizeEmail makes addresses compare case-insensitively, as people type them.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
