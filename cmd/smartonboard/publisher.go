package main

import (
	"sync"

	so "github.com/smartonboarding/smartonboard"
)

// publishQueue is how many commits' journey changes may wait for the publisher;
// when it is full the committer waits (updates are delayed, never dropped),
// which bounds the memory held to a few thousand journeys.
const publishQueue = 16

// maxTracked bounds the revisions the publisher remembers; when full it starts
// over, which at worst lets one stale update through.
const maxTracked = 100_000

// streamPublisher pushes the journeys each commit changed to the real-time
// streams from one goroutine, so that a committer goes straight back to
// committing instead of rendering views (a quarter of the CPU of journey-heavy
// ingestion). Two committers may hand over their commits in either order, so
// it skips a journey whose revision is not newer than the one it last
// published: a subscriber never sees a journey step back.
type streamPublisher struct {
	queue     chan []*so.Journey
	wg        sync.WaitGroup
	publish   func([]*so.Journey)
	published map[string]int // journey id → revision last published; publisher goroutine only
}

func startStreamPublisher(publish func([]*so.Journey)) *streamPublisher {
	p := &streamPublisher{queue: make(chan []*so.Journey, publishQueue), publish: publish, published: map[string]int{}}
	p.wg.Go(func() {
		for js := range p.queue {
			if fresh := p.newer(js); len(fresh) > 0 {
				p.publish(fresh)
			}
		}
	})
	return p
}

// newer keeps the journeys whose revision is newer than the last published.
func (p *streamPublisher) newer(js []*so.Journey) []*so.Journey {
	if len(p.published)+len(js) > maxTracked {
		p.published = map[string]int{}
	}
	fresh := make([]*so.Journey, 0, len(js))
	for _, j := range js {
		if j.Revision > p.published[j.ID] {
			p.published[j.ID] = j.Revision
			fresh = append(fresh, j)
		}
	}
	return fresh
}

func (p *streamPublisher) enqueue(js []*so.Journey) { p.queue <- js }

// close drains the queue and stops; nothing may be enqueued after it. By then the
// streams have ended, so draining only keeps the goroutine from leaking.
func (p *streamPublisher) close() {
	close(p.queue)
	p.wg.Wait()
}
