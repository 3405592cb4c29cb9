package httpapi

import (
	"context"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/stream"
)

// PublishJourneys pushes each journey's state and next step to its user's
// stream; the ingester calls it after every commit that changed journeys.
func PublishJourneys(ctx context.Context, bus stream.Bus, eng *journey.Engine, js []*so.Journey) {
	if bus == nil {
		return
	}
	for _, v := range eng.Views(ctx, js) {
		topic := stream.UserTopic(v.Journey.ProjectID, v.Journey.UserID)
		if raw, err := v.MarshalJSON(); err == nil { // compact already: no second pass
			_ = bus.Publish(topic, "journey", stream.JSON(raw))
		}
		_ = bus.Publish(topic, "next_step", api.NextStepEvent{Flow: v.Journey.FlowKey, NextStep: v.NextStep, Reason: v.Reason})
	}
}
