package main

import (
	"slices"
	"sync"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestStreamPublisherSkipsStaleRevisions hands over two commits of one journey in
// the wrong order, as two committers can: the older revision is not published
// after the newer one, and everything queued is published before close returns.
func TestStreamPublisherSkipsStaleRevisions(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	p := startStreamPublisher(func(js []*so.Journey) {
		mu.Lock()
		defer mu.Unlock()
		for _, j := range js {
			got = append(got, j.ID+"@"+string(rune('0'+j.Revision)))
		}
	})
	p.enqueue([]*so.Journey{{ID: "a", Revision: 3}, {ID: "b", Revision: 1}})
	p.enqueue([]*so.Journey{{ID: "a", Revision: 2}}) // committed before revision 3, handed over after it
	p.enqueue([]*so.Journey{{ID: "a", Revision: 4}, {ID: "b", Revision: 1}})
	p.close()
	if want := []string{"a@3", "b@1", "a@4"}; !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
}
