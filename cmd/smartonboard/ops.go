package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/preflight"
	"github.com/smartonboarding/smartonboard/verify"
)

// runMigrate manages the schema: up applies pending migrations, down rolls back the
// latest one, status lists them all.
func runMigrate(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return fmt.Errorf("say what to do: smartonboard migrate up|down|status")
	}
	cfg, err := loadConfig("migrate "+args[0], args[1:], environ, stderr)
	if err != nil {
		return err
	}
	db, closeDB, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	m := db.Migrator()
	switch args[0] {
	case "up":
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintf(stdout, "schema is current (version %d); nothing to apply\n", m.Latest())
		}
		for _, v := range applied {
			fmt.Fprintf(stdout, "applied %d\n", v)
		}
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		if v == 0 {
			fmt.Fprintln(stdout, "no migration is applied; nothing to roll back")
		} else {
			fmt.Fprintf(stdout, "rolled back %d\n", v)
		}
	case "status":
		return printStatus(ctx, stdout, db)
	}
	return nil
}

func printStatus(ctx context.Context, w io.Writer, db database) error {
	list, err := db.Migrator().Status(ctx)
	if err != nil {
		return err
	}
	pending := 0
	fmt.Fprintf(w, "%-8s %-10s %-25s %s\n", "VERSION", "STATE", "APPLIED AT", "NAME")
	for _, m := range list {
		state, at := "pending", "-"
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
		} else {
			pending++
		}
		fmt.Fprintf(w, "%-8d %-10s %-25s %s\n", m.Version, state, at, m.Name)
	}
	fmt.Fprintf(w, "\n%s database: %d applied, %d pending\n", db.Engine(), len(list)-pending, pending)
	return nil
}

// runPreflight prints the deployment report; any error makes the exit status 1.
func runPreflight(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	cfg, problems := config.Load(environ)
	fs := flag.NewFlagSet("preflight", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	problems = append(problems, cfg.Validate()...)
	report := preflight.Run(ctx, preflight.Inputs{Config: cfg, Problems: problems,
		OpenDB: func(ctx context.Context) (preflight.Database, func(), error) { return openDatabase(ctx, cfg) }})
	return printReport(report, *asJSON, stdout)
}

// runVerify checks a deployed instance over HTTP and prints the report; any error
// makes the exit status 1. Keys default to the environment the server uses.
func runVerify(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	cfg, _ := config.Load(environ) // only the keys are used; the rest need not be valid here
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o verify.Options
	fs.StringVar(&o.URL, "url", "", "the instance's public base URL (required)")
	fs.StringVar(&o.SecretKey, "key", cfg.AdminKey, "secret key (default $SMARTONBOARD_ADMIN_KEY)")
	fs.StringVar(&o.PublicKey, "public-key", cfg.PublicKey, "public key (default $SMARTONBOARD_PUBLIC_KEY)")
	fs.StringVar(&o.Origin, "origin", "", "a browser origin that must pass CORS, e.g. https://app.example.com")
	fs.BoolVar(&o.Write, "write", false, "store one event for user "+verify.VerifyUserID+" and read it back")
	fs.StringVar(&o.ExpectVersion, "expect-version", "", "fail unless the instance runs this version")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "limit for each request")
	fs.DurationVar(&o.StreamWait, "stream-wait", 5*time.Second, "how long the event stream's first event may take")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if o.URL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: smartonboard verify --url https://onboard.example.com [--key sk_…] [--public-key pk_…] [--origin URL] [--write] [--json]")
		return exitError{2}
	}
	report := verify.Run(ctx, o)
	return printReport(report, *asJSON, stdout)
}

// printReport prints a preflight or verify report; a report with an error makes
// the exit status 1.
func printReport(report *preflight.Report, asJSON bool, stdout io.Writer) error {
	if asJSON {
		if err := report.WriteJSON(stdout); err != nil {
			return err
		}
	} else {
		report.WriteText(stdout)
	}
	if report.Status == preflight.StatusError {
		return exitError{1}
	}
	return nil
}
