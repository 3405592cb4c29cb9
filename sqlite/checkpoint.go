package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointInterval is how often the background checkpointer copies the WAL
// into the database file.
const checkpointInterval = time.Second

// fallbackCheckpointPages is the WAL size (in 4 KiB pages) at which the writer
// checkpoints inline after all, should the background checkpointer fall behind.
const fallbackCheckpointPages = 16384

// checkpointer copies committed WAL frames into the database file from its own
// connection, so that the writer's commits never stop to do it: SQLite's
// automatic checkpoint runs inside the commit that crosses the threshold, and
// that commit's requests wait for it.
type checkpointer struct {
	conn *sql.DB
	done chan struct{}
	wg   sync.WaitGroup
	runs atomic.Int64 // checkpoints that completed, for tests and metrics
}

func startCheckpointer(conn *sql.DB, every time.Duration) *checkpointer {
	c := &checkpointer{conn: conn, done: make(chan struct{})}
	c.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				c.checkpoint()
			}
		}
	})
	return c
}

// checkpoint runs one PASSIVE checkpoint: it copies what it can without waiting
// for readers or the writer. A failed one is retried at the next tick, and the
// writer's fallback bounds the WAL meanwhile.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logFrames, done int
	err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
	if err == nil && busy == 0 {
		c.runs.Add(1)
	}
}

func (c *checkpointer) close() error {
	close(c.done)
	c.wg.Wait()
	return c.conn.Close()
}
