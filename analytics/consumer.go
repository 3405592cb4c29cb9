package analytics

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// MinutesKept is how long activity is kept per minute: enough for "active
// now" and for per-minute series of a day; older activity is kept per hour.
const MinutesKept = 48 * time.Hour

// Consumer keeps the rollups as a durable pipeline consumer. It follows the
// behaviour engine, so the struggles detected for the events it reads are
// committed. Per batch it counts activity, recomputes the fact of every
// journey of the batch's users from the journey's stored state, replaces
// each changed fact's contribution in the rollups, and writes the touched
// rows, the facts and the cursor in one transaction.
type Consumer struct {
	// Version returns a published flow version (the journey engine's cache).
	Version func(ctx context.Context, projectID, flowID string, version int) (*so.FlowVersion, error)
	// Now is the clock that decides which minutes are still kept (default time.Now).
	Now func() time.Time

	// journeyless are users found to have no journey, valid while no other
	// instance runs the consumer: a user gets a journey only through an event
	// in a flow, which this consumer then sees.
	journeyless map[so.UserRef]struct{}
	// facts are the journey facts this consumer last committed, by journey
	// id, valid on the same terms: a batch's journeys are mostly those of the
	// batches before it, so their old facts need not be read back.
	facts  map[string]*so.JourneyFact
	pruned time.Time // when old minutes were last deleted
}

// maxFacts bounds the facts remembered; when full it starts over.
const maxFacts = 100_000

// maxJourneyless bounds the users remembered as journeyless; when full it starts over.
const maxJourneyless = 200_000

// Name implements pipeline.Consumer.
func (c *Consumer) Name() string { return "analytics" }

// Derived implements pipeline.Derived: the rollups and facts are rows
// recomputed from the log, and the consumer sends nothing.
func (c *Consumer) Derived() bool { return true }

// Pace implements pipeline.Paced: reports can trail by a quarter second, so
// under load the rollups are kept in few big transactions.
func (c *Consumer) Pace() (gap time.Duration, batch int) { return 250 * time.Millisecond, 10_000 }

// After implements pipeline.Follower.
func (c *Consumer) After() string { return "behaviour" }

