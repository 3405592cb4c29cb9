// Command smartonboard is the Smart Onboarding server and its operator tools: one
// binary that serves, migrates, checks a deployment before it goes live and after
// it is deployed, and tells what it is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `smartonboard — personalized in-app onboarding

Usage:
  smartonboard serve [--addr :8080] [--data-dir ./data] [--migrate]   run the API server
  smartonboard migrate up|down|status                                 manage the database schema
  smartonboard preflight [--json]                                     check a deployment before it goes live
  smartonboard verify --url URL [--key sk_…] [--write] [--json]       check a deployed instance over HTTP
  smartonboard admin create --email E --password-file F               create a dashboard account (owner of the default project)
  smartonboard analytics rebuild [--from 2026-11-01T00:00:00Z]        recompute the report rollups from stored events
  smartonboard seed --events N [--days 7] [--seed 1] [--force]        write invented onboarding history (demos, benchmarks)
  smartonboard simulate [--users N] [--seed 1] [--out F | --url URL --key K]  simulate users going through a flow (JSONL or live)
  smartonboard import [--url URL] [--key sk_…] FILE                    load a JSON-lines history through POST /v1/import (resumable)
  smartonboard train [--project ID]                                   train the success model on the configured database
  smartonboard eval [--users N] [--seed 1] [--url URL --key K]        simulate, train and measure the model against the oracle
  smartonboard version                                                print version, commit and build time
  smartonboard help                                                   this text

Configuration comes from environment variables (see README.md); secrets may be
given as files through the _FILE variants (DATABASE_URL_FILE, SMARTONBOARD_ADMIN_KEY_FILE).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a process exit code chosen below main.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], environ, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], environ, stdout, stderr)
	case "preflight":
		err = runPreflight(ctx, args[1:], environ, stdout, stderr)
	case "verify":
		err = runVerify(ctx, args[1:], environ, stdout, stderr)
	case "admin":
		err = runAdmin(ctx, args[1:], environ, stdout, stderr)
	case "analytics":
		err = runAnalytics(ctx, args[1:], environ, stdout, stderr)
	case "seed":
		err = runSeed(ctx, args[1:], environ, stdout, stderr)
	case "simulate":
		err = runSimulate(ctx, args[1:], environ, stdout, stderr)
	case "train":
		err = runTrain(ctx, args[1:], environ, stdout, stderr)
	case "import":
		err = runImport(ctx, args[1:], environ, stdout, stderr)
	case "eval":
		err = runEval(ctx, args[1:], environ, stdout, stderr)
	case "version":
		printVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "smartonboard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(stderr, "smartonboard %s: %v\n", args[0], err)
	return 1
}
