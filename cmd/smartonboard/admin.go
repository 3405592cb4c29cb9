package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	so "github.com/smartonboarding/smartonboard"
)

// maxPasswordFile bounds what --password-file reads.
const maxPasswordFile = 4096

// runAdmin manages dashboard accounts: `admin create` makes an account and
// gives it a role in a project (owner of the default project unless told).
func runAdmin(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("say what to do: smartonboard admin create --email E --password-file F [--project ID] [--role owner|editor|viewer]")
	}
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the account's email address")
	pwFile := fs.String("password-file", "", "file holding the password (never give a password on the command line)")
	project := fs.String("project", so.DefaultProjectID, "project the account joins")
	role := fs.String("role", string(so.RoleOwner), "its role there: owner, editor or viewer")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{2}
	}
	if *email == "" || *pwFile == "" {
		return errors.New("--email and --password-file are required")
	}
	password, err := readPasswordFile(*pwFile)
	if err != nil {
		return err
	}
	cfg, err := loadConfig("admin create", nil, environ, stderr)
	if err != nil {
		return err
	}
	db, closeDB, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	accounts := &so.AccountService{Store: db, Projects: db}
	if _, err := accounts.CreateAccount(ctx, *email, password); err != nil {
		return fmt.Errorf("%s", describe(err))
	}
	m, err := accounts.PutMember(ctx, *project, so.MemberInput{Email: *email, Role: so.Role(*role)})
	if err != nil {
		return fmt.Errorf("account created, but it could not join project %q: %s", *project, describe(err))
	}
	fmt.Fprintf(stdout, "created account %s (%s), %s of project %q\n", m.Email, m.AccountID, m.Role, m.ProjectID)
	return nil
}

// readPasswordFile reads a password, dropping one trailing newline as editors
// and `echo` add it.
func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read --password-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return "", fmt.Errorf("read --password-file: %w", err)
	}
	if len(b) > maxPasswordFile {
		return "", fmt.Errorf("--password-file is larger than %d bytes", maxPasswordFile)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
}

// describe renders a domain error for the terminal: its field and message.
func describe(err error) string {
	if f := so.ErrorField(err); f != "" {
		return f + ": " + so.ErrorMessage(err)
	}
	if so.ErrorCode(err) == so.EINTERNAL {
		return err.Error()
	}
	return so.ErrorMessage(err)
}
