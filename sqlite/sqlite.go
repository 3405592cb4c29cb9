// Package sqlite is the embedded storage engine: a single SQLite file in the data
// directory, pure Go (modernc.org/sqlite), so a new install needs no other software.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is an open SQLite database: one writer connection, because SQLite allows one
// writer at a time and queuing in Go beats retrying on SQLITE_BUSY, and a pool of
// readers that WAL lets run beside it.
type DB struct {
	path         string
	writer       *sql.DB
	reader       *sql.DB
	checkpointer *checkpointer
	migrator     *migrate.Migrator
	queue        *river.Client[*sql.Tx] // nil until StartQueue
	cursors      so.CursorMemo
}

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	// The writer keeps 64 MiB of pages cached (index inserts land all over the
	// file) and leaves checkpoints to the checkpointer up to the fallback size.
	writer, err := openPool(path, 1, "_txlock=immediate&_pragma=cache_size(-65536)"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", fallbackCheckpointPages))
	if err != nil {
		return nil, err
	}
	reader, err := openPool(path, max(4, runtime.NumCPU()), "_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, err
	}
	ckpt, err := openPool(path, 1, "mode=rw") // never creates a file that has gone
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, err
	}
	db := &DB{path: path, writer: writer, reader: reader, checkpointer: startCheckpointer(ckpt, checkpointInterval)}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrationFiles, "migrations")
	river := migrate.River(9, riversqlite.New(writer), true)
	if db.migrator, err = migrate.New(migrate.SQLite, writer, sub, river); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// createPrivate creates the database file readable by its owner only before
// SQLite opens it (SQLite would create it 0644), since it holds the identity
// secret and the key hashes; SQLite gives the -wal and -shm files the mode of
// the database file. Files left looser by an older version are tightened.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create SQLite database %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue // absent, or private already
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("make %s private: %w", p, err)
		}
	}
	return nil
}

// openPool opens a pool whose every connection gets the pragmas: busy_timeout
// first (the driver orders it so), then WAL, foreign keys and full fsync so that a
// committed write survives power loss.
func openPool(path string, conns int, extra string) (*sql.DB, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" +
		"_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(FULL)&" + extra
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxIdleTime(0)
	return pool, nil
}

// Close stops the checkpointer and closes the pools.
func (db *DB) Close() error {
	return errors.Join(db.checkpointer.close(), db.reader.Close(), db.writer.Close())
}

// Ping checks that the file can be read and written.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writer.PingContext(ctx); err != nil {
		return err
	}
	return db.reader.PingContext(ctx)
}

// Engine names the engine in status output.
func (db *DB) Engine() string { return "sqlite" }

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Migrator runs this engine's embedded migrations.
func (db *DB) Migrator() *migrate.Migrator { return db.migrator }

// Stats reports the writer and reader pools for metrics.
func (db *DB) Stats() (writer, reader sql.DBStats) {
	return db.writer.Stats(), db.reader.Stats()
}

// inTx runs fn in one write transaction, committed only if fn succeeds.
func (db *DB) inTx(ctx context.Context, fn func(*stmtTx) error) error {
	return runTx(ctx, db.writer.BeginTx, fn)
}

// inTxRelaxed runs fn as inTx does, but its commit does not wait for the
// disk (synchronous NORMAL): for a derived consumer, whose output and cursor
// a crash loses together. The writer connection is held throughout, so no
// other transaction commits while the setting is relaxed, and FULL is back
// before the connection serves anything else; were restoring it to fail,
// the connection is dropped instead. The next FULL commit syncs the shared
// WAL, this commit included.
func (db *DB) inTxRelaxed(ctx context.Context, fn func(*stmtTx) error) (err error) {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return mapError(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return mapError(err)
	}
	defer func() {
		if _, restore := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); restore != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // closes it
			err = errors.Join(err, mapError(restore))
		}
	}()
	return runTx(ctx, conn.BeginTx, fn)
}

// runTx begins a transaction, runs fn in it and commits only if fn succeeds.
func runTx(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), fn func(*stmtTx) error) (err error) {
	sqlTx, err := begin(ctx, nil)
	if err != nil {
		return mapError(err)
	}
	tx := &stmtTx{Tx: sqlTx}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return mapError(tx.Commit())
}

// mapError turns driver errors into domain errors at the storage boundary. A
// call that can tell what is missing or taken reports that itself (notFound,
// isUniqueViolation); these are the fallbacks for the calls that cannot.
func mapError(err error) error {
	var se *sqlite.Error
	var appErr *so.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &appErr):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return so.Errorf(so.ENOTFOUND, "not found")
	case errors.As(err, &se):
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return so.Errorf(so.ECONFLICT, "already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: // the one reference every table has
			return so.ProjectNotFound("")
		}
	}
	return fmt.Errorf("sqlite: %w", err)
}

// isForeignKeyViolation tells whether err is a foreign key refusing a write.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// isUniqueViolation tells whether err is a unique key refusing a write.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// notFound is mapError, but a missing row is reported as missing.
func notFound(err error, missing *so.Error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return missing
	}
	return mapError(err)
}
