package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointerMovesWALIntoTheFile checks that committed writes reach the
// database file without the writer checkpointing: the writer's automatic
// checkpoint is only the fallback, and the background one empties the WAL.
func TestCheckpointerMovesWALIntoTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ckpt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages, cache int
	if err := db.writer.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil || pages != fallbackCheckpointPages {
		t.Fatalf("writer wal_autocheckpoint = %d, %v; want %d", pages, err, fallbackCheckpointPages)
	}
	if err := db.writer.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil || cache != -65536 {
		t.Fatalf("writer cache_size = %d, %v", cache, err)
	}
	if _, err := db.Migrator().Up(ctx); err != nil { // writes well under the fallback size
		t.Fatal(err)
	}
	// Two more full checkpoints: the first may have begun before the last
	// migration committed; the second began after it.
	before := db.checkpointer.runs.Load()
	for deadline := time.Now().Add(30 * time.Second); db.checkpointer.runs.Load() < before+2; {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint completed in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every page of the schema is now in the database file itself, not only in
	// the WAL.
	var pageCount, pageSize int64
	if err := db.reader.QueryRowContext(ctx, `SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pageCount, &pageSize); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(db.path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < pageCount*pageSize {
		t.Fatalf("database file is %d bytes; its %d pages of %d bytes are not all checkpointed", info.Size(), pageCount, pageSize)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close() // closing twice (the deferred Close) must not panic
}
