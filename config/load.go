package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxSecretFileSize bounds a _FILE read: a secret is one line, and a mistaken path
// such as /dev/zero must not hang the start.
const maxSecretFileSize = 64 << 10

// Load starts from Default and overlays environ ("KEY=value" strings, as from
// os.Environ), taking it as an argument so that tests never depend on the real
// environment. A value that cannot be parsed leaves the default in place and becomes
// a Problem; Load never panics on input.
func Load(environ []string) (Config, Problems) {
	c := Default()
	env := parseEnviron(environ)
	var ps Problems
	for _, s := range settings {
		v, ok, p := lookup(env, s)
		if p != nil {
			ps = append(ps, *p)
		}
		if !ok {
			continue
		}
		if p := s.set(&c, v); p != nil {
			ps = append(ps, *p)
		}
	}
	return c, append(ps, unknownVars(env)...)
}

// parseEnviron keeps the first value of a repeated key, as os.Getenv does, and drops
// entries without "=".
func parseEnviron(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if _, seen := env[k]; ok && !seen {
			env[k] = v
		}
	}
	return env
}

// lookup finds a setting's value in the variable or its _FILE; an empty variable
// counts as unset, because container tooling often passes VAR= for "not configured".
func lookup(env map[string]string, s setting) (string, bool, *Problem) {
	v := env[s.Name]
	path := ""
	if s.File {
		path = env[s.Name+"_FILE"]
	}
	switch {
	case v != "" && path != "":
		return "", false, &Problem{Variable: s.Name, File: path,
			Message:    fmt.Sprintf("both %s and %s_FILE are set", s.Name, s.Name),
			Suggestion: "unset one of them"}
	case path != "":
		return readValueFile(s.Name+"_FILE", path)
	}
	return v, v != "", nil
}

// readValueFile reads a _FILE (a Docker or Kubernetes secret, usually) and trims the
// trailing newline editors and echo add.
func readValueFile(name, path string) (string, bool, *Problem) {
	data, err := readLimited(path, maxSecretFileSize)
	if err != nil {
		return "", false, &Problem{Variable: name, File: path,
			Message:    fmt.Sprintf("cannot read %q: %v", path, err),
			Suggestion: "check that the file exists and that the smartonboard user can read it"}
	}
	v := strings.TrimRight(string(data), " \t\r\n")
	if v == "" {
		return "", false, &Problem{Variable: name, File: path,
			Message:    fmt.Sprintf("%q is empty", path),
			Suggestion: "write the value into the file, or unset " + name}
	}
	return v, true, nil
}

// readLimited reads at most limit bytes of a file and reports a larger one as an
// error; the error names no path, so callers phrase it themselves.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, pathReason(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, pathReason(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file is larger than %d KiB", limit>>10)
	}
	return data, nil
}

// pathReason strips the path from an *fs.PathError, leaving "permission denied".
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// set parses v into the setting's field, which keeps its default when v does not
// parse; the Problem never echoes a secret value.
func (s setting) set(c *Config, v string) *Problem {
	switch p := s.field(c).(type) {
	case *string:
		*p = v
	case *[]string:
		*p = splitList(v)
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return s.parseProblem(v, "is not a whole number", "the default is "+s.defaultString())
		}
		*p = n
	case *time.Duration:
		d, err := parseDuration(v)
		if err != nil {
			return s.parseProblem(v, "is not a duration",
				`use Go duration syntax such as "10s" or "5m", or a whole number of seconds`)
		}
		*p = d
	}
	return nil
}

func (s setting) parseProblem(v, msg, suggestion string) *Problem {
	if !s.Secret {
		msg = strconv.Quote(v) + " " + msg
	}
	return &Problem{Variable: s.Name, Message: msg, Suggestion: suggestion}
}

func (s setting) defaultString() string {
	def := Default()
	return formatValue(s.field(&def))
}

// parseDuration accepts Go syntax ("10s", "5m") and a plain integer of seconds,
// which is what most other tools' timeouts take.
func parseDuration(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.ParseDuration(v)
	}
	if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
		return 0, errors.New("out of range")
	}
	return time.Duration(n) * time.Second, nil
}

// splitList splits a comma-separated value, trimming spaces and dropping empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// unknownVars warns about SMARTONBOARD_ variables Load does not read, and about
// DATABASE_ variables one typo away from a known one, because a misspelt name
// otherwise silently leaves the default in place. Values are never echoed: a
// misspelt secret is still a secret.
func unknownVars(env map[string]string) Problems {
	known := knownNames()
	var ps Problems
	for _, name := range sortedKeys(env) {
		if slices.Contains(known, name) {
			continue
		}
		switch {
		case strings.HasPrefix(name, "SMARTONBOARD_"):
			ps = append(ps, unknownVar(name, closestNames(name, known, 3)))
		case strings.HasPrefix(name, "DATABASE_"):
			if near := closestNames(name, known, 2); len(near) > 0 {
				ps = append(ps, unknownVar(name, near))
			}
		}
	}
	return ps
}

func unknownVar(name string, near []string) Problem {
	p := Problem{Variable: name, Warning: true, Message: "is not a known variable and is ignored",
		Suggestion: "remove it, or see config/README.md for the known variables"}
	if len(near) > 0 {
		p.Suggestion = "did you mean " + strings.Join(near, " or ") + "?"
	}
	return p
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
