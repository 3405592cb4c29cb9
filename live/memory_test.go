package live_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/live"
	"github.com/smartonboarding/smartonboard/stream"
)

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMadeUpUsersBoundMemory sends a million made-up user ids, as one public
// key can, through what keeps per-user state in memory after a commit: the
// live counters and the stream broker (one journey message per user). The
// heap must stay within the broker's replay bound plus a little.
func TestMadeUpUsersBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million users")
	}
	const users, batch, retained = 1_000_000, 500, 16 << 20
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	b := stream.NewBroker(stream.Options{MaxRetainedBytes: retained})
	defer b.Close()
	data := stream.JSON(`{"flow":"getting-started","status":"in_progress"}`)
	evs := make([]*so.Event, batch)
	before := heapAlloc()
	for i := 0; i < users; i += batch {
		for j := range evs {
			id := "made-up-" + strconv.Itoa(i+j)
			evs[j] = &so.Event{ProjectID: "p", UserID: id}
			if err := b.Publish(stream.UserTopic("p", id), "journey", data); err != nil {
				t.Fatal(err)
			}
		}
		c.Observe(evs, nil)
		now = now.Add(time.Millisecond)
	}
	clear(evs)
	grown := int64(heapAlloc()) - int64(before)
	active := c.Snapshot("p").ActiveUsers
	t.Logf("heap grew %d MiB for %d users (%d active counted)", grown>>20, users, active)
	if grown > 64<<20 {
		t.Fatalf("heap grew %d MiB, want under 64", grown>>20)
	}
	if active < users*98/100 || active > users*102/100 {
		t.Fatalf("active users = %d, want %d within 2%%", active, users)
	}
}
