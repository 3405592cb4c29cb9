package stream

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Subscription is one reader of a topic: a replay snapshot plus a live channel.
type Subscription struct {
	b       *Broker
	topic   string
	head    uint64 // broker sequence at Subscribe: live messages are newer
	opened  uint64 // order of Subscribe calls, to find a topic's oldest
	resumed bool
	replay  []Message
	gap     bool
	ch      chan Message
	dropped chan struct{}
}

// Replay returns the retained messages after lastEventID, oldest first, so a
// reconnecting client catches up before live messages arrive.
func (s *Subscription) Replay() []Message { return s.replay }

// Gap reports that lastEventID could not be resumed exactly (trimmed, unparsable
// or unknown), so the client must refetch state instead of trusting the replay.
func (s *Subscription) Gap() bool { return s.gap }

// C delivers messages published after Subscribe; it is closed when the
// subscription ends for any reason, so readers can range over it.
func (s *Subscription) C() <-chan Message { return s.ch }

// Dropped is closed when the subscriber fell Buffer messages behind, so the
// stream can tell its client to reconnect and resume.
func (s *Subscription) Dropped() <-chan struct{} { return s.dropped }

// Close unsubscribes; it is idempotent so deferred and explicit calls can coexist.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.remove(s, false)
}

// isDropped reports whether Dropped is closed, without blocking.
func (s *Subscription) isDropped() bool {
	select {
	case <-s.dropped:
		return true
	default:
		return false
	}
}

// topic holds one topic's replay buffer and subscribers; the broker lock guards it.
type topic struct {
	retained []Message // ascending IDs
	trimmed  uint64    // highest ID no longer retained: resuming below it skips messages
	subs     map[*Subscription]struct{}
}

// retain appends m and trims, keeping the buffer bounded on every publish.
// retain keeps m for replay and returns the data bytes trimmed to make room.
func (t *topic) retain(m Message, now time.Time, o Options) int {
	t.retained = append(t.retained, m)
	return t.trim(now, o)
}

// dropFirst forgets the oldest retained message and returns its data bytes.
func (t *topic) dropFirst() int {
	m := t.retained[0]
	t.trimmed = max(t.trimmed, m.ID)
	t.retained[0] = Message{}
	t.retained = t.retained[1:]
	if len(t.retained) == 0 {
		t.retained = nil
	}
	return len(m.Data)
}

// trim drops messages older than Retain or beyond MaxRetained, remembering the
// newest dropped ID so later resumes from before it report a gap, and returns
// the data bytes it dropped.
func (t *topic) trim(now time.Time, o Options) int {
	cutoff := now.Add(-o.Retain)
	n, dropped := 0, 0
	for n < len(t.retained) && (len(t.retained)-n > o.MaxRetained || !t.retained[n].At.After(cutoff)) {
		dropped += len(t.retained[n].Data)
		n++
	}
	if n == 0 {
		return 0
	}
	t.trimmed = max(t.trimmed, t.retained[n-1].ID)
	clear(t.retained[:n])
	t.retained = t.retained[n:]
	if len(t.retained) == 0 {
		t.retained = nil
	}
	return dropped
}

// since returns the retained messages after lastEventID and whether some
// messages after it are gone; seq bounds IDs this broker has issued.
func (t *topic) since(lastEventID string, seq uint64) ([]Message, bool) {
	if lastEventID == "" {
		return nil, false
	}
	id, err := strconv.ParseUint(strings.TrimSpace(lastEventID), 10, 64)
	if err != nil || id > seq {
		return nil, true
	}
	i := sort.Search(len(t.retained), func(i int) bool { return t.retained[i].ID > id })
	return slices.Clone(t.retained[i:]), id < t.trimmed
}

// oldest is the topic's longest-open subscription.
func (t *topic) oldest() *Subscription {
	var old *Subscription
	for s := range t.subs {
		if old == nil || s.opened < old.opened {
			old = s
		}
	}
	return old
}
