package behaviour

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/webhook"
)

// Consumer is the behaviour engine as a durable pipeline consumer: per batch
// of committed events it loads each user's State, observes the events in
// commit order, and stores detections, interventions and engagement with the
// states and the cursor in one transaction.
type Consumer struct {
	// Settings returns a project's resolved behaviour settings.
	Settings func(ctx context.Context, projectID string) (so.Behaviour, error)
	// Version returns a published flow version (the journey engine's cache).
	Version func(ctx context.Context, projectID, flowID string, version int) (*so.FlowVersion, error)
	// Content returns a content item, or an error when it is gone.
	Content func(ctx context.Context, projectID, id string) (*so.ContentItem, error)
	// Simpler returns the published variant one complexity level below an item, or nil.
	Simpler func(ctx context.Context, projectID, id string) (*so.ContentItem, error)
	// Render turns content markdown into sanitized HTML.
	Render func(markdown string) (string, error)
	// Publish pushes an event to one user's stream.
	Publish func(projectID, userID, event string, data any)
	// Policy picks interventions (default Rules).
	Policy Policy
	// Fresh is how recent an event must be (by received_at) for its triggers to
	// send help; older ones (a backlog after an outage), and events that
	// happened over so.PastEvent before they arrived (imported history), are
	// still detected and scored, but nobody is interrupted for a past struggle.
	Fresh time.Duration
	// Now is the clock for freshness (default time.Now).
	Now func() time.Time
	// Predict, when set, is the success model's chance that the user's
	// journey completes as of at (false: no model; the heuristic answers).
	Predict func(ctx context.Context, projectID, userID, journeyID string, at time.Time) (float64, bool)

	// stateless are users found to have no state, valid while no other
	// instance runs the consumer (only the consumer writes states); it spares
	// the state lookup of users who click outside any journey.
	stateless map[so.UserRef]struct{}
}

// maxStateless bounds the users remembered as stateless; when full it starts over.
const maxStateless = 200_000

// Name implements pipeline.Consumer.
func (c *Consumer) Name() string { return "behaviour" }

// batch is one Consume call's work.
type batch struct {
	states        map[so.UserRef]*State
	journeys      map[so.UserRef][]*so.Journey
	detections    []*so.Detection
	interventions []*so.Intervention
	points        map[pointKey]so.EngagementPoint
	pushes        []push
	announce      []webhook.Announcement
}

type pointKey struct {
	journey string
	minute  int64
}

type push struct {
	ref   so.UserRef
	event string
	data  any
	id    string // an intervention's id: pushed only once it is stored as new
}

// Consume implements pipeline.Consumer.
func (c *Consumer) Consume(ctx context.Context, tx so.ConsumerTx, events []*so.Event) (func(), error) {
	if !tx.Continued() || len(c.stateless) > maxStateless {
		c.stateless = map[so.UserRef]struct{}{} // another instance may have written states
	}
	b := &batch{states: map[so.UserRef]*State{}, journeys: map[so.UserRef][]*so.Journey{}, points: map[pointKey]so.EngagementPoint{}}
	byProject := map[string][]*so.Event{}
	var projects []string
	for _, ev := range events {
		if so.ServerEvent(ev.Type) {
			continue // logged by the server (abandonment), not behaviour
		}
		if _, ok := byProject[ev.ProjectID]; !ok {
			projects = append(projects, ev.ProjectID)
		}
		byProject[ev.ProjectID] = append(byProject[ev.ProjectID], ev)
	}
	for _, p := range projects {
		if err := c.project(ctx, tx, b, p, byProject[p]); err != nil {
			return nil, err
		}
	}
	return c.store(ctx, tx, b)
}

