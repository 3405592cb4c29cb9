package stream

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reason tells a client why the server ended its stream, in the final
// dropped event, and so whether it should reconnect.
type Reason string

// The reasons of API.md's dropped event.
const (
	ReasonSlowConsumer Reason = "slow_consumer" // fell Buffer messages behind: reconnect and resume
	ReasonReplaced     Reason = "replaced"      // a newer stream of the same user took its place: do not reconnect
	ReasonLifetime     Reason = "lifetime"      // lived ServeOptions.MaxLifetime: reconnect, perhaps elsewhere
	ReasonRevoked      Reason = "revoked"       // no longer authorized: do not reconnect
	ReasonShutdown     Reason = "shutdown"      // the instance is stopping: reconnect to another
)

// Reconnect tells whether a client ended for this reason should reconnect:
// not after revoked (it would be refused) nor replaced (it would replace in turn).
func (r Reason) Reconnect() bool { return r != ReasonReplaced && r != ReasonRevoked }

// Subscription is one reader of a topic: a replay snapshot plus a live channel.
type Subscription struct {
	b         *Broker
	topic     string
	project   string    // the topic's project, whose sequence and limits apply
	admission Admission // as admitted, so removal undoes its counts
	head      uint64    // the project's sequence at Subscribe: live messages are newer
	opened    uint64    // order of Subscribe calls, to find a topic's oldest
	resumed   bool
	replay    []Message
	gap       bool
	ch        chan Message
	dropped   chan struct{}
	reason    Reason // set before dropped is closed
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

// Dropped is closed when the broker ends the subscription (it fell Buffer
// messages behind, a newer one replaced it, or the broker closed), so the
// stream can tell its client why; Close by its owner does not close it.
func (s *Subscription) Dropped() <-chan struct{} { return s.dropped }

// Reason is why the broker ended the subscription; it is set once Dropped is closed.
func (s *Subscription) Reason() Reason {
	if !s.isDropped() {
		return ""
	}
	return s.reason
}

// Close unsubscribes; it is idempotent so deferred and explicit calls can coexist.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.remove(s, "")
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

// sequence issues the message IDs of one project's topics.
type sequence struct {
	last      uint64 // last assigned ID
	forgotten uint64 // highest ID trimmed from a topic of the project that was since deleted
	topics    int    // live topics of the project: a sequence without any may be forgotten
}

// retainedOverhead is what one retained message costs beyond its data and its
// topic's name: the Message, its entry in the eviction order, and, for a topic
// holding just that message, the topic and its map entry. Counting it bounds
// many tiny messages on invented topics as well as a few big ones;
// TestRetainedOverheadCovered measures it.
const retainedOverhead = 320

// topic holds one topic's replay buffer and subscribers; the broker lock guards it.
type topic struct {
	retained []Message // ascending IDs
	trimmed  uint64    // highest ID no longer retained: resuming below it skips messages
	subs     map[*Subscription]struct{}
	seq      *sequence // the project's, shared by its topics
	nameCost int       // bytes of the topic's name, counted with each retained message
}

// cost is what retaining m counts against MaxRetainedBytes.
func (t *topic) cost(m Message) int { return len(m.Data) + t.nameCost + retainedOverhead }

// retain keeps m for replay and trims, keeping the buffer bounded on every
// publish; it returns the cost trimmed to make room.
func (t *topic) retain(m Message, now time.Time, o Options) int {
	t.retained = append(t.retained, m)
	return t.trim(now, o)
}

// dropFirst forgets the oldest retained message and returns its cost.
func (t *topic) dropFirst() int {
	m := t.retained[0]
	t.trimmed = max(t.trimmed, m.ID)
	t.retained[0] = Message{}
	t.retained = t.retained[1:]
	if len(t.retained) == 0 {
		t.retained = nil
	}
	return t.cost(m)
}

// trim drops messages older than Retain or beyond MaxRetained, remembering the
// newest dropped ID so later resumes from before it report a gap, and returns
// the cost it dropped.
func (t *topic) trim(now time.Time, o Options) int {
	cutoff := now.Add(-o.Retain)
	n, dropped := 0, 0
	for n < len(t.retained) && (len(t.retained)-n > o.MaxRetained || !t.retained[n].At.After(cutoff)) {
		dropped += t.cost(t.retained[n])
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
// messages after it are gone; seq bounds the IDs the topic's project has issued.
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
