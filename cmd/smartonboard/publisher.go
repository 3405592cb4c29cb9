package main

import (
	"sync"

	so "github.com/smartonboarding/smartonboard"
)

// streamPublisher pushes the journeys each commit changed to the real-time
// streams from one goroutine, in commit order, so that a committer goes straight
// back to committing instead of rendering views (a quarter of the CPU of
// journey-heavy ingestion). When the queue is full the committer waits: updates
// are delayed, never dropped.
type streamPublisher struct {
	queue chan []*so.Journey
	wg    sync.WaitGroup
}

func startStreamPublisher(publish func([]*so.Journey)) *streamPublisher {
	p := &streamPublisher{queue: make(chan []*so.Journey, 256)}
	p.wg.Go(func() {
		for js := range p.queue {
			publish(js)
		}
	})
	return p
}

func (p *streamPublisher) enqueue(js []*so.Journey) { p.queue <- js }

// close publishes what is queued and stops; nothing may be enqueued after it.
func (p *streamPublisher) close() {
	close(p.queue)
	p.wg.Wait()
}
