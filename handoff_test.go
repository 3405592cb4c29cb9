package smartonboard_test

import (
	"fmt"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestTakeHandoffs: a follower takes whole batches that continue from its
// cursor, may enter the first one at an event it already has, stops at a
// gap, and takes no more than its limit beyond the first batch, the last
// batch in part where the places say where to stop.
func TestTakeHandoffs(t *testing.T) {
	t.Parallel()
	ev := func(ids ...string) []*so.Event {
		out := make([]*so.Event, len(ids))
		for i, id := range ids {
			out[i] = &so.Event{ID: id}
		}
		return out
	}
	at := func(seqs ...int64) []so.Cursor {
		out := make([]so.Cursor, len(seqs))
		for i, s := range seqs {
			out[i] = so.Cursor{Tx: 7, Seq: s}
		}
		return out
	}
	c := func(seq int64) so.Cursor { return so.Cursor{Tx: 7, Seq: seq} }
	ab := so.Handoff{From: c(0), To: c(2), Events: ev("a", "b"), At: at(1, 2)}
	cd := so.Handoff{From: c(2), To: c(4), Events: ev("c", "d"), At: at(3, 4)}
	ef := so.Handoff{From: c(5), To: c(6), Events: ev("e", "f")} // no places, and a gap before it
	for _, tc := range []struct {
		name   string
		handed []so.Handoff
		cursor so.Cursor
		limit  int
		want   string
		to     so.Cursor
	}{
		{"from the start", []so.Handoff{ab, cd}, c(0), 10, "[a b c d]", c(4)},
		{"within the first", []so.Handoff{ab, cd}, c(1), 10, "[b c d]", c(4)},
		{"the first behind", []so.Handoff{ab, cd}, c(2), 10, "[c d]", c(4)},
		{"the limit, in a batch", []so.Handoff{ab, cd}, c(0), 3, "[a b c]", c(3)},
		{"the limit, at a batch's end", []so.Handoff{ab, cd}, c(0), 2, "[a b]", c(2)},
		{"the limit, before a batch without places", []so.Handoff{{From: c(0), To: c(2), Events: ev("a", "b")}, cd}, c(0), 3, "[a b]", c(2)},
		{"the limit, in a batch without places", []so.Handoff{ab, {From: c(2), To: c(4), Events: ev("c", "d")}}, c(0), 3, "[a b]", c(2)},
		{"a first over the limit", []so.Handoff{ab}, c(0), 1, "[a b]", c(2)},
		{"a gap", []so.Handoff{cd, ef}, c(2), 10, "[c d]", c(4)},
		{"not an event of the batch", []so.Handoff{ab}, c(-1), 10, "[]", c(-1)},
		{"no places to enter by", []so.Handoff{ef}, so.Cursor{Tx: 7, Seq: 5}, 10, "[e f]", c(6)},
		{"inside one without places", []so.Handoff{{From: c(0), To: c(2), Events: ev("a", "b")}}, c(1), 10, "[]", c(1)},
		{"none", nil, c(0), 10, "[]", c(0)},
	} {
		events, _, to, ok := so.TakeHandoffs(tc.handed, tc.cursor, tc.limit)
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		if got := fmt.Sprint(ids); got != tc.want || to != tc.to || ok != (len(ids) > 0) {
			t.Errorf("%s: %s up to %v (ok %v), want %s up to %v", tc.name, got, to, ok, tc.want, tc.to)
		}
	}
}