// project observes one project's events. Only users with a state or an
// event in a flow are tracked: behaviour is scored within journeys, so the
// clicks of a user who never entered one cost one lookup and no write.
func (c *Consumer) project(ctx context.Context, tx so.ConsumerTx, b *batch, projectID string, events []*so.Event) error {
	cfg, err := c.Settings(ctx, projectID)
	if so.ErrorCode(err) == so.ENOTFOUND {
		return nil // the project was deleted, and its events with it
	} else if err != nil {
		return err
	}
	var users []string
	inFlow := map[string]bool{} // every user of the batch: in a flow or not
	for _, ev := range events {
		if _, seen := inFlow[ev.UserID]; !seen {
			users = append(users, ev.UserID)
		}
		inFlow[ev.UserID] = inFlow[ev.UserID] || ev.Flow != ""
	}
	users = slices.DeleteFunc(users, func(u string) bool {
		_, known := c.stateless[so.UserRef{ProjectID: projectID, UserID: u}]
		return known && !inFlow[u]
	})
	raw, err := tx.LoadBehaviour(ctx, projectID, users)
	if err != nil {
		return err
	}
	tracked := slices.DeleteFunc(users, func(u string) bool {
		ref := so.UserRef{ProjectID: projectID, UserID: u}
		if _, ok := raw[u]; ok || inFlow[u] {
			delete(c.stateless, ref) // it has a state now, or will once this commits
			return false
		}
		c.stateless[ref] = struct{}{}
		return true
	})
	if len(tracked) == 0 {
		return nil
	}
	if err := c.load(ctx, tx, b, projectID, tracked, raw); err != nil {
		return err
	}
	for _, ev := range events {
		if _, ok := b.states[so.UserRef{ProjectID: projectID, UserID: ev.UserID}]; !ok {
			continue
		}
		if err := c.observe(ctx, tx, b, ev, cfg); err != nil {
			return err
		}
	}
	return nil
}

// load decodes the tracked users' states and reads their journeys.
func (c *Consumer) load(ctx context.Context, tx so.ConsumerTx, b *batch, projectID string, users []string, raw map[string]json.RawMessage) error {
	js, err := tx.Journeys(ctx, projectID, users)
	if err != nil {
		return err
	}
	for _, u := range users {
		ref := so.UserRef{ProjectID: projectID, UserID: u}
		s := &State{}
		if doc, ok := raw[u]; ok {
			if err := json.Unmarshal(doc, s); err != nil {
				return fmt.Errorf("behaviour state of user %s: %w", u, err)
			}
		}
		b.states[ref], b.journeys[ref] = s, js[u]
	}
	return nil
}

// observe runs one event through the user's state and gathers its results.
func (c *Consumer) observe(ctx context.Context, tx so.ConsumerTx, b *batch, ev *so.Event, cfg so.Behaviour) error {
	ref := so.UserRef{ProjectID: ev.ProjectID, UserID: ev.UserID}
	s := b.states[ref]
	flow := ev.Flow
	if flow == "" {
		flow = s.CurrentFlow()
	}
	j, bj, err := c.journey(ctx, b.journeys[ref], flow)
	if err != nil {
		return err
	}
	if c.Predict != nil {
		s.score = func(journeyID string, at time.Time) (float64, bool) {
			return c.Predict(ctx, ev.ProjectID, ev.UserID, journeyID, at)
		}
	}
	obs := s.Observe(ev, bj, cfg)
	b.detections = append(b.detections, obs.Detections...)
	if sc := obs.Engagement; sc != nil {
		c.engagement(b, ref, sc)
	}
	if o := obs.Outcome; o != nil {
		if _, err := tx.RecordOutcome(ctx, ev.ProjectID, ev.UserID, o.InterventionID, o.Outcome, o.At); err != nil && so.ErrorCode(err) != so.ENOTFOUND {
			return err
		}
	}
	if j != nil && j.Status == so.JourneyCompleted && (ev.Type == so.EventStepCompleted || ev.Type == so.EventStepSkipped) {
		b.announce = append(b.announce, webhook.Announcement{ProjectID: ev.ProjectID, Type: webhook.JourneyCompleted,
			Subject: j.ID, At: completedAt(j, ev), Data: j})
	}
	if ev.Type == so.EventStepCompleted {
		window := time.Duration(cfg.OutcomeWindowMinutes * float64(time.Minute))
		if err := tx.StepCompleted(ctx, ev.ProjectID, ev.UserID, ev.Flow, ev.Step, ev.Timestamp, window); err != nil {
			return err
		}
	}
	if len(obs.Triggers) == 0 || bj == nil || !c.fresh(ev) {
		return nil
	}
	for _, t := range obs.Triggers {
		if err := c.intervene(ctx, b, ref, s, j, bj, t, cfg); err != nil {
			return err
		}
	}
	return nil
}

