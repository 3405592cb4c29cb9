package sqlite

import (
	"context"
	"database/sql"
)

// stmtTx is a write transaction that compiles each query text once: modernc
// runs SQLite's parser and code generator in Go, which costs more than running
// most of these statements, and *sql.Tx would compile every call afresh (a
// batch's upserts run one statement for each of its rows). Exec and
// QueryRow go through the cache; the statements are closed with the
// transaction.
type stmtTx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

// stmt returns the transaction's statement for query, compiling it on first use.
func (t *stmtTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	s, err := t.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = s
	return s, nil
}

// ExecContext runs query through its compiled statement.
func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// QueryRowContext runs query through its compiled statement; an error
// compiling it is the row's error. The row must be scanned before the same
// query runs again, as every caller does at once: the driver resets a
// statement on its next use. (QueryContext is not cached for that reason:
// rows of one query may still be open when it runs again.)
func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // reports the same error through the row
	}
	return s.QueryRowContext(ctx, args...)
}
