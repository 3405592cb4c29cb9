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
	conn      *sql.DB
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	runs      atomic.Int64 // checkpoints that copied the whole WAL, for tests
}

// startCheckpointer checkpoints through conn every interval until close.
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
	if err == nil && busy == 0 && logFrames == done {
		c.runs.Add(1)
	}
}

// close stops the checkpointer; closing the database twice stays harmless.
func (c *checkpointer) close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.wg.Wait()
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}
