package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// runAnalytics runs `smartonboard analytics rebuild`: it recomputes the
// rollups that start at or after --from (default: all) from stored journeys
// and events, in one transaction that holds the analytics consumer off.
func runAnalytics(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return errors.New("say what to do: smartonboard analytics rebuild [--from 2026-11-01T00:00:00Z]")
	}
	fs := flag.NewFlagSet("analytics rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromFlag := fs.String("from", "", "recompute rollups from this time on (RFC 3339, floored to the UTC day); default: everything")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{2}
	}
	var from time.Time
	if *fromFlag != "" {
		var err error
		if from, err = time.Parse(time.RFC3339, *fromFlag); err != nil {
			return fmt.Errorf("--from %q: want an RFC 3339 time such as 2026-11-01T00:00:00Z", *fromFlag)
		}
	}
	cfg, err := loadConfig("analytics rebuild", nil, environ, stderr)
	if err != nil {
		return err
	}
	db, closeDB, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	st, err := rebuildAnalytics(ctx, db, from, stdout)
	if err != nil {
		return fmt.Errorf("analytics rebuild: %w", err)
	}
	fmt.Fprintf(stdout, "rebuilt analytics from %s: %d journeys, %d events\n", describeFrom(st.From), st.Journeys, st.Events)
	return nil
}

// rebuildAnalytics recomputes the rollups, printing progress at most once a second.
func rebuildAnalytics(ctx context.Context, db database, from time.Time, out io.Writer) (analytics.RebuildStats, error) {
	c := &analytics.Consumer{Version: db.FindFlowVersion}
	var st analytics.RebuildStats
	last := time.Now()
	err := db.RebuildAnalytics(ctx, func(ctx context.Context, tx so.RebuildTx) error {
		var err error
		st, err = c.Rebuild(ctx, tx, from, func(p analytics.RebuildStats) {
			if time.Since(last) >= time.Second {
				fmt.Fprintf(out, "… %d journeys, %d events\n", p.Journeys, p.Events)
				last = time.Now()
			}
		})
		return err
	})
	return st, err
}

func describeFrom(t time.Time) string {
	if t.IsZero() || t.Year() < 2 {
		return "the beginning"
	}
	return so.FormatTime(t)
}
