package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

const endUserColumns = `project_id, user_id, traits, first_seen_at, last_seen_at`

// UpsertEndUser implements smartonboard.UserStore. A new user is inserted as given;
// an existing one stays locked from reading its traits to storing the merge, so
// concurrent identify calls never lose each other's traits.
func (db *DB) UpsertEndUser(ctx context.Context, u *so.EndUser, merge func(old json.RawMessage) (json.RawMessage, error)) (*so.EndUser, error) {
	var stored *so.EndUser
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		stored, err = scanEndUser(tx.QueryRow(ctx, `INSERT INTO end_users (`+endUserColumns+`)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, user_id) DO NOTHING
			RETURNING `+endUserColumns, u.ProjectID, u.UserID, objectText(u.Traits), u.FirstSeenAt, u.LastSeenAt))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err // created, or failed
		}
		stored, err = mergeEndUser(ctx, tx, u, merge)
		return err
	})
	if err != nil {
		return nil, unwrapCaller(err, "end user")
	}
	return stored, nil
}

// mergeEndUser updates an existing user under a row lock with merged traits.
func mergeEndUser(ctx context.Context, tx pgx.Tx, u *so.EndUser, merge func(json.RawMessage) (json.RawMessage, error)) (*so.EndUser, error) {
	old, err := scanEndUser(tx.QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users
		WHERE project_id = $1 AND user_id = $2 FOR UPDATE`, u.ProjectID, u.UserID))
	if err != nil {
		return nil, err
	}
	traits, err := merge(old.Traits)
	if err != nil {
		return nil, callerError{err}
	}
	return scanEndUser(tx.QueryRow(ctx, `UPDATE end_users SET traits = $3,
		first_seen_at = LEAST(first_seen_at, $4), last_seen_at = GREATEST(last_seen_at, $5)
		WHERE project_id = $1 AND user_id = $2 RETURNING `+endUserColumns,
		u.ProjectID, u.UserID, objectText(traits), u.FirstSeenAt, u.LastSeenAt))
}

// FindEndUser implements smartonboard.UserStore.
func (db *DB) FindEndUser(ctx context.Context, projectID, userID string) (*so.EndUser, error) {
	u, err := scanEndUser(db.pool.QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users
		WHERE project_id = $1 AND user_id = $2`, projectID, userID))
	if err != nil {
		return nil, notFound(err, so.UserNotFound(userID), "end user")
	}
	return u, nil
}

// ListEndUsers implements smartonboard.UserStore.
func (db *DB) ListEndUsers(ctx context.Context, projectID string, f so.UserFilter) ([]*so.EndUser, error) {
	where, args := []string{"project_id = $1", "user_id > $2"}, []any{projectID, f.After}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	for _, t := range [][2]string{{"role", f.Role}, {"plan", f.Plan}, {"experience", f.Experience}} {
		if t[1] != "" {
			add("traits::jsonb ->> '"+t[0]+"' = $?", t[1])
		}
	}
	if !f.SeenSince.IsZero() {
		add("last_seen_at >= $?", f.SeenSince)
	}
	args = append(args, f.Limit)
	rows, _ := db.pool.Query(ctx, `SELECT `+endUserColumns+` FROM end_users
		WHERE `+strings.Join(where, " AND ")+` ORDER BY user_id LIMIT $`+strconv.Itoa(len(args)), args...)
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.EndUser, error) { return scanEndUser(row) })
	if err != nil {
		return nil, mapError(err, "end users")
	}
	return users, nil
}

func scanEndUser(row pgx.Row) (*so.EndUser, error) {
	var u so.EndUser
	var traits string
	if err := row.Scan(&u.ProjectID, &u.UserID, &traits, &u.FirstSeenAt, &u.LastSeenAt); err != nil {
		return nil, err
	}
	u.Traits = json.RawMessage(traits)
	u.FirstSeenAt, u.LastSeenAt = u.FirstSeenAt.UTC(), u.LastSeenAt.UTC()
	return &u, nil
}

// TouchUsers implements smartonboard.IngestTx in one statement. Users are written
// in id order, so concurrent batches touching the same users cannot deadlock; a
// user whose times would not move is locked but not rewritten.
func (t *ingestTx) TouchUsers(ctx context.Context, projectID string, seen map[string]so.Sighting) error {
	if len(seen) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(seen))
	firsts, lasts := make([]time.Time, len(ids)), make([]time.Time, len(ids))
	for i, id := range ids {
		firsts[i], lasts[i] = seen[id].First, seen[id].Last
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO end_users (project_id, user_id, traits, first_seen_at, last_seen_at)
		SELECT $1, u.user_id, '{}', u.first, u.last
		FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS u (user_id, first, last)
		ORDER BY u.user_id COLLATE "C"
		ON CONFLICT (project_id, user_id) DO UPDATE
		SET first_seen_at = LEAST(end_users.first_seen_at, excluded.first_seen_at),
			last_seen_at = GREATEST(end_users.last_seen_at, excluded.last_seen_at)
		WHERE end_users.first_seen_at > excluded.first_seen_at OR end_users.last_seen_at < excluded.last_seen_at`,
		projectID, ids, firsts, lasts)
	return mapError(err, "end users")
}
