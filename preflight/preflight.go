// Package preflight checks a deployment before it serves traffic: configuration,
// database reachability, schema, listen address and data directory, reported as one
// DeploymentStatus that says what is wrong and how to fix it.
package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/migrate"
	"github.com/smartonboarding/smartonboard/predict"
)

// Report phases and statuses, as the deployment tooling of the earlier system named them.
const (
	PhaseDeploy   = "deploy" // smartonboard preflight, before a deploy
	PhaseVerify   = "verify" // smartonboard verify, against the deployed instance
	StatusSuccess = "success"
	StatusWarning = "warning"
	StatusError   = "error"
)

// Issue types say which part of the deployment a problem is in.
const (
	TypeConfiguration = "configuration"
	TypeDatabase      = "database"
	TypeMigration     = "migration"
	TypeNetwork       = "network"
	TypeSecurity      = "security"
	TypeService       = "service"
)

// Report is the DeploymentStatus that preflight prints.
type Report struct {
	Phase     string    `json:"phase"`
	Status    string    `json:"status"`
	Timestamp time.Time `json:"timestamp"`
	Errors    []Issue   `json:"errors"`
	Checks    []Check   `json:"checks"`
}

// Issue is one problem with what to do about it.
type Issue struct {
	Type       string `json:"type"`
	Severity   string `json:"severity"` // error or warning
	Message    string `json:"message"`
	Suggestion string `json:"suggestion"`
	Check      string `json:"check"` // the check that found it
	Variable   string `json:"variable,omitempty"`
	File       string `json:"file,omitempty"`
}

// Check is the outcome of one check, so a clean report still shows what was checked.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, error, warning, skipped
	Detail string `json:"detail"`
}

// Database is what preflight needs of an open storage engine.
type Database interface {
	Ping(ctx context.Context) error
	Migrator() *migrate.Migrator
	Engine() string
	FindProject(ctx context.Context, id string) (*so.Project, error)
	ActiveModels(ctx context.Context) ([]*so.Model, error)
}

// Inputs are the configuration and a way to open its database.
type Inputs struct {
	Config   config.Config
	Problems config.Problems // from config.Load and Config.Validate
	OpenDB   func(ctx context.Context) (Database, func(), error)
}

// Run performs every check and returns the report; it never serves or migrates.
func Run(ctx context.Context, in Inputs) *Report {
	r := NewReport(PhaseDeploy)
	r.checkConfig(in.Problems)
	r.checkExposure(in.Config)
	if in.Config.Engine() == config.EngineSQLite {
		r.checkDataDir(in.Config.DataDir)
	}
	r.checkDatabase(ctx, in)
	r.checkListen(in.Config.Addr)
	r.Finish()
	return r
}

// NewReport starts an empty report of a phase, stamped now.
func NewReport(phase string) *Report {
	return &Report{Phase: phase, Timestamp: time.Now().UTC().Truncate(time.Millisecond), Errors: []Issue{}, Checks: []Check{}}
}

// Add records one check and the issues it found.
func (r *Report) Add(check, status, detail string, issues ...Issue) {
	r.Checks = append(r.Checks, Check{Name: check, Status: status, Detail: detail})
	for _, is := range issues {
		is.Check = check
		r.Errors = append(r.Errors, is)
	}
}

// Finish sets the overall status from the issues: error if any is an error,
// warning if any is a warning, success otherwise.
func (r *Report) Finish() {
	r.Status = StatusSuccess
	for _, is := range r.Errors {
		if is.Severity == StatusError {
			r.Status = StatusError
			return
		}
		r.Status = StatusWarning
	}
}

func (r *Report) checkConfig(problems config.Problems) {
	var issues []Issue
	for _, p := range problems {
		sev := StatusError
		if p.Warning {
			sev = StatusWarning
		}
		issues = append(issues, Issue{Type: TypeConfiguration, Severity: sev, Message: p.Message,
			Suggestion: p.Suggestion, Variable: p.Variable, File: p.File})
	}
	status := "ok"
	switch {
	case len(problems.Errors()) > 0:
		status = StatusError
	case len(problems) > 0:
		status = StatusWarning
	}
	r.Add("configuration", status, fmt.Sprintf("%d errors, %d warnings", len(problems.Errors()), len(problems.Warnings())), issues...)
}