func (c *Consumer) fresh(ev *so.Event) bool {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return c.Fresh <= 0 || (now().Sub(ev.ReceivedAt) <= c.Fresh && !ev.Historic())
}

// journey finds the user's journey in the flow and describes its steps.
func (c *Consumer) journey(ctx context.Context, js []*so.Journey, flow string) (*so.Journey, *Journey, error) {
	if flow == "" {
		return nil, nil, nil
	}
	for _, j := range js {
		if j.FlowKey != flow {
			continue
		}
		v, err := c.Version(ctx, j.ProjectID, j.FlowID, j.FlowVersion)
		if err != nil {
			return nil, nil, err
		}
		bj := &Journey{ID: j.ID, Flow: j.FlowKey}
		for _, st := range v.Steps {
			bj.Steps = append(bj.Steps, stepInfo(st))
			if s := j.Step(st.Key); s != nil && (s.Status == so.StepCompleted || s.Status == so.StepSkipped) {
				bj.Completed++
			}
		}
		return j, bj, nil
	}
	return nil, nil, nil
}

// stepInfo is what the rules and the policy need of a step.
func stepInfo(st so.Step) StepInfo {
	guide := st.ContentItemID != "" && (st.Kind == so.StepTour || st.Kind == so.StepChecklist || st.Kind == so.StepTask)
	return StepInfo{Key: st.Key, EstimatedSeconds: st.EstimatedSeconds, ContentItemID: st.ContentItemID,
		GuideAvailable: guide, HelpContentIDs: st.HelpContentIDs}
}

