package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/postgres/pgtest"
)

// cli runs the program as the shell would and returns exit code and output.
func cli(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// engineEnv is the environment selecting a fresh database of the engine.
func engineEnv(t *testing.T, engine string) []string {
	env := []string{"SMARTONBOARD_DATA_DIR=" + t.TempDir(), "SMARTONBOARD_ADDR=127.0.0.1:0"}
	if engine == config.EnginePostgres {
		env = append(env, "DATABASE_URL="+pgtest.URL(t), "DATABASE_CONNECT_TIMEOUT=5s")
	}
	return env
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		env := engineEnv(t, engine)
		counts := func(out string) (applied, pending int) {
			m := regexp.MustCompile(`(\d+) applied, (\d+) pending`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no counts in status output:\n%s", out)
			}
			applied, _ = strconv.Atoi(m[1])
			pending, _ = strconv.Atoi(m[2])
			return applied, pending
		}
		code, out, errOut := cli(t, env, "migrate", "status")
		applied, total := counts(out)
		if code != 0 || applied != 0 || total < 2 {
			t.Fatalf("status before: %d\n%s%s", code, out, errOut)
		}
		if code, out, errOut = cli(t, env, "migrate", "up"); code != 0 || strings.Count(out, "applied ") != total {
			t.Fatalf("up: %d\n%s%s", code, out, errOut)
		}
		if code, out, _ = cli(t, env, "migrate", "up"); code != 0 || !strings.Contains(out, "nothing to apply") {
			t.Fatalf("second up: %d\n%s", code, out)
		}
		if code, out, _ = cli(t, env, "migrate", "status"); code != 0 {
			t.Fatalf("status after: %d\n%s", code, out)
		} else if a, p := counts(out); a != total || p != 0 {
			t.Fatalf("status after up: %d applied, %d pending\n%s", a, p, out)
		}
		if code, out, _ = cli(t, env, "migrate", "down"); code != 0 || !strings.Contains(out, fmt.Sprintf("rolled back %d", total)) {
			t.Fatalf("down: %d\n%s", code, out)
		}
		if code, out, _ = cli(t, env, "migrate", "status"); code != 0 {
			t.Fatalf("status after down: %d\n%s", code, out)
		} else if a, p := counts(out); a != total-1 || p != 1 {
			t.Fatalf("status after down: %d applied, %d pending", a, p)
		}
		if code, _, errOut = cli(t, env, "migrate", "sideways"); code != 1 || !strings.Contains(errOut, "up|down|status") {
			t.Fatalf("bad subcommand: %d %s", code, errOut)
		}
	})
}

// TestServeSchemaPolicy: development migrates on start; production refuses
// pending migrations unless told; nobody serves a schema newer than they know.
func TestServeSchemaPolicy(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		cfg.Env = config.EnvProduction
		m := &Main{Config: cfg}
		err := m.Run(context.Background())
		m.Close()
		if err == nil || !strings.Contains(err.Error(), "migrate up") {
			t.Fatalf("production with pending migrations: %v, want a refusal naming migrate up", err)
		}
		cfg.Migrate = true
		in := start(t, cfg)
		in.m.Close()

		// A newer binary migrated this database: refuse it in every environment.
		markNewerSchema(t, cfg)
		cfg.Env, cfg.Migrate = config.EnvDevelopment, false
		m = &Main{Config: cfg}
		err = m.Run(context.Background())
		m.Close()
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Fatalf("schema from the future: %v, want a refusal", err)
		}
	})
}

