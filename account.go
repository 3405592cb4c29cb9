package smartonboard

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Account limits.
const (
	MaxEmailLen       = 254
	MinPasswordLen    = 12
	MaxPasswordLen    = 1024
	MaxProjectNameLen = MaxTitleLen
)

// CheckEmail accepts one plain address (no display name), as typed at sign-in.
func CheckEmail(field, email string) error {
	if err := checkText(field, email, 1, MaxEmailLen); err != nil {
		return err
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email, "@") {
		return FieldErrorf(EINVALID, field, "is not an email address such as owner@example.com")
	}
	return nil
}

// CheckProjectName accepts a project's display name.
func CheckProjectName(name string) error { return checkText("name", name, 1, MaxProjectNameLen) }

// CheckPassword wants a password long enough that throttled guessing is hopeless.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return FieldErrorf(EINVALID, "password", "must be at least %d characters long", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return FieldErrorf(EINVALID, "password", "must be at most %d bytes long", MaxPasswordLen)
	case !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return FieldErrorf(EINVALID, "password", "must be valid UTF-8 without NUL characters")
	}
	return nil
}

// Account is a person who signs in to the dashboard; projects grant it a role.
type Account struct {
	ID           string
	Email        string // lower case
	PasswordHash string // argon2id, PHC string format
	CreatedAt    time.Time
}

// Member is an account's role in one project.
type Member struct {
	ProjectID string
	AccountID string
	Email     string // filled by reads, for display
	Role      Role
	CreatedAt time.Time
}

// Membership is a project an account belongs to, with its role there.
type Membership struct {
	Project *Project
	Role    Role
}

// Session is a signed-in dashboard session. Only the SHA-256 of its token is
// stored, so a copy of the database signs nobody in.
type Session struct {
	ID         string // hex SHA-256 of the cookie's token
	AccountID  string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	RevokedAt  *time.Time
}

// AccountStore keeps accounts, memberships and sessions.
type AccountStore interface {
	// CreateAccount stores an account; a taken email is a conflict.
	CreateAccount(ctx context.Context, a *Account) error
	// FindAccount returns an account by id or not_found.
	FindAccount(ctx context.Context, id string) (*Account, error)
	// FindAccountByEmail returns an account by its (lower-case) email or not_found.
	FindAccountByEmail(ctx context.Context, email string) (*Account, error)
	// CountAccounts tells whether any account exists, for first-start set-up.
	CountAccounts(ctx context.Context) (int, error)
	// CreateOwnedProject stores a project and its first owner in one transaction.
	CreateOwnedProject(ctx context.Context, p *Project, owner *Member) error
	// PutMember adds a member or changes its role.
	PutMember(ctx context.Context, m *Member) error
	// FindMember returns an account's membership of a project or not_found.
	FindMember(ctx context.Context, projectID, accountID string) (*Member, error)
	// ListMembers returns a project's members, oldest first, with their emails.
	ListMembers(ctx context.Context, projectID string) ([]*Member, error)
	// DeleteMember removes a membership, or returns not_found.
	DeleteMember(ctx context.Context, projectID, accountID string) error
	// ListMemberships returns the projects an account belongs to, oldest first.
	ListMemberships(ctx context.Context, accountID string) ([]*Membership, error)
	// CreateSession stores a session.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns a session by id (revoked or expired ones too) or not_found.
	FindSession(ctx context.Context, id string) (*Session, error)
	// TouchSession moves a session's last use forward.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSession ends a session; an unknown one is not_found.
	RevokeSession(ctx context.Context, id string, at time.Time) error
}