func (c *Consumer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Consume implements pipeline.Consumer.
func (c *Consumer) Consume(ctx context.Context, tx so.ConsumerTx, events []*so.Event) (func(), error) {
	if !tx.Continued() || len(c.journeyless) > maxJourneyless {
		c.journeyless = map[so.UserRef]struct{}{}
	}
	if !tx.Continued() || len(c.facts) > maxFacts {
		c.facts = map[string]*so.JourneyFact{}
	}
	now := c.now()
	delta := NewTally()
	var facts []*so.JourneyFact
	for _, group := range byProject(events) {
		changed, err := c.project(ctx, tx, delta, group, now)
		if err != nil {
			return nil, err
		}
		facts = append(facts, changed...)
	}
	if err := c.store(ctx, tx, delta, facts); err != nil {
		return nil, err
	}
	if now.Sub(c.pruned) >= time.Minute {
		if err := tx.PruneMinutes(ctx, now.Add(-MinutesKept).Truncate(time.Minute)); err != nil {
			return nil, err
		}
		c.pruned = now
	}
	return func() { c.remember(facts) }, nil // once committed
}

// remember keeps committed facts, so the next batch need not read them.
func (c *Consumer) remember(facts []*so.JourneyFact) {
	for _, f := range facts {
		c.facts[f.JourneyID] = f
	}
}

// byProject splits the batch by project, keeping commit order within each.
func byProject(events []*so.Event) [][]*so.Event {
	return groupBy(events, func(ev *so.Event) string { return ev.ProjectID })
}

// groupBy splits items by key, in the order each key first appears, keeping
// the order of items within a group.
func groupBy[T any](items []T, key func(T) string) [][]T {
	index := map[string]int{}
	var groups [][]T
	for _, it := range items {
		i, ok := index[key(it)]
		if !ok {
			i = len(groups)
			index[key(it)] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	return groups
}

// project counts one project's events and returns the facts that changed.
func (c *Consumer) project(ctx context.Context, tx so.ConsumerTx, delta *Tally, events []*so.Event, now time.Time) ([]*so.JourneyFact, error) {
	projectID := events[0].ProjectID
	minutesFrom := now.Add(-MinutesKept)
	var users []string
	inFlow := map[string]bool{}
	for _, ev := range events {
		delta.Event(ev, minutesFrom)
		if _, seen := inFlow[ev.UserID]; !seen {
			users = append(users, ev.UserID)
		}
		inFlow[ev.UserID] = inFlow[ev.UserID] || ev.Flow != ""
	}
	users = slices.DeleteFunc(users, func(u string) bool {
		_, known := c.journeyless[so.UserRef{ProjectID: projectID, UserID: u}]
		return known && !inFlow[u]
	})
	if len(users) == 0 {
		return nil, nil
	}
	byUser, err := tx.Journeys(ctx, projectID, users)
	if err != nil {
		return nil, err
	}
	var js []*so.Journey
	for _, u := range users {
		ref := so.UserRef{ProjectID: projectID, UserID: u}
		if len(byUser[u]) == 0 && !inFlow[u] {
			c.journeyless[ref] = struct{}{}
			continue
		}
		delete(c.journeyless, ref)
		js = append(js, byUser[u]...)
	}
	if len(js) == 0 {
		return nil, nil
	}
	return c.refresh(ctx, tx, delta, projectID, js)
}

// factSource is what recomputing facts reads: the consumer's transaction or a rebuild's.
type factSource interface {
	LoadFacts(ctx context.Context, projectID string, journeyIDs []string) (map[string]*so.JourneyFact, error)
	Struggles(ctx context.Context, projectID string, journeyIDs []string) (map[string]map[string][]string, error)
	Engagement(ctx context.Context, projectID string, journeyIDs []string) (map[string]float64, error)
	FirstSeen(ctx context.Context, projectID string, userIDs []string) (map[string]time.Time, error)
}

// refresh recomputes the journeys' facts and replaces those that changed.
func (c *Consumer) refresh(ctx context.Context, tx factSource, delta *Tally, projectID string, js []*so.Journey) ([]*so.JourneyFact, error) {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	old, err := c.oldFacts(ctx, tx, projectID, ids)
	if err != nil {
		return nil, err
	}
	struggles, err := tx.Struggles(ctx, projectID, ids)
	if err != nil {
		return nil, err
	}
	scores, err := tx.Engagement(ctx, projectID, ids)
	if err != nil {
		return nil, err
	}
	firstSeen, err := c.firstSeen(ctx, tx, projectID, js)
	if err != nil {
		return nil, err
	}
	var changed []*so.JourneyFact
	for _, j := range js {
		v, err := c.Version(ctx, projectID, j.FlowID, j.FlowVersion)
		if so.ErrorCode(err) == so.ENOTFOUND {
			continue // the flow was deleted, and its journeys with it
		} else if err != nil {
			return nil, err
		}
		var score *float64
		if s, ok := scores[j.ID]; ok {
			score = &s
		}
		f := FactOf(j, v, struggles[j.ID], score, firstSeen[j.UserID])
		if o := old[j.ID]; o == nil || !reflect.DeepEqual(o, f) {
			delta.Replace(o, f)
			changed = append(changed, f)
		}
	}
	return changed, nil
}

// oldFacts returns the stored facts of the journeys: remembered ones from
// memory, the rest read. A journey without a remembered fact may have one
// stored (by another instance, or before this process started).
func (c *Consumer) oldFacts(ctx context.Context, tx factSource, projectID string, ids []string) (map[string]*so.JourneyFact, error) {
	out := make(map[string]*so.JourneyFact, len(ids))
	var unknown []string
	for _, id := range ids {
		if f, ok := c.facts[id]; ok && f.ProjectID == projectID {
			out[id] = f
		} else {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return out, nil
	}
	read, err := tx.LoadFacts(ctx, projectID, unknown)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, read)
	if c.facts != nil { // committed already (this transaction has not written them), so they can be kept now
		maps.Copy(c.facts, read)
	}
	return out, nil
}

// firstSeen looks up when the users of completed journeys were first seen.
func (c *Consumer) firstSeen(ctx context.Context, tx factSource, projectID string, js []*so.Journey) (map[string]time.Time, error) {
	var users []string
	for _, j := range js {
		if j.Status == so.JourneyCompleted {
			users = append(users, j.UserID)
		}
	}
	if len(users) == 0 {
		return nil, nil
	}
	return tx.FirstSeen(ctx, projectID, users)
}

// store adds the delta to the stored rows it touches and writes them back
// with the changed facts.
func (c *Consumer) store(ctx context.Context, tx so.ConsumerTx, delta *Tally, facts []*so.JourneyFact) error {
	if err := addToStored(ctx, tx, delta); err != nil {
		return err
	}
	return tx.SaveFacts(ctx, facts)
}

// addToStored adds the delta to the stored rows it touches and writes them back.
func addToStored(ctx context.Context, tx so.AnalyticsTx, delta *Tally) error {
	keys := delta.Keys()
	if len(keys.Activity)+len(keys.Journeys)+len(keys.Steps) == 0 {
		return nil
	}
	stored, err := tx.LoadRollups(ctx, keys)
	if err != nil {
		return err
	}
	sum := NewTally()
	if err := sum.Load(stored); err != nil {
		return err
	}
	if err := sum.Add(delta); err != nil {
		return err
	}
	rows, err := sum.Rows()
	if err != nil {
		return err
	}
	return tx.SaveRollups(ctx, rows)
}
