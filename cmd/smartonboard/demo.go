package main

import (
	"context"
	"fmt"
	"slices"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/demo"
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
	err := demo.Ensure(ctx, demo.Stores{Projects: m.db, Content: &so.ContentService{Store: m.db, Usage: m.db},
		Flows: &so.FlowService{Store: m.db, Content: m.db, OnPublish: m.engine.Published}})
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