// engagement keeps the minute's last point and pushes moved scores.
func (c *Consumer) engagement(b *batch, ref so.UserRef, sc *Scores) {
	minute := sc.At.Truncate(time.Minute)
	b.points[pointKey{sc.JourneyID, minute.UnixMilli()}] = so.EngagementPoint{ProjectID: ref.ProjectID, JourneyID: sc.JourneyID,
		Minute: minute, Score: round1(sc.Journey), Level: sc.Level, SessionID: sc.SessionID, SessionScore: round1(sc.Session)}
	if sc.Moved {
		b.pushes = append(b.pushes, push{ref: ref, event: "engagement", data: engagementMessage{JourneyID: sc.JourneyID,
			Score: round1(sc.Journey), Level: sc.Level, SessionID: sc.SessionID, SessionScore: round1(sc.Session)}})
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// engagementMessage is the stream's engagement event.
type engagementMessage struct {
	JourneyID    string  `json:"journey_id"`
	Score        float64 `json:"score"`
	Level        string  `json:"level"`
	SessionID    string  `json:"session_id"`
	SessionScore float64 `json:"session_score"`
}

// interventionMessage is the stream's intervention event.
type interventionMessage struct {
	ID      string              `json:"id"`
	Kind    so.InterventionKind `json:"kind"`
	Flow    string              `json:"flow"`
	Step    string              `json:"step"`
	Title   string              `json:"title"`
	Body    string              `json:"body_html"`
	Actions []so.Action         `json:"actions"`
}

// intervene picks, caps and records an intervention for a trigger.
func (c *Consumer) intervene(ctx context.Context, b *batch, ref so.UserRef, s *State, j *so.Journey, bj *Journey, t Trigger, cfg so.Behaviour) error {
	found := bj.step(t.Step)
	if found == nil {
		return nil
	}
	st := *found
	if c.Simpler != nil && st.ContentItemID != "" { // looked up per trigger, not per event
		simpler, err := c.Simpler(ctx, ref.ProjectID, st.ContentItemID)
		if err != nil && so.ErrorCode(err) != so.ENOTFOUND {
			return err
		}
		if simpler != nil {
			st.SimplerContentID = simpler.ID
		}
	}
	policy := c.Policy
	if policy == nil {
		policy = Rules{}
	}
	kind, _, ok := policy.Choose(t, OptionsFor(st), s.History(t.SessionID))
	if !ok {
		return nil
	}
	if allowed, _ := s.Allow(t, kind, cfg); !allowed {
		return nil
	}
	i, err := c.build(ctx, ref, j, st, t, kind)
	if err != nil {
		return err
	}
	i.HeldOut = InHoldout(ref.ProjectID, ref.UserID, cfg.HoldoutPercent)
	s.Record(Sent{ID: i.ID, Kind: kind, Flow: t.Flow, Step: t.Step, SessionID: t.SessionID, At: t.At, HeldOut: i.HeldOut})
	b.interventions = append(b.interventions, i)
	if !i.HeldOut {
		b.announce = append(b.announce, webhook.Announcement{ProjectID: ref.ProjectID, Type: webhook.InterventionTriggered,
			Subject: i.ID, At: i.TriggeredAt, Data: i})
		if i.Kind == so.InterventionHuman {
			b.announce = append(b.announce, webhook.Announcement{ProjectID: ref.ProjectID, Type: webhook.InterventionEscalated,
				Subject: i.ID, At: i.TriggeredAt, Data: i})
		}
		b.pushes = append(b.pushes, push{ref: ref, event: "intervention", id: i.ID, data: interventionMessage{ID: i.ID,
			Kind: i.Kind, Flow: i.Flow, Step: i.Step, Title: i.Title, Body: i.Body, Actions: i.Actions}})
	}
	return nil
}

// build makes the intervention record with its content.
func (c *Consumer) build(ctx context.Context, ref so.UserRef, j *so.Journey, st StepInfo, t Trigger, kind so.InterventionKind) (*so.Intervention, error) {
	cause := t.DetectionID
	if cause == "" {
		cause = t.Source + "/" + t.JourneyID + "/" + t.Step + "/" + t.SessionID
	}
	i := &so.Intervention{ID: so.DerivedID(t.At, ref.ProjectID, ref.UserID, cause, string(kind)), ProjectID: ref.ProjectID,
		UserID: ref.UserID, JourneyID: j.ID, Flow: t.Flow, Step: t.Step, SessionID: t.SessionID, Kind: kind,
		Trigger: t.Source, Rule: t.Rule, Predictor: t.Predictor, Score: t.Score, DetectionID: t.DetectionID,
		TriggeredAt: t.At, Actions: actionsFor(kind)}
	item, err := c.contentFor(ctx, ref.ProjectID, st, kind)
	if err != nil {
		return nil, err
	}
	if item == nil {
		i.Title, i.Body = humanOffer()
		if kind != so.InterventionHuman { // the content went away: offer a person instead
			i.Kind, i.Actions = so.InterventionHuman, actionsFor(so.InterventionHuman)
		}
		return i, nil
	}
	i.ContentID, i.Title = item.ID, item.Title
	if i.Body, err = c.render(item.Body); err != nil {
		return nil, err
	}
	return i, nil
}

// contentFor finds the content an intervention of the kind shows, or nil.
func (c *Consumer) contentFor(ctx context.Context, projectID string, st StepInfo, kind so.InterventionKind) (*so.ContentItem, error) {
	var item *so.ContentItem
	var err error
	switch kind {
	case so.InterventionTip:
		if len(st.HelpContentIDs) > 0 {
			item, err = c.Content(ctx, projectID, st.HelpContentIDs[0])
		}
	case so.InterventionGuide:
		item, err = c.Content(ctx, projectID, st.ContentItemID)
	case so.InterventionSimplify:
		if st.SimplerContentID != "" {
			item, err = c.Content(ctx, projectID, st.SimplerContentID)
		}
	}
	if so.ErrorCode(err) == so.ENOTFOUND {
		return nil, nil
	}
	return item, err
}

func (c *Consumer) render(markdown string) (string, error) {
	if c.Render != nil {
		return c.Render(markdown)
	}
	return "<p>" + html.EscapeString(markdown) + "</p>", nil
}

// humanOffer is the text of an offer of human help.
func humanOffer() (string, string) {
	return "Need a hand?", "<p>This step seems to be getting in the way. Someone from our team can walk you through it.</p>"
}

// actionsFor lists the buttons of an intervention of the kind.
func actionsFor(kind so.InterventionKind) []so.Action {
	if kind == so.InterventionHuman {
		return []so.Action{{ID: "accept", Label: "Talk to someone"}, {ID: "dismiss", Label: "No thanks"}}
	}
	return []so.Action{{ID: "accept", Label: "Show me"}, {ID: "dismiss", Label: "Dismiss"}}
}

// store writes the batch's results and returns the pushes of what is new.
func (c *Consumer) store(ctx context.Context, tx so.ConsumerTx, b *batch) (func(), error) {
	fresh, err := tx.InsertDetections(ctx, b.detections)
	if err != nil {
		return nil, err
	}
	for k, d := range b.detections {
		if fresh[k] {
			b.announce = append(b.announce, webhook.Announcement{ProjectID: d.ProjectID, Type: webhook.StruggleDetected,
				Subject: d.ID, At: d.DetectedAt, Data: d})
		}
	}
	fresh, err = tx.InsertInterventions(ctx, b.interventions)
	if err != nil {
		return nil, err
	}
	stored := map[string]bool{}
	for k, i := range b.interventions {
		stored[i.ID] = fresh[k]
	}
	if err := tx.SaveEngagement(ctx, sortedPoints(b.points)); err != nil {
		return nil, err
	}
	if err := c.saveStates(ctx, tx, b); err != nil {
		return nil, err
	}
	if err := webhook.Announce(ctx, tx, b.announce); err != nil {
		return nil, err
	}
	return func() {
		for _, p := range b.pushes {
			if p.id == "" || stored[p.id] {
				c.Publish(p.ref.ProjectID, p.ref.UserID, p.event, p.data)
			}
		}
	}, nil
}

func sortedPoints(m map[pointKey]so.EngagementPoint) []so.EngagementPoint {
	out := make([]so.EngagementPoint, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b so.EngagementPoint) int {
		if a.JourneyID != b.JourneyID {
			return strings.Compare(a.JourneyID, b.JourneyID)
		}
		return a.Minute.Compare(b.Minute)
	})
	return out
}

func (c *Consumer) saveStates(ctx context.Context, tx so.ConsumerTx, b *batch) error {
	states := make([]so.UserBehaviour, 0, len(b.states))
	for ref, s := range b.states {
		doc, err := json.Marshal(s)
		if err != nil {
			return err
		}
		states = append(states, so.UserBehaviour{ProjectID: ref.ProjectID, UserID: ref.UserID, State: doc})
	}
	slices.SortFunc(states, func(a, b so.UserBehaviour) int {
		return strings.Compare(a.ProjectID+"\x00"+a.UserID, b.ProjectID+"\x00"+b.UserID)
	})
	return tx.SaveBehaviour(ctx, states)
}

// completedAt is when the journey completed, or the completing event's time.
func completedAt(j *so.Journey, ev *so.Event) time.Time {
	if j.CompletedAt != nil {
		return *j.CompletedAt
	}
	return ev.Timestamp
}
