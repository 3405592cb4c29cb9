package stream

import (
	"runtime"
	"strconv"
	"testing"
)

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestRetainedOverheadCovered measures what tiny messages on distinct topics
// really hold on the heap and checks that the broker's accounting (what
// MaxRetainedBytes bounds) counts at least that much, so invented user ids
// cannot grow memory past the bound.
func TestRetainedOverheadCovered(t *testing.T) {
	const n = 50_000
	b := NewBroker(Options{MaxRetainedBytes: 1 << 30})
	defer b.Close()
	data := JSON(`{}`)
	before := heapAlloc()
	for i := range n {
		if err := b.Publish(UserTopic("project-id", "user-"+strconv.Itoa(i)), "journey", data); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(heapAlloc()) - int64(before)
	b.mu.Lock()
	counted, topics := b.bytes, len(b.topics)
	b.mu.Unlock()
	if topics != n {
		t.Fatalf("%d topics retained, want %d", topics, n)
	}
	t.Logf("%d messages: heap grew %d bytes (%d each), counted %d (%d each)", n, grown, grown/n, counted, counted/n)
	if int64(counted) < grown {
		t.Fatalf("the broker counts %d bytes for what holds %d on the heap: raise retainedOverhead", counted, grown)
	}
}

// TestInventedTopicsBoundMemory sends a million distinct user topics through
// the broker and checks the heap stays near MaxRetainedBytes.
func TestInventedTopicsBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million publishes")
	}
	const limit = 8 << 20
	b := NewBroker(Options{MaxRetainedBytes: limit})
	defer b.Close()
	data := JSON(`{"journey":"state of a user nobody follows"}`)
	before := heapAlloc()
	for i := range 1_000_000 {
		if err := b.Publish(UserTopic("project-id", "user-"+strconv.Itoa(i)), "journey", data); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(heapAlloc()) - int64(before)
	t.Logf("heap grew %d MiB for a retained-bytes limit of %d MiB", grown>>20, limit>>20)
	if grown > 2*limit {
		t.Fatalf("heap grew %d bytes, want under %d", grown, 2*limit)
	}
}
