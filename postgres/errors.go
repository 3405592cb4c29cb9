package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	so "github.com/smartonboarding/smartonboard"
)

// PostgreSQL error codes this package turns into domain errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// mapError turns a driver error about a thing (e.g. "content item") into a domain
// error whose message never shows SQL; errors it does not know stay internal.
func mapError(err error, thing string) error {
	var appErr *so.Error
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &appErr):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return so.Errorf(so.ENOTFOUND, "%s not found", thing)
	case errors.As(err, &pgErr) && pgErr.Code == uniqueViolation:
		return so.Errorf(so.ECONFLICT, "%s already exists", thing)
	case errors.As(err, &pgErr) && pgErr.Code == foreignKeyViolation:
		return so.Errorf(so.ENOTFOUND, "the project does not exist")
	}
	return fmt.Errorf("postgres: %s: %w", thing, err)
}
