package journey

import (
	"cmp"
	"context"
	"maps"
	"slices"

	so "github.com/smartonboarding/smartonboard"
)

// NoticeUnknownFlow marks a step event for a flow that does not exist or was never
// published: the event is kept, but there is no journey to move.
const NoticeUnknownFlow = "unknown_flow"

// Apply moves journeys with the inserted events inside the ingestion
// transaction. It may run again if the store retries the transaction, so it keeps
// no state outside the returned Outcome.
func (e *Engine) Apply(ctx context.Context, tx so.IngestTx, inserted []*so.Event) (*so.Outcome, error) {
	out := &so.Outcome{Notices: map[*so.Event]*so.Notice{}, Started: map[string]int{}, Completed: map[string]int{},
		Seen: map[so.UserRef]so.Sighting{}}
	for _, projectID := range projects(inserted) {
		if err := e.applyProject(ctx, tx, projectID, inserted, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// projects lists the events' projects in sorted order, so every transaction
// takes its locks project by project in the same order.
func projects(events []*so.Event) []string {
	var ids []string
	for _, ev := range events {
		if !slices.Contains(ids, ev.ProjectID) {
			ids = append(ids, ev.ProjectID)
		}
	}
	slices.Sort(ids)
	return ids
}

// projectBatch is one project's events and the journeys they touch.
type projectBatch struct {
	projectID string
	events    []*so.Event
	journeys  map[string][]*so.Journey // by user id
	changed   map[*so.Journey]bool
}

func (e *Engine) applyProject(ctx context.Context, tx so.IngestTx, projectID string, all []*so.Event, out *so.Outcome) error {
	b := &projectBatch{projectID: projectID, journeys: map[string][]*so.Journey{}, changed: map[*so.Journey]bool{}}
	needJourneys := map[string]bool{}
	for _, ev := range all {
		if ev.ProjectID != projectID {
			continue
		}
		b.events = append(b.events, ev)
		if touchesJourneys(ev) {
			needJourneys[ev.UserID] = true
		}
	}
	seen := so.Sightings(b.events)
	for user, s := range seen {
		k := so.UserRef{ProjectID: projectID, UserID: user}
		if e.seen.covers(k, s) {
			delete(seen, user)
		} else {
			out.Seen[k] = s
		}
	}
	if err := tx.TouchUsers(ctx, projectID, seen); err != nil {
		return err
	}
	if len(needJourneys) == 0 {
		return nil
	}
	journeyUsers := slices.Sorted(maps.Keys(needJourneys)) // lock in one order everywhere
	locked, err := tx.LockJourneys(ctx, projectID, journeyUsers)
	if err != nil {
		return err
	}
	for _, j := range locked {
		b.journeys[j.UserID] = append(b.journeys[j.UserID], j)
	}
	if err := e.startMissing(ctx, tx, b, out); err != nil {
		return err
	}
	for _, ev := range b.events {
		if err := e.applyEvent(ctx, b, ev, out); err != nil {
			return err
		}
	}
	return b.save(ctx, tx, out)
}

// startMissing starts, in (user, flow) order, the journeys that step events of
// the batch need and that do not exist yet. Inserting in one order everywhere
// keeps concurrent transactions from deadlocking on each other's new rows.
func (e *Engine) startMissing(ctx context.Context, tx so.IngestTx, b *projectBatch, out *so.Outcome) error {
	type pair struct{ user, flow string }
	first := map[pair]*so.Event{}
	for _, ev := range b.events {
		p := pair{ev.UserID, ev.Flow}
		if ev.Flow != "" && startsJourney(ev.Type) && first[p] == nil && b.find(ev.UserID, ev.Flow) == nil {
			first[p] = ev
		}
	}
	pairs := slices.SortedFunc(maps.Keys(first), func(a, c pair) int {
		return cmp.Or(cmp.Compare(a.user, c.user), cmp.Compare(a.flow, c.flow))
	})
	var fresh []*so.Journey
	var starters []*so.Event // the event that started each fresh journey
	for _, p := range pairs {
		v, err := e.latest(ctx, b.projectID, p.flow)
		if c := so.ErrorCode(err); c == so.ENOTFOUND || c == so.ECONFLICT {
			continue // the event gets an unknown_flow notice
		} else if err != nil {
			return err
		}
		ev := first[p]
		j := so.NewJourney(b.projectID, p.user, v, ev.ActiveAt())
		j.LastEventAt = ev.Timestamp // a backfilled event must not make the journey look idle
		fresh, starters = append(fresh, j), append(starters, ev)
	}
	if len(fresh) == 0 {
		return nil
	}
	stored, err := tx.InsertJourneys(ctx, fresh)
	if err != nil {
		return err
	}
	for i, j := range stored {
		switch {
		case j.ID != fresh[i].ID: // another transaction started it first
		case starters[i].Historic():
			out.Backfilled.Started++
		default:
			out.Started[b.projectID]++
		}
		b.journeys[j.UserID] = append(b.journeys[j.UserID], j)
		b.changed[j] = true
	}
	return nil
}

// find returns the batch's journey of the user in the flow, or nil.
func (b *projectBatch) find(userID, flowKey string) *so.Journey {
	for _, j := range b.journeys[userID] {
		if j.FlowKey == flowKey {
			return j
		}
	}
	return nil
}

func touchesJourneys(ev *so.Event) bool {
	return ev.Flow != "" || ev.Type == so.EventSessionStarted || ev.Type == so.EventSessionEnded
}

// applyEvent moves the journeys one event concerns, starting one for a step event
// in a published flow the user has not started yet.
func (e *Engine) applyEvent(ctx context.Context, b *projectBatch, ev *so.Event, out *so.Outcome) error {
	if !touchesJourneys(ev) {
		return nil
	}
	targets := b.journeys[ev.UserID]
	if ev.Flow != "" {
		j := b.find(ev.UserID, ev.Flow)
		if j == nil {
			if startsJourney(ev.Type) { // startMissing found no published flow
				out.Notices[ev] = &so.Notice{Code: NoticeUnknownFlow, Message: "no published flow " + ev.Flow + "; the event is kept without a journey"}
			}
			return nil
		}
		targets = []*so.Journey{j}
	}
	for _, j := range targets {
		v, err := e.Version(ctx, b.projectID, j.FlowID, j.FlowVersion)
		if err != nil {
			return err
		}
		wasDone := j.Status == so.JourneyCompleted
		changed, notice := j.Apply(v, ev)
		if !wasDone && j.Status == so.JourneyCompleted {
			if ev.Historic() {
				out.Backfilled.Completed++
			} else {
				out.Completed[b.projectID]++
			}
		}
		if changed {
			b.changed[j] = true
		}
		if notice != nil {
			out.Notices[ev] = notice
		}
	}
	return nil
}

// save writes the changed journeys back in a stable order.
func (b *projectBatch) save(ctx context.Context, tx so.IngestTx, out *so.Outcome) error {
	var changed []*so.Journey
	for j := range b.changed {
		changed = append(changed, j)
	}
	slices.SortFunc(changed, func(a, c *so.Journey) int {
		if a.ID < c.ID {
			return -1
		}
		return 1
	})
	if len(changed) == 0 {
		return nil
	}
	out.Changed = append(out.Changed, changed...)
	return tx.SaveJourneys(ctx, changed)
}

// startsJourney tells the events that start a journey the user has not started.
func startsJourney(t so.EventType) bool {
	return t == so.EventStepStarted || t == so.EventStepViewed || t == so.EventStepCompleted || t == so.EventStepSkipped
}

// Committed tells the engine that an outcome's transaction committed, so the
// sightings it wrote need not be written again for a while.
func (e *Engine) Committed(o *so.Outcome) {
	if o != nil {
		e.seen.remember(o.Seen)
	}
}
