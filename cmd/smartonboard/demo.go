package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/demo"
	"github.com/smartonboarding/smartonboard/simulate"
	"github.com/smartonboarding/smartonboard/web"
)

// demoOn tells whether this start serves the demo: in development only,
// unless SMARTONBOARD_DEMO (or --demo) says off.
func (m *Main) demoOn() bool {
	return m.Config.Demo == "on" && m.Config.Env == config.EnvDevelopment
}

// startDemo seeds the demo project on first start and makes the demo
// pages' handler with a key of this start.
func (m *Main) startDemo(ctx context.Context) error {
	if !m.demoOn() {
		return nil
	}
	created, err := demo.Ensure(ctx, demo.Stores{Projects: m.db, Content: &so.ContentService{Store: m.db, Usage: m.db},
		Flows: &so.FlowService{Store: m.db, Content: m.db, OnPublish: m.engine.Published}})
	m.demoCreated = created
	var key string
	if err == nil {
		err = m.shareDemo(ctx)
	}
	if err == nil {
		key, err = demo.PageKey(ctx, m.db)
	}
	if err != nil {
		return fmt.Errorf("seed the demo (set SMARTONBOARD_DEMO=off to start without it): %s", describe(err))
	}
	m.demo = web.Demo(key)
	return nil
}

// shareDemo makes the default project's owners owners of the demo project
// too, so that the dashboard shows the demo's users to whoever signs in
// (development only, as the demo is); a membership already there is kept.
func (m *Main) shareDemo(ctx context.Context) error {
	owners, err := m.db.ListMembers(ctx, so.DefaultProjectID)
	if err != nil {
		return err
	}
	have, err := m.db.ListMembers(ctx, demo.ProjectID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if o.Role != so.RoleOwner || slices.ContainsFunc(have, func(h *so.Member) bool { return h.AccountID == o.AccountID }) {
			continue
		}
		if err := m.db.PutMember(ctx, &so.Member{ProjectID: demo.ProjectID, AccountID: o.AccountID, Role: so.RoleOwner, CreatedAt: so.Now()}); err != nil {
			return err
		}
	}
	return nil
}

// seedDemoHistory gives a new demo project a past: simulated users of its
// flow over the last four weeks, stored as an import stores them (their
// events arrive too late to trigger help), then its first model trained, so
// the demo's funnel, users and predictions have something real to show.
func (m *Main) seedDemoHistory(ctx context.Context, n int) error {
	started := time.Now()
	m.Logger.Info("seeding the demo's history in the background", "users", n)
	h := &historySeed{m: m, identities: &so.UserService{Store: m.db}, received: so.Now()}
	for _, sim := range demo.History(n, h.received) {
		if err := h.simulate(ctx, sim); err != nil {
			return err
		}
	}
	if err := h.submit(ctx); err != nil {
		return err
	}
	if err := m.waitForConsumers(ctx); err != nil {
		return err
	}
	// Idle journeys are abandoned, and the alert rules and insights read what
	// was just stored, now rather than at their next periodic runs, so that
	// the demo opens with them.
	for _, run := range []func(context.Context) error{m.abandonIdle, m.evaluateAlerts, m.refreshInsights} {
		if err := run(ctx); err != nil {
			return err
		}
	}
	job, err := m.db.EnqueueTraining(ctx, demo.ProjectID)
	if err != nil {
		return fmt.Errorf("queue the demo's first training: %w", err)
	}
	m.Logger.Info("seeded the demo's history; its first model is training", "users", n, "events", h.stored,
		"took", time.Since(started).Round(time.Millisecond), "job", job.ID)
	return nil
}

// historySeed identifies simulated users and batches their events into the ingester.
type historySeed struct {
	m          *Main
	identities *so.UserService
	received   time.Time
	batch      []*so.Event
	stored     int
}

// simulate stores one simulation's users: their traits, then their events.
func (h *historySeed) simulate(ctx context.Context, sim simulate.Options) error {
	users, err := simulate.Stream(sim)
	if err != nil {
		return err
	}
	for u := range users {
		traits, err := json.Marshal(u.Traits)
		if err == nil {
			_, err = h.identities.Identify(ctx, demo.ProjectID, so.IdentifyInput{UserID: u.ID, Traits: traits})
		}
		if err != nil {
			return fmt.Errorf("identify %s: %w", u.ID, err)
		}
		if err := h.add(ctx, u.Events); err != nil {
			return err
		}
	}
	return nil
}

// add queues one user's events up to an hour ago: later ones would be live
// activity (counted, helped) rather than history, and the rest of a journey
// still going on has not happened yet.
func (h *historySeed) add(ctx context.Context, events []so.EventInput) error {
	cutoff := h.received.Add(-so.PastEvent - time.Minute)
	for _, in := range events {
		if ts, err := time.Parse(time.RFC3339Nano, in.Timestamp); err == nil && ts.After(cutoff) {
			return nil
		}
		e, err := so.NewEvent(demo.ProjectID, in, h.received)
		if err != nil {
			return fmt.Errorf("a simulated event: %w", err)
		}
		if h.batch = append(h.batch, e); len(h.batch) == so.MaxEventsPerBatch {
			if err := h.submit(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *historySeed) submit(ctx context.Context) error {
	if len(h.batch) == 0 {
		return nil
	}
	res, err := h.m.ingester.Submit(ctx, h.batch)
	if err != nil {
		return fmt.Errorf("store the demo's history: %w", err)
	}
	for _, ok := range res.Inserted {
		if ok {
			h.stored++
		}
	}
	h.batch = h.batch[:0]
	return nil
}

// waitForConsumers returns once every consumer has read every committed
// event, so that journeys exist before a model is trained on them.
func (m *Main) waitForConsumers(ctx context.Context) error {
	for _, c := range m.pipeline.Consumers() {
		for {
			n, err := m.pipeline.Lag(ctx, c, 1)
			if err != nil {
				return fmt.Errorf("consumer %s: %w", c, err)
			}
			if n == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}
