package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	so "github.com/smartonboarding/smartonboard"
)

const userColumns = `project_id, user_id, traits, first_seen_at, last_seen_at`

// UpsertEndUser implements smartonboard.UserStore. merge runs inside the write
// transaction, so racing identify calls each see the traits of the one before.
func (db *DB) UpsertEndUser(ctx context.Context, u *so.EndUser, merge func(old json.RawMessage) (json.RawMessage, error)) (*so.EndUser, error) {
	var stored *so.EndUser
	err := db.inTx(ctx, func(tx *stmtTx) error {
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM end_users
			WHERE project_id = ? AND user_id = ?`, u.ProjectID, u.UserID))
		if errors.Is(err, sql.ErrNoRows) {
			stored = &so.EndUser{ProjectID: u.ProjectID, UserID: u.UserID, Traits: orEmptyObject(u.Traits),
				FirstSeenAt: u.FirstSeenAt, LastSeenAt: u.LastSeenAt}
			return insertUser(ctx, tx, stored)
		} else if err != nil {
			return err
		}
		if stored, err = mergeUser(old, u, merge); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE end_users SET traits = ?, first_seen_at = ?, last_seen_at = ?
			WHERE project_id = ? AND user_id = ?`, string(stored.Traits), stored.FirstSeenAt.UnixMilli(),
			stored.LastSeenAt.UnixMilli(), u.ProjectID, u.UserID)
		return mapError(err)
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// mergeUser combines a stored user with a new sighting: merged traits, the
// earliest first sighting and the latest last one.
func mergeUser(old, u *so.EndUser, merge func(json.RawMessage) (json.RawMessage, error)) (*so.EndUser, error) {
	traits, err := merge(old.Traits)
	if err != nil {
		return nil, err
	}
	next := *old
	next.Traits = orEmptyObject(traits)
	if u.FirstSeenAt.Before(next.FirstSeenAt) {
		next.FirstSeenAt = u.FirstSeenAt
	}
	if u.LastSeenAt.After(next.LastSeenAt) {
		next.LastSeenAt = u.LastSeenAt
	}
	return &next, nil
}

func insertUser(ctx context.Context, tx *stmtTx, u *so.EndUser) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO end_users (`+userColumns+`) VALUES (?, ?, ?, ?, ?)`,
		u.ProjectID, u.UserID, string(u.Traits), u.FirstSeenAt.UnixMilli(), u.LastSeenAt.UnixMilli())
	return mapError(err)
}

// FindEndUser implements smartonboard.UserStore.
func (db *DB) FindEndUser(ctx context.Context, projectID, userID string) (*so.EndUser, error) {
	u, err := scanUser(db.reader.QueryRowContext(ctx, `SELECT `+userColumns+` FROM end_users
		WHERE project_id = ? AND user_id = ?`, projectID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, so.UserNotFound(userID)
	}
	return u, err
}

// ListEndUsers implements smartonboard.UserStore.
func (db *DB) ListEndUsers(ctx context.Context, projectID string, f so.UserFilter) ([]*so.EndUser, error) {
	where, args := []string{"project_id = ?", "user_id > ?"}, []any{projectID, f.After}
	for _, t := range [][2]string{{"role", f.Role}, {"plan", f.Plan}, {"experience", f.Experience}} {
		if t[1] != "" {
			where, args = append(where, "json_extract(traits, '$."+t[0]+"') = ?"), append(args, t[1])
		}
	}
	if !f.SeenSince.IsZero() {
		where, args = append(where, "last_seen_at >= ?"), append(args, f.SeenSince.UnixMilli())
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+userColumns+` FROM end_users
		WHERE `+strings.Join(where, " AND ")+` ORDER BY user_id LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	users := []*so.EndUser{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, mapError(rows.Err())
}

// scanUser reads one user; a missing row stays sql.ErrNoRows, for the caller
// to report with the id it looked for.
func scanUser(row scanner) (*so.EndUser, error) {
	var u so.EndUser
	var traits string
	var first, last int64
	if err := row.Scan(&u.ProjectID, &u.UserID, &traits, &first, &last); errors.Is(err, sql.ErrNoRows) {
		return nil, err
	} else if err != nil {
		return nil, mapError(err)
	}
	u.Traits = json.RawMessage(traits)
	u.FirstSeenAt, u.LastSeenAt = fromMillis(first), fromMillis(last)
	return &u, nil
}

// orEmptyObject stores missing traits as {} so a user always has an object.
func orEmptyObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}