func markNewerSchema(t *testing.T, cfg config.Config) {
	t.Helper()
	driver, dsn := "sqlite", cfg.SQLitePath()
	if cfg.Engine() == config.EnginePostgres {
		driver, dsn = "pgx", cfg.DatabaseURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `INSERT INTO schema_migrations (version_id, is_applied) VALUES (9999, true)`
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	t.Run("clean", func(t *testing.T) {
		t.Parallel()
		forEachEngine(t, func(t *testing.T, engine string) {
			env := engineEnv(t, engine)
			if code, out, errOut := cli(t, env, "migrate", "up"); code != 0 {
				t.Fatalf("migrate up: %d\n%s%s", code, out, errOut)
			}
			code, out, _ := cli(t, env, "preflight")
			if code != 0 || !strings.Contains(out, "status: success") {
				t.Fatalf("preflight on a migrated %s: %d\n%s", engine, code, out)
			}
		})
	})
	t.Run("unreachable database", func(t *testing.T) {
		t.Parallel()
		env := []string{"SMARTONBOARD_ADDR=127.0.0.1:0", "DATABASE_URL=postgres://app:s3cret-pw@127.0.0.1:1/smartonboard?sslmode=disable", "DATABASE_CONNECT_TIMEOUT=1s"}
		code, out, _ := cli(t, env, "preflight", "--json")
		rep := decodeReport(t, out)
		if code != 1 || rep.Status != "error" || strings.Contains(out, "s3cret-pw") {
			t.Fatalf("preflight: %d\n%s", code, out)
		}
		is := findIssue(rep, "database")
		if is == nil || !strings.Contains(is.Message, "127.0.0.1:1") || is.Suggestion == "" || is.Variable != "DATABASE_URL" {
			t.Fatalf("database issue = %+v\n%s", is, out)
		}
	})
	t.Run("production sslmode=disable", func(t *testing.T) {
		t.Parallel()
		env := []string{"SMARTONBOARD_ADDR=127.0.0.1:0", "SMARTONBOARD_ENV=production",
			"DATABASE_URL=postgres://app:s3cret-pw@127.0.0.1:1/smartonboard?sslmode=disable"}
		code, out, _ := cli(t, env, "preflight", "--json")
		rep := decodeReport(t, out)
		is := findIssue(rep, "configuration")
		if code != 1 || is == nil || is.Variable != "DATABASE_URL" || !strings.Contains(is.Message, "sslmode=disable") ||
			!strings.Contains(is.Suggestion, "verify-full") || strings.Contains(out, "s3cret-pw") {
			t.Fatalf("preflight: %d issue %+v\n%s", code, is, out)
		}
		if code, _, errOut := cli(t, env, "serve"); code != 1 || !strings.Contains(errOut, "sslmode=disable") {
			t.Fatalf("serve with the same configuration: %d %s", code, errOut)
		}
	})
	t.Run("port taken and text output", func(t *testing.T) {
		t.Parallel()
		in := start(t, testConfig(t, "sqlite"))
		env := []string{"SMARTONBOARD_DATA_DIR=" + t.TempDir(), "SMARTONBOARD_ADDR=" + strings.TrimPrefix(in.url, "http://")}
		code, out, _ := cli(t, env, "preflight")
		if code != 1 || !strings.Contains(out, "SMARTONBOARD_ADDR") || !strings.Contains(out, "[network]") || !strings.Contains(out, "fix:") {
			t.Fatalf("preflight with the port taken: %d\n%s", code, out)
		}
	})
}

type report struct {
	Phase, Status string
	Errors        []struct{ Type, Severity, Message, Suggestion, Variable string }
	Checks        []reportCheck
}

// reportCheck is one check of a report.
type reportCheck struct{ Name, Status, Detail string }

func decodeReport(t *testing.T, out string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Phase != "deploy" {
		t.Fatalf("not a preflight report (%v):\n%s", err, out)
	}
	return r
}

func findIssue(r report, typ string) *struct{ Type, Severity, Message, Suggestion, Variable string } {
	for i := range r.Errors {
		if r.Errors[i].Type == typ && r.Errors[i].Severity == "error" {
			return &r.Errors[i]
		}
	}
	return nil
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	if code, out, _ := cli(t, nil, "version"); code != 0 || !strings.Contains(out, "commit:") {
		t.Fatalf("version: %d %s", code, out)
	}
	if code, out, _ := cli(t, nil, "help"); code != 0 || !strings.Contains(out, "preflight") {
		t.Fatalf("help: %d %s", code, out)
	}
	if code, _, errOut := cli(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %s", code, errOut)
	}
}
