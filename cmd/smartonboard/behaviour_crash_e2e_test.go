package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// TestBehaviourSurvivesSIGKILL commits a struggle on an instance that runs no
// consumer and kills it hard, so the behaviour engine has not seen the
// events; after a restart it finds them by its cursor and stores exactly one
// detection per rule and one intervention, and a second restart (a replay
// of nothing) adds none.
func TestBehaviourSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		env := processEnv(cfg)
		p := startProcess(t, append(env, "SMARTONBOARD_CONSUMERS=off"))
		in := &instance{t: t, url: p.url, secret: processSecret, public: processPublic}
		setupHelpFlow(t, in)
		postEvents(t, in, struggle("victim", time.Now().Add(-10*time.Second))...)
		kill(t, p)

		db, closeDB, err := openDatabase(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeDB()
		if got := detections(t, db); len(got) != 0 {
			t.Fatalf("the consumer ran while off: %d detections", len(got))
		}
		p = startProcess(t, env)
		want := []string{"hesitation", "repeated_errors"}
		got := waitDetections(t, db, len(want))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("detections after the restart = %v, want %v", got, want)
		}
		waitInterventions(t, db, 1)
		kill(t, p)
		startProcess(t, env)
		time.Sleep(500 * time.Millisecond) // a consumer that replayed would have written by now
		if got := detections(t, db); len(got) != len(want) {
			t.Fatalf("after a second restart: %v", got)
		}
		if n := len(interventions(t, db)); n != 1 {
			t.Fatalf("after a second restart: %d interventions", n)
		}
	})
}

func kill(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// detections lists the victim's detection rules, oldest first.
func detections(t *testing.T, db database) []string {
	t.Helper()
	ds, err := db.ListDetections(context.Background(), "default", "victim", 100)
	if err != nil {
		t.Fatal(err)
	}
	rules := make([]string, len(ds))
	for i, d := range ds {
		rules[len(ds)-1-i] = string(d.Rule)
	}
	return rules
}

func interventions(t *testing.T, db database) []*so.Intervention {
	t.Helper()
	is, err := db.ListInterventions(context.Background(), "default", so.InterventionFilter{UserID: "victim", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func waitDetections(t *testing.T, db database, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(20 * time.Millisecond) {
		if got := detections(t, db); len(got) >= n || time.Now().After(deadline) {
			return got
		}
	}
}

func waitInterventions(t *testing.T, db database, n int) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(20 * time.Millisecond) {
		got := interventions(t, db)
		if len(got) == n {
			return
		}
		if len(got) > n || time.Now().After(deadline) {
			t.Fatalf("%d interventions, want %d", len(got), n)
		}
	}
}
