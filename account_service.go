package smartonboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// sessionTouchEvery bounds how often a session's last use is written: once a
// minute at most, not on every dashboard request.
const sessionTouchEvery = time.Minute

// AccountService holds the rules for accounts, sign-in, projects and members.
type AccountService struct {
	Store       AccountStore
	Projects    ProjectStore
	IdleTimeout time.Duration // a session unused this long has expired
	MaxAge      time.Duration // a session this old has expired, however used
	Clock       func() time.Time
}

func (s *AccountService) now() time.Time {
	if s.Clock != nil {
		return Truncate(s.Clock())
	}
	return Now()
}

// CreateAccount checks and stores a new account; a taken email is a conflict.
func (s *AccountService) CreateAccount(ctx context.Context, email, password string) (*Account, error) {
	email = NormalizeEmail(email)
	if err := CheckEmail("email", email); err != nil {
		return nil, err
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	a := &Account{ID: NewID(), Email: email, PasswordHash: HashPassword(password), CreatedAt: s.now()}
	if err := s.Store.CreateAccount(ctx, a); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, FieldErrorf(ECONFLICT, "email", "an account with this email already exists")
		}
		return nil, err
	}
	return a, nil
}

// EnsureOwner creates the first account and makes it owner of the default
// project, once: when any account exists it does nothing and reports false.
func (s *AccountService) EnsureOwner(ctx context.Context, email, password string) (bool, error) {
	n, err := s.Store.CountAccounts(ctx)
	if err != nil || n > 0 {
		return false, err
	}
	a, err := s.CreateAccount(ctx, email, password)
	if ErrorCode(err) == ECONFLICT {
		return false, nil // another instance won the race
	} else if err != nil {
		return false, err
	}
	return true, s.Store.PutMember(ctx, &Member{ProjectID: DefaultProjectID, AccountID: a.ID, Role: RoleOwner, CreatedAt: s.now()})
}

// errBadLogin is the one answer to a wrong email or password, so the response
// does not tell which accounts exist.
var errBadLogin = Errorf(EUNAUTHORIZED, "email or password is wrong")

// Login checks a password and opens a session; it returns the cookie's token,
// which is stored only as a hash.
func (s *AccountService) Login(ctx context.Context, email, password string) (*Account, *Session, string, error) {
	email = NormalizeEmail(email)
	if CheckEmail("email", email) != nil {
		_, _ = CheckPasswordHash(ctx, dummyHash(), password) // take as long as a real check
		return nil, nil, "", errBadLogin
	}
	a, err := s.Store.FindAccountByEmail(ctx, email)
	if ErrorCode(err) == ENOTFOUND || len(password) > MaxPasswordLen {
		_, _ = CheckPasswordHash(ctx, dummyHash(), password) // take as long as a real check
		return nil, nil, "", errBadLogin
	} else if err != nil {
		return nil, nil, "", err
	}
	if ok, err := CheckPasswordHash(ctx, a.PasswordHash, password); err != nil {
		return nil, nil, "", err
	} else if !ok {
		return nil, nil, "", errBadLogin
	}
	token, now := randomToken(), s.now()
	sess := &Session{ID: SessionID(token), AccountID: a.ID, CSRFToken: randomToken(), CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(s.MaxAge)}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return nil, nil, "", err
	}
	return a, sess, token, nil
}

// SessionID is the stored id of a session token: its hex SHA-256.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// errNoSession is the answer to any session that cannot be used.
var errNoSession = Errorf(EUNAUTHORIZED, "not signed in, or the session expired: sign in again")

