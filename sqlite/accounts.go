package sqlite

import (
	"context"
	"database/sql"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

const accountColumns = `id, email, password_hash, created_at`

// CreateAccount implements smartonboard.AccountStore.
func (db *DB) CreateAccount(ctx context.Context, a *so.Account) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?)`,
		a.ID, a.Email, a.PasswordHash, a.CreatedAt.UnixMilli())
	return mapError(err)
}

// FindAccount implements smartonboard.AccountStore.
func (db *DB) FindAccount(ctx context.Context, id string) (*so.Account, error) {
	return scanAccount(db.reader.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
}

// FindAccountByEmail implements smartonboard.AccountStore.
func (db *DB) FindAccountByEmail(ctx context.Context, email string) (*so.Account, error) {
	return scanAccount(db.reader.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = ?`, email))
}

func scanAccount(row scanner) (*so.Account, error) {
	var a so.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &created); err != nil {
		return nil, notFound(err, so.NotFound("account", ""))
	}
	a.CreatedAt = fromMillis(created)
	return &a, nil
}

// CountAccounts implements smartonboard.AccountStore.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	return n, mapError(err)
}

// CreateOwnedProject implements smartonboard.AccountStore: the owner's
// membership is of p, whatever owner.ProjectID says.
func (db *DB) CreateOwnedProject(ctx context.Context, p *so.Project, owner *so.Member) error {
	return db.inTx(ctx, func(tx *stmtTx) error {
		if err := insertProject(ctx, tx, p); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, account_id, role, created_at)
			VALUES (?, ?, ?, ?)`, p.ID, owner.AccountID, string(owner.Role), owner.CreatedAt.UnixMilli())
		if isForeignKeyViolation(err) {
			return noAccount()
		}
		return mapError(err)
	})
}

// noAccount is a foreign key refusing a row for an account that does not exist.
func noAccount() error { return so.Errorf(so.ENOTFOUND, "the account does not exist") }

// PutMember implements smartonboard.AccountStore; a new role keeps the
// membership's creation time.
func (db *DB) PutMember(ctx context.Context, m *so.Member) error {
	return db.inTx(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO project_members (project_id, account_id, role, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (project_id, account_id) DO UPDATE SET role = excluded.role`,
			m.ProjectID, m.AccountID, string(m.Role), m.CreatedAt.UnixMilli())
		if isForeignKeyViolation(err) {
			return missingReference(ctx, tx, err, m.ProjectID)
		}
		return mapError(err)
	})
}

// missingReference tells which row a refused membership lacked: the project
// when there is none (as PostgreSQL, which checks it first), else the account.
func missingReference(ctx context.Context, tx *stmtTx, err error, projectID string) error {
	var n int
	if qerr := tx.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE id = ?`, projectID).Scan(&n); qerr != nil {
		return mapError(qerr)
	}
	if n == 0 {
		return mapError(err)
	}
	return noAccount()
}

const memberSelect = `SELECT m.project_id, m.account_id, a.email, m.role, m.created_at
	FROM project_members m JOIN accounts a ON a.id = m.account_id`

// FindMember implements smartonboard.AccountStore.
func (db *DB) FindMember(ctx context.Context, projectID, accountID string) (*so.Member, error) {
	m, err := scanMember(db.reader.QueryRowContext(ctx, memberSelect+` WHERE m.project_id = ? AND m.account_id = ?`,
		projectID, accountID))
	if err != nil {
		return nil, notFound(err, so.NotFound("member", ""))
	}
	return m, nil
}

// ListMembers implements smartonboard.AccountStore.
func (db *DB) ListMembers(ctx context.Context, projectID string) ([]*so.Member, error) {
	rows, err := db.reader.QueryContext(ctx, memberSelect+` WHERE m.project_id = ? ORDER BY m.created_at, m.account_id`,
		projectID)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	members := []*so.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, mapError(err)
		}
		members = append(members, m)
	}
	return members, mapError(rows.Err())
}

// scanMember reads memberSelect; its errors are the driver's, unmapped.
func scanMember(row scanner) (*so.Member, error) {
	var m so.Member
	var created int64
	if err := row.Scan(&m.ProjectID, &m.AccountID, &m.Email, &m.Role, &created); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMillis(created)
	return &m, nil
}

// DeleteMember implements smartonboard.AccountStore.
func (db *DB) DeleteMember(ctx context.Context, projectID, accountID string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM project_members WHERE project_id = ? AND account_id = ?`,
		projectID, accountID)
	return affectedOne(res, err, "member not found")
}

// affectedOne turns a write that matched no row into not_found.
func affectedOne(res sql.Result, err error, message string) error {
	if err != nil {
		return mapError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapError(err)
	} else if n == 0 {
		return so.Errorf(so.ENOTFOUND, "%s", message)
	}
	return nil
}

// ListMemberships implements smartonboard.AccountStore.
func (db *DB) ListMemberships(ctx context.Context, accountID string) ([]*so.Membership, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT p.id, p.name, p.created_at, p.identity_secret,
		p.previous_identity_secret, p.previous_secret_until, p.settings, p.revision, m.role
		FROM project_members m JOIN projects p ON p.id = m.project_id
		WHERE m.account_id = ? ORDER BY p.created_at, p.id`, accountID)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	out := []*so.Membership{}
	for rows.Next() {
		var ms so.Membership
		if ms.Project, err = scanProject(rows, &ms.Role); err != nil {
			return nil, mapError(err)
		}
		out = append(out, &ms)
	}
	return out, mapError(rows.Err())
}

const sessionColumns = `id, account_id, csrf_token, created_at, last_seen_at, expires_at, revoked_at`

// CreateSession implements smartonboard.AccountStore.
func (db *DB) CreateSession(ctx context.Context, s *so.Session) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.AccountID, s.CSRFToken, s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(), s.ExpiresAt.UnixMilli(),
		optionalMillis(s.RevokedAt))
	if isForeignKeyViolation(err) {
		return noAccount()
	}
	return mapError(err)
}

// FindSession implements smartonboard.AccountStore.
func (db *DB) FindSession(ctx context.Context, id string) (*so.Session, error) {
	var s so.Session
	var created, seen, expires int64
	var revoked sql.NullInt64
	err := db.reader.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id).
		Scan(&s.ID, &s.AccountID, &s.CSRFToken, &created, &seen, &expires, &revoked)
	if err != nil {
		return nil, notFound(err, so.NotFound("session", ""))
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
	s.RevokedAt = nullMillis(revoked)
	return &s, nil
}

// TouchSession implements smartonboard.AccountStore; an unknown session is not_found.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?`,
		at.UnixMilli(), id)
	return affectedOne(res, err, "session not found")
}

// RevokeSession implements smartonboard.AccountStore; a revoked session keeps
// its first revocation time.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`,
		at.UnixMilli(), id)
	return affectedOne(res, err, "session not found")
}
