package config

import (
	"errors"
	"strings"
)

// Problem is one thing wrong with the configuration, named by the variable to change
// and with a suggestion, so the operator knows what to do without reading code.
type Problem struct {
	Variable   string `json:"variable"`
	Message    string `json:"message"`
	Suggestion string `json:"suggestion"`
	Warning    bool   `json:"warning,omitempty"` // worth fixing, but the binary still starts
	File       string `json:"file,omitempty"`    // the file the problem concerns, if any
}

// String renders a problem as one line, "VARIABLE: message; suggestion", the form
// operators grep for in deploy logs.
func (p Problem) String() string {
	s := p.Variable + ": " + p.Message
	if p.Suggestion != "" {
		s += "; " + p.Suggestion
	}
	return s
}

// Problems is every problem found at once, so a deploy is fixed in one pass; Load's
// and Validate's are meant to be appended together.
type Problems []Problem

// Err is nil when nothing blocks a start, and otherwise lists every error (not the
// warnings) one per line, so main can refuse to start with a single check.
func (ps Problems) Err() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	lines := make([]string, len(errs))
	for i, p := range errs {
		lines[i] = p.String()
	}
	return errors.New(strings.Join(lines, "\n"))
}

// Errors returns the problems that must be fixed before the binary may start.
func (ps Problems) Errors() Problems {
	return ps.filter(false)
}

// Warnings returns the problems worth fixing that do not stop a start.
func (ps Problems) Warnings() Problems {
	return ps.filter(true)
}

func (ps Problems) filter(warning bool) Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning == warning {
			out = append(out, p)
		}
	}
	return out
}