// Authenticate returns the live session a cookie token names, refusing revoked,
// idle and expired ones, and records its use at most once a minute.
func (s *AccountService) Authenticate(ctx context.Context, token string) (*Account, *Session, error) {
	if len(token) != 43 { // base64url of 32 bytes: anything else was never issued
		return nil, nil, errNoSession
	}
	sess, err := s.Store.FindSession(ctx, SessionID(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.IdleTimeout {
		return nil, nil, errNoSession
	}
	a, err := s.Store.FindAccount(ctx, sess.AccountID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		if err := s.Store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, nil, err
		}
		sess.LastSeenAt = now
	}
	return a, sess, nil
}

// Logout revokes a session, so its cookie stops working everywhere at once.
func (s *AccountService) Logout(ctx context.Context, sess *Session) error {
	return s.Store.RevokeSession(ctx, sess.ID, s.now())
}

// SessionPrincipal resolves what a session may do in the project it names;
// an account that is not a member gets forbidden, never a hint of the project.
func (s *AccountService) SessionPrincipal(ctx context.Context, a *Account, sess *Session, projectID string) (*Principal, error) {
	p := &Principal{Kind: PrincipalSession, Account: a, Session: sess}
	if projectID == "" {
		return p, nil
	}
	m, err := s.Store.FindMember(ctx, projectID, a.ID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(EFORBIDDEN, "you are not a member of this project")
	} else if err != nil {
		return nil, err
	}
	p.ProjectID, p.Role, p.Scopes = projectID, m.Role, m.Role.Scopes()
	return p, nil
}

// CreateProject makes a new project owned by the account.
func (s *AccountService) CreateProject(ctx context.Context, a *Account, name string) (*Project, error) {
	if err := CheckProjectName(name); err != nil {
		return nil, err
	}
	now := s.now()
	p := &Project{ID: NewID(), Name: name, CreatedAt: now}
	if err := s.Store.CreateOwnedProject(ctx, p, &Member{ProjectID: p.ID, AccountID: a.ID, Role: RoleOwner, CreatedAt: now}); err != nil {
		return nil, err
	}
	return p, nil
}

// MemberInput is the body of POST /v1/members: an existing account by email,
// or a new one when a password is given (only in the default project).
type MemberInput struct {
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	Password string `json:"password"`
}

// PutMember adds an account to a project or changes its role; the last owner
// cannot be demoted. A new account (an unknown email with a password) may be
// made only in the default project, the operator's: accounts are shared by
// every project of the instance, and an admin of any other project could
// otherwise claim a colleague's email, with a password of their choosing,
// before that colleague's own team adds it.
func (s *AccountService) PutMember(ctx context.Context, projectID string, in MemberInput) (*Member, error) {
	if err := CheckRole("role", in.Role); err != nil {
		return nil, err
	}
	if err := CheckEmail("email", NormalizeEmail(in.Email)); err != nil {
		return nil, err
	}
	a, err := s.Store.FindAccountByEmail(ctx, NormalizeEmail(in.Email))
	switch {
	case ErrorCode(err) == ENOTFOUND && in.Password == "":
		return nil, FieldErrorf(ENOTFOUND, "email", "no account has this email; send a password to create one")
	case ErrorCode(err) == ENOTFOUND && projectID != DefaultProjectID:
		return nil, FieldErrorf(EFORBIDDEN, "password", "new accounts are made by the instance's operator (an admin of the default project, or smartonboard admin create); add an existing account without a password")
	case ErrorCode(err) == ENOTFOUND:
		if a, err = s.CreateAccount(ctx, in.Email, in.Password); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case in.Password != "":
		return nil, FieldErrorf(EINVALID, "password", "the account exists; its password is its own to change")
	}
	if in.Role != RoleOwner {
		if err := s.keepAnOwner(ctx, projectID, a.ID); err != nil {
			return nil, err
		}
	}
	m := &Member{ProjectID: projectID, AccountID: a.ID, Email: a.Email, Role: in.Role, CreatedAt: s.now()}
	if err := s.Store.PutMember(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// RemoveMember takes an account out of a project, unless it is the last owner.
func (s *AccountService) RemoveMember(ctx context.Context, projectID, accountID string) error {
	if err := s.keepAnOwner(ctx, projectID, accountID); err != nil {
		return err
	}
	if err := s.Store.DeleteMember(ctx, projectID, accountID); ErrorCode(err) == ENOTFOUND {
		return Errorf(ENOTFOUND, "no such member")
	} else if err != nil {
		return err
	}
	return nil
}

// keepAnOwner refuses a change that would leave the project without an owner
// who can manage it.
func (s *AccountService) keepAnOwner(ctx context.Context, projectID, accountID string) error {
	members, err := s.Store.ListMembers(ctx, projectID)
	if err != nil {
		return err
	}
	owners, isOwner := 0, false
	for _, m := range members {
		if m.Role == RoleOwner {
			owners++
			isOwner = isOwner || m.AccountID == accountID
		}
	}
	if isOwner && owners == 1 {
		return Errorf(ECONFLICT, "this is the project's last owner; make another member owner first")
	}
	return nil
}
