// Package pgtest gives tests and benchmarks a brand-new, empty PostgreSQL database
// on a real server, so the PostgreSQL engine is exercised exactly like SQLite is.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the admin connection URL; the
// user in it must be allowed to create and drop databases.
const EnvURL = "SMARTONBOARD_TEST_DATABASE_URL"

// DefaultURL is the admin connection used when EnvURL is unset: a local server
// with trust authentication, as on the development machine.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// startWait bounds how long we wait for a local cluster we just started.
const startWait = 15 * time.Second

var (
	checkOnce sync.Once
	checkErr  error // why the server is unusable; nil when it is fine
	bannerOne sync.Once
)

// URL returns the URL of a new empty database that exists for the duration of tb
// and is dropped, even with open connections, when it ends. It fails the test in
// CI and skips it elsewhere when no server can be reached.
func URL(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL()
	checkOnce.Do(func() {
		if checkErr = ensureServer(admin); checkErr != nil {
			checkErr = errors.New(strings.NewReplacer(":\n\t", ": ", "\n\t", "; ").Replace(checkErr.Error()))
		}
	})
	if checkErr != nil {
		unavailable(tb, checkErr)
	}
	name := "so_test_" + randomHex(8)
	if err := exec1(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := exec1(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

// AdminURL is the connection used to create and drop test databases.
func AdminURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// inCI reports whether we run in CI, where the PostgreSQL half must never be skipped.
func inCI() bool { return os.Getenv("CI") == "true" }

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("pgtest: PostgreSQL is required in CI (CI=true) but unusable: %v\nSet %s to a server URL whose user may CREATE DATABASE.", err, EnvURL)
	}
	bannerOne.Do(func() {
		fmt.Fprintf(os.Stderr, "\n%[1]s\n!!! PostgreSQL tests SKIPPED: %[2]v\n!!! Start a server (trust auth on 127.0.0.1:5432) or set %[3]s,\n!!! e.g. %[3]s='postgres://user:pass@host:5432/postgres?sslmode=disable'.\n%[1]s\n\n",
			strings.Repeat("!", 78), err, EnvURL)
	})
	tb.Skipf("PostgreSQL half SKIPPED: %v (start a local server or set %s)", err, EnvURL)
}

// ensureServer checks the server once per process, starting the local Debian
// cluster if it is down and we are not in CI.
func ensureServer(admin string) error {
	err := exec1(admin, "SELECT 1")
	if err == nil || inCI() || !isLocal(admin) {
		return err
	}
	if startErr := startLocalCluster(); startErr != nil {
		return fmt.Errorf("%v; starting the local cluster failed too: %v", err, startErr)
	}
	deadline := time.Now().Add(startWait)
	for time.Now().Before(deadline) {
		if err = exec1(admin, "SELECT 1"); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("started the local cluster but it still does not answer after %s: %v", startWait, err)
}

// isLocal tells whether admin points at the local default cluster, the only
// server we know how to start.
func isLocal(admin string) bool {
	u, err := url.Parse(admin)
	if err != nil || (u.Port() != "" && u.Port() != "5432") {
		return false
	}
	h := u.Hostname()
	return h == "127.0.0.1" || h == "localhost" || h == "::1"
}

// startLocalCluster runs `pg_ctlcluster <newest version> main start`.
func startLocalCluster() error {
	versions, _ := filepath.Glob("/etc/postgresql/*/main")
	if len(versions) == 0 {
		return fmt.Errorf("no cluster found under /etc/postgresql")
	}
	major := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(versions, func(i, j int) bool { return major(versions[i]) < major(versions[j]) })
	version := filepath.Base(filepath.Dir(versions[len(versions)-1]))
	fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL is down; running pg_ctlcluster %s main start\n", version)
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s main start: %v: %s", version, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// exec1 runs one statement on a short-lived admin connection.
func exec1(admin, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		return fmt.Errorf("invalid %s: %v", EnvURL, err)
	}
	cfg.ConnectTimeout = 3 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns the admin connection string pointed at another database.
func withDatabase(admin, name string) (string, error) {
	if !strings.HasPrefix(admin, "postgres://") && !strings.HasPrefix(admin, "postgresql://") {
		return admin + " dbname=" + name, nil // later keywords win
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("invalid %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
