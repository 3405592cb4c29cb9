package sqlite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/sqlite"
)

// TestFilesArePrivate: the database holds the identity secret and key hashes, so
// the data directory it creates is 0700 and the database, -wal and -shm files
// are 0600, even when an older version left them 0644.
func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "smartonboard.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrator().Up(context.Background()); err != nil { // writes, so -wal and -shm exist
		t.Fatal(err)
	}
	if err := db.CreateProject(context.Background(), &so.Project{ID: "p", Name: "p", CreatedAt: so.Now()}); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		assertMode(t, p, 0o600)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	assertMode(t, path, 0o600)
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s is %v, want %v", filepath.Base(path), got, want)
	}
}
