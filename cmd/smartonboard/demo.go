package main

import (
	"context"
	"fmt"

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
		key, err = demo.PageKey(ctx, m.db)
	}
	if err != nil {
		return fmt.Errorf("seed the demo (set SMARTONBOARD_DEMO=off to start without it): %s", describe(err))
	}
	m.demo = web.Demo(key)
	return nil
}
