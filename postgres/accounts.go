package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	so "github.com/smartonboarding/smartonboard"
)

const accountColumns = `id, email, password_hash, created_at`

// CreateAccount implements smartonboard.AccountStore.
func (db *DB) CreateAccount(ctx context.Context, a *so.Account) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES ($1, $2, $3, $4)`,
		a.ID, a.Email, a.PasswordHash, a.CreatedAt)
	return mapError(err, "account")
}

// FindAccount implements smartonboard.AccountStore.
func (db *DB) FindAccount(ctx context.Context, id string) (*so.Account, error) {
	return scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
}

// FindAccountByEmail implements smartonboard.AccountStore.
func (db *DB) FindAccountByEmail(ctx context.Context, email string) (*so.Account, error) {
	return scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = $1`, email))
}

func scanAccount(row pgx.Row) (*so.Account, error) {
	var a so.Account
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &a.CreatedAt); err != nil {
		return nil, mapError(err, "account")
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// CountAccounts implements smartonboard.AccountStore.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, mapError(err, "accounts")
	}
	return n, nil
}

// CreateOwnedProject implements smartonboard.AccountStore: the owner's
// membership is of p, whatever owner.ProjectID says.
func (db *DB) CreateOwnedProject(ctx context.Context, p *so.Project, owner *so.Member) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertProject(ctx, tx, p); err != nil {
			return mapError(err, "project")
		}
		_, err := tx.Exec(ctx, `INSERT INTO project_members (project_id, account_id, role, created_at)
			VALUES ($1, $2, $3, $4)`, p.ID, owner.AccountID, string(owner.Role), owner.CreatedAt)
		return mapError(err, "member")
	})
	return mapError(err, "project")
}

// PutMember implements smartonboard.AccountStore; a new role keeps the
// membership's creation time.
func (db *DB) PutMember(ctx context.Context, m *so.Member) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO project_members (project_id, account_id, role, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, account_id) DO UPDATE SET role = excluded.role`,
		m.ProjectID, m.AccountID, string(m.Role), m.CreatedAt)
	return mapError(err, "member")
}

const memberSelect = `SELECT m.project_id, m.account_id, a.email, m.role, m.created_at
	FROM project_members m JOIN accounts a ON a.id = m.account_id`

// FindMember implements smartonboard.AccountStore.
func (db *DB) FindMember(ctx context.Context, projectID, accountID string) (*so.Member, error) {
	m, err := scanMember(db.pool.QueryRow(ctx, memberSelect+` WHERE m.project_id = $1 AND m.account_id = $2`,
		projectID, accountID))
	if err != nil {
		return nil, mapError(err, "member")
	}
	return m, nil
}

// ListMembers implements smartonboard.AccountStore.
func (db *DB) ListMembers(ctx context.Context, projectID string) ([]*so.Member, error) {
	rows, _ := db.pool.Query(ctx, memberSelect+` WHERE m.project_id = $1 ORDER BY m.created_at, m.account_id`, projectID)
	members, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Member, error) { return scanMember(row) })
	if err != nil {
		return nil, mapError(err, "members")
	}
	return members, nil
}

// scanMember reads memberSelect; its errors are the driver's.
func scanMember(row pgx.Row) (*so.Member, error) {
	var m so.Member
	if err := row.Scan(&m.ProjectID, &m.AccountID, &m.Email, &m.Role, &m.CreatedAt); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return &m, nil
}

// DeleteMember implements smartonboard.AccountStore.
func (db *DB) DeleteMember(ctx context.Context, projectID, accountID string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM project_members WHERE project_id = $1 AND account_id = $2`,
		projectID, accountID)
	return affectedOne(tag, err, "member")
}

// affectedOne turns a write that matched no row into not_found.
func affectedOne(tag pgconn.CommandTag, err error, thing string) error {
	if err != nil {
		return mapError(err, thing)
	}
	if tag.RowsAffected() == 0 {
		return so.Errorf(so.ENOTFOUND, "%s not found", thing)
	}
	return nil
}

// ListMemberships implements smartonboard.AccountStore.
func (db *DB) ListMemberships(ctx context.Context, accountID string) ([]*so.Membership, error) {
	rows, _ := db.pool.Query(ctx, `SELECT p.id, p.name, p.created_at, p.identity_secret,
		p.previous_identity_secret, p.previous_secret_until, p.settings, p.revision, m.role
		FROM project_members m JOIN projects p ON p.id = m.project_id
		WHERE m.account_id = $1 ORDER BY p.created_at, p.id COLLATE "C"`, accountID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Membership, error) {
		var ms so.Membership
		var err error
		ms.Project, err = scanProject(row, &ms.Role)
		return &ms, err
	})
	if err != nil {
		return nil, mapError(err, "memberships")
	}
	return out, nil
}

const sessionColumns = `id, account_id, csrf_token, created_at, last_seen_at, expires_at, revoked_at`

// CreateSession implements smartonboard.AccountStore.
func (db *DB) CreateSession(ctx context.Context, s *so.Session) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ID, s.AccountID, s.CSRFToken, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RevokedAt)
	return mapError(err, "session")
}

// FindSession implements smartonboard.AccountStore.
func (db *DB) FindSession(ctx context.Context, id string) (*so.Session, error) {
	var s so.Session
	err := db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id).
		Scan(&s.ID, &s.AccountID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.RevokedAt)
	if err != nil {
		return nil, mapError(err, "session")
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	s.RevokedAt = utcOptional(s.RevokedAt)
	return &s, nil
}

// TouchSession implements smartonboard.AccountStore; an unknown session is not_found.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = greatest(last_seen_at, $1) WHERE id = $2`, at, id)
	return affectedOne(tag, err, "session")
}

// RevokeSession implements smartonboard.AccountStore; a revoked session keeps
// its first revocation time.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, at, id)
	return affectedOne(tag, err, "session")
}
