package postgres

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	so "github.com/smartonboarding/smartonboard"
)

// PostgreSQL error codes this package turns into domain errors.
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
)

// mapError turns a driver error about a thing (e.g. "content item") into a domain
// error whose message never shows SQL; errors it does not know stay internal. A
// call that can tell what is missing or taken reports that itself (notFound,
// isUniqueViolation); these are the fallbacks for the calls that cannot.
func mapError(err error, thing string) error {
	var appErr *so.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &appErr):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return so.NotFound(thing, "")
	case isUniqueViolation(err):
		return so.Exists(thing, "", "")
	case violatedReference(err) != "":
		return so.NotFound(violatedReference(err), "")
	}
	return fmt.Errorf("postgres: %s: %w", thing, err)
}

// notFound is mapError, but a missing row is reported as missing.
func notFound(err error, missing *so.Error, thing string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return missing
	}
	return mapError(err, thing)
}

// isUniqueViolation tells whether err is a unique key refusing a write.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation
}

// violatedReference names what a violated foreign key points at, from the
// constraint's default name (<table>_<column>_fkey); "" when err is not a foreign
// key violation.
func violatedReference(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != foreignKeyViolation {
		return ""
	}
	switch {
	case strings.HasSuffix(pgErr.ConstraintName, "_flow_id_fkey"):
		return "flow"
	case strings.HasSuffix(pgErr.ConstraintName, "_content_item_id_fkey"):
		return "content item"
	case strings.HasSuffix(pgErr.ConstraintName, "_account_id_fkey"):
		return "account"
	}
	return "project"
}

// retryable tells whether a transaction failed only because it raced another one,
// so running it again can succeed.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == deadlockDetected || pgErr.Code == serializationFailure)
}

// callerError carries an error returned by a caller's callback through a
// transaction, so that it reaches the caller unchanged rather than mapped.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// unwrapCaller returns a callback's own error as it was, and any other error mapped.
func unwrapCaller(err error, thing string) error {
	var ce callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return mapError(err, thing)
}
