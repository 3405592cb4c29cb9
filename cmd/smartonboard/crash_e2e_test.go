package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smartonboarding/smartonboard/config"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real smartonboard command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smartonboard-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "smartonboard")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is the real binary serving on a free port.
type process struct {
	cmd    *exec.Cmd
	url    string
	secret string
	public string
}

var listening = regexp.MustCompile(`running on (http://\S+)`)
var keyLine = regexp.MustCompile(`(sk|pk)_[A-Za-z0-9]+`)

// startProcess runs `smartonboard serve` and waits for its welcome text.
func startProcess(t *testing.T, env []string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				p.url = m[1]
				close(found)
			}
		}
	}()
	select {
	case <-found:
	case <-time.After(hangGuard):
		t.Fatal("server did not start")
	}
	return p
}

// Keys of the processes the crash tests start.
var (
	processSecret = "sk_" + strings.Repeat("s", 40)
	processPublic = "pk_" + strings.Repeat("p", 40)
)

// processEnv is the environment of a `smartonboard serve` process on cfg's
// database, with fixed keys so that a restart keeps them.
func processEnv(cfg config.Config) []string {
	env := []string{"SMARTONBOARD_ADDR=127.0.0.1:0", "SMARTONBOARD_DATA_DIR=" + cfg.DataDir,
		"SMARTONBOARD_ADMIN_KEY=" + processSecret, "SMARTONBOARD_PUBLIC_KEY=" + processPublic, "SMARTONBOARD_LOG_LEVEL=error"}
	if cfg.DatabaseURL != "" {
		env = append(env, "DATABASE_URL="+cfg.DatabaseURL)
	}
	return env
}

// TestAcknowledgedEventsSurviveSIGKILL posts batches from several clients, kills
// the server hard in the middle, restarts it, and checks that every event whose
// request got a 200 is stored.
func TestAcknowledgedEventsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		cfg := testConfig(t, engine)
		env := processEnv(cfg)
		p := startProcess(t, env)

		var acked sync.Map
		var count atomic.Int64
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var wg sync.WaitGroup
		for c := range 8 {
			wg.Go(func() { postUntilStopped(ctx, p.url, processPublic, c, &acked, &count) })
		}
		for deadline := time.Now().Add(hangGuard); count.Load() < 400; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) { // let load build up, then kill mid-stream
				t.Fatalf("only %d events acknowledged before the kill", count.Load())
			}
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		stop()
		wg.Wait()

		startProcess(t, env) // recovers the database, applies nothing twice
		db, closeDB, err := openDatabase(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeDB()
		events, err := db.ListUserEvents(context.Background(), "default", "crash-user", 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for _, e := range events {
			stored[e.ID] = true
		}
		missing, total := 0, 0
		acked.Range(func(id, _ any) bool {
			total++
			if !stored[id.(string)] {
				missing++
			}
			return true
		})
		if total < 400 || missing > 0 {
			t.Fatalf("%d acknowledged events, %d missing after SIGKILL", total, missing)
		}
		t.Logf("%s: %d acknowledged events all present after SIGKILL (%d stored)", engine, total, len(stored))
	})
}

// postUntilStopped posts 20-event batches and records the ids of acknowledged ones.
func postUntilStopped(ctx context.Context, url, key string, client int, acked *sync.Map, count *atomic.Int64) {
	for batch := 0; ctx.Err() == nil; batch++ {
		var evs, ids []string
		for i := range 20 {
			id := fmt.Sprintf("c%d-b%d-e%d", client, batch, i)
			ids = append(ids, id)
			evs = append(evs, eventJSON(id, "click", "crash-user", "", time.Now()))
		}
		req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/events", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			return // the server is gone
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 { // only a whole answer is an acknowledgement
			for _, id := range ids {
				acked.Store(id, true)
			}
			count.Add(20)
		}
	}
}