// checkDataDir proves the SQLite directory is writable by writing a file in it, or
// in the nearest existing parent when serve would have to create it.
func (r *Report) checkDataDir(dir string) {
	target := dir
	for {
		if _, err := os.Stat(target); err == nil || filepath.Dir(target) == target {
			break
		}
		target = filepath.Dir(target)
	}
	f, err := os.CreateTemp(target, ".preflight-*")
	if err == nil {
		name := f.Name()
		f.Close()
		err = os.Remove(name)
	}
	if err != nil {
		r.Add("data directory", StatusError, dir, Issue{Type: TypeConfiguration, Severity: StatusError,
			Variable: "SMARTONBOARD_DATA_DIR", File: target,
			Message:    fmt.Sprintf("data directory %s is not writable: %v", dir, unwrapPath(err)),
			Suggestion: "point SMARTONBOARD_DATA_DIR at a writable directory (in a container, a mounted volume owned by the service user)"})
		return
	}
	r.Add("data directory", "ok", dir+" is writable")
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dbVariables are the settings whose errors make a database check pointless.
var dbVariables = []string{"DATABASE_URL", "DATABASE_URL_FILE", "DATABASE_SSL_ROOT_CERT", "DATABASE_MAX_CONNS",
	"DATABASE_CONNECT_TIMEOUT", "DATABASE_IDLE_TIMEOUT", "SMARTONBOARD_DATA_DIR"}

func (r *Report) checkDatabase(ctx context.Context, in Inputs) {
	for _, p := range in.Problems.Errors() {
		for _, v := range dbVariables {
			if p.Variable == v {
				r.Add("database", "skipped", "fix "+v+" first")
				r.Add("migrations", "skipped", "database not checked")
				return
			}
		}
	}
	db, closeDB, err := in.OpenDB(ctx)
	if err != nil {
		r.Add("database", StatusError, in.Config.Engine()+" not reachable", databaseIssue(in.Config, err))
		r.Add("migrations", "skipped", "database not reachable")
		return
	}
	defer closeDB()
	r.Add("database", "ok", db.Engine()+" reachable")
	if !r.checkMigrations(ctx, in.Config, db.Migrator()) {
		r.Add("models", "skipped", "migrations not current")
		return
	}
	r.checkModels(ctx, db)
	if in.Config.Env == config.EnvProduction {
		r.checkIdentity(ctx, db)
	}
}

// databaseIssue explains a connection failure with the fix operators need most.
func databaseIssue(cfg config.Config, err error) Issue {
	msg := err.Error()
	is := Issue{Type: TypeDatabase, Severity: StatusError, Message: msg, Variable: "DATABASE_URL"}
	lower := strings.ToLower(msg)
	switch {
	case cfg.Engine() == config.EngineSQLite:
		is.Variable, is.File = "SMARTONBOARD_DATA_DIR", cfg.SQLitePath()
		is.Suggestion = "check that the SQLite file is a Smart Onboarding database and that its directory is writable"
	case strings.Contains(lower, "tls") || strings.Contains(lower, "ssl") || strings.Contains(lower, "certificate"):
		is.Variable = "DATABASE_SSL_ROOT_CERT"
		is.Suggestion = "check sslmode in DATABASE_URL and that DATABASE_SSL_ROOT_CERT holds the CA that signed the server certificate"
	case strings.Contains(lower, "password") || strings.Contains(lower, "28p01") || strings.Contains(lower, "28000"):
		is.Suggestion = "check the user name and password in DATABASE_URL (or DATABASE_URL_FILE)"
	case strings.Contains(lower, "3d000") || strings.Contains(lower, "does not exist"):
		is.Suggestion = "create the database (createdb) or fix its name in DATABASE_URL"
	default:
		is.Suggestion = "check that PostgreSQL is running and that the host and port in DATABASE_URL are reachable from here (firewall, security group, DNS); raise DATABASE_CONNECT_TIMEOUT if it is slow to start"
	}
	return is
}

// checkMigrations reports the schema and tells whether it is current.
func (r *Report) checkMigrations(ctx context.Context, cfg config.Config, m *migrate.Migrator) bool {
	err := m.Check(ctx)
	switch {
	case err == nil:
		r.Add("migrations", "ok", fmt.Sprintf("schema at version %d, current", m.Latest()))
		return true
	case errors.Is(err, migrate.ErrPending) && cfg.Env == config.EnvDevelopment:
		r.Add("migrations", StatusWarning, err.Error(), Issue{Type: TypeMigration, Severity: StatusWarning,
			Message: err.Error(), Suggestion: "serve applies them on start in development; run `smartonboard migrate up` to apply them now"})
	case errors.Is(err, migrate.ErrPending):
		r.Add("migrations", StatusError, err.Error(), Issue{Type: TypeMigration, Severity: StatusError,
			Message: err.Error(), Suggestion: "run `smartonboard migrate up` (or start serve with --migrate) before this deploy"})
	case errors.Is(err, migrate.ErrSchemaTooNew):
		r.Add("migrations", StatusError, err.Error(), Issue{Type: TypeMigration, Severity: StatusError,
			Message: err.Error(), Suggestion: "deploy the binary that matches the schema, or run `smartonboard migrate down` with the newer binary"})
	default:
		r.Add("migrations", StatusError, err.Error(), Issue{Type: TypeMigration, Severity: StatusError,
			Message: err.Error(), Suggestion: "check that the database user may read the schema_migrations table"})
	}
	return false
}

// checkExposure warns, in production, about settings that work but leave parts
// of the service open to anyone: /metrics without a token, and every web origin
// allowed to call the public routes from its visitors' browsers.
func (r *Report) checkExposure(cfg config.Config) {
	if cfg.Env != config.EnvProduction {
		return
	}
	var issues []Issue
	if cfg.MetricsToken == "" {
		issues = append(issues, Issue{Type: TypeSecurity, Severity: StatusWarning, Variable: "SMARTONBOARD_METRICS_TOKEN",
			Message:    "is not set, so GET /metrics is open to anyone who can reach the server",
			Suggestion: "set SMARTONBOARD_METRICS_TOKEN and have Prometheus send it as a bearer token"})
	}
	if slices.Contains(cfg.AllowedOrigins, "*") {
		issues = append(issues, Issue{Type: TypeSecurity, Severity: StatusWarning, Variable: "SMARTONBOARD_ALLOWED_ORIGINS",
			Message:    "includes *, so any web page may call the public routes (identify, events, journeys) from its visitors' browsers",
			Suggestion: "list the origins of your application instead, such as https://app.example.com"})
	}
	if len(issues) > 0 {
		r.Add("exposure", StatusWarning, fmt.Sprintf("%d settings leave the service open", len(issues)), issues...)
		return
	}
	r.Add("exposure", "ok", "metrics need a token; origins are listed")
}

// checkIdentity warns, in production, when the default project does not verify
// identities: then every visitor holding the public key can read and act as any
// end user by naming their id.
func (r *Report) checkIdentity(ctx context.Context, db Database) {
	const check = "identity"
	p, err := db.FindProject(ctx, so.DefaultProjectID)
	switch {
	case so.ErrorCode(err) == so.ENOTFOUND:
		r.Add(check, "skipped", "the default project is created when serve first starts")
	case err != nil:
		r.Add(check, StatusWarning, "cannot read the default project", Issue{Type: TypeDatabase, Severity: StatusWarning,
			Message: "cannot read the default project: " + err.Error(), Suggestion: "check that the database user may read the projects table"})
	case p.IdentitySecret == "":
		r.Add(check, StatusWarning, "identity verification is off", Issue{Type: TypeSecurity, Severity: StatusWarning,
			Message:    "identity verification is off for the default project, so anyone holding the public key (every visitor of your pages) can read and change any user's journey by naming their user id",
			Suggestion: `turn it on with PATCH /v1/project {"identity_verification": true}, and have your backend send X-User-Hash, the hex HMAC-SHA256 of the user id under the identity secret`})
	default:
		r.Add(check, "ok", "identity verification is on for the default project")
	}
}

// checkModels reports success prediction's availability: every active
// model must be readable; a project without one is answered by the prior.
func (r *Report) checkModels(ctx context.Context, db Database) {
	const check = "models"
	ms, err := db.ActiveModels(ctx)
	if err != nil {
		r.Add(check, StatusError, "cannot read the model registry", Issue{Type: TypeDatabase, Severity: StatusError,
			Message: "cannot read the model registry: " + err.Error(), Suggestion: "check that the database user may read the models table", Check: check})
		return
	}
	for _, m := range ms {
		if err := predict.CheckModel(m); err != nil {
			r.Add(check, StatusError, fmt.Sprintf("active model v%d of project %s cannot score", m.Version, m.ProjectID), Issue{Type: TypeService,
				Severity: StatusError, Message: fmt.Sprintf("active model %s of project %s: %v", m.ID, m.ProjectID, err),
				Suggestion: "activate another model (POST /v1/models/{id}/activate) or train a new one (POST /v1/models/train)", Check: check})
			return
		}
	}
	if len(ms) == 0 {
		r.Add(check, "ok", "no active model: predictions come from the prior until one is trained (POST /v1/models/train)")
		return
	}
	r.Add(check, "ok", fmt.Sprintf("%d active model(s), all readable; other projects are answered by the prior", len(ms)))
}

// checkListen binds the address and releases it at once.
func (r *Report) checkListen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.Add("listen address", StatusError, addr, Issue{Type: TypeNetwork, Severity: StatusError,
			Variable: "SMARTONBOARD_ADDR", Message: fmt.Sprintf("cannot listen on %s: %v", addr, err),
			Suggestion: "stop whatever holds the port or choose another one in SMARTONBOARD_ADDR"})
		return
	}
	ln.Close()
	r.Add("listen address", "ok", addr+" can be bound")
}

// WriteJSON prints the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	command := "preflight"
	if r.Phase == PhaseVerify {
		command = "verify"
	}
	fmt.Fprintf(w, "Smart Onboarding %s (phase %s) at %s\n\n", command, r.Phase, r.Timestamp.Format(time.RFC3339))
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %-8s %-15s %s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w)
	}
	for _, is := range r.Errors {
		where := is.Variable
		if is.File != "" {
			where = strings.TrimPrefix(where+" ", " ") + "(file " + is.File + ")"
		}
		if where == "" {
			where = is.Check
		}
		fmt.Fprintf(w, "%s [%s] %s: %s\n", strings.ToUpper(is.Severity), is.Type, where, is.Message)
		if is.Suggestion != "" {
			fmt.Fprintf(w, "    fix: %s\n", is.Suggestion)
		}
	}
	fmt.Fprintf(w, "\nstatus: %s\n", r.Status)
}
