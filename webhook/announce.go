package webhook

import (
	"context"
	"maps"
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Announcement is one event to tell the subscribed webhooks of.
type Announcement struct {
	ProjectID string    // whose webhooks hear of it
	Type      string    // one of Types
	Subject   string    // what it is about (a journey, detection or intervention id): one delivery per webhook and subject
	At        time.Time // when it happened
	Data      any       // the payload's data object
}

// Announce enqueues a delivery of each announcement to every webhook of its
// project subscribed to its type, in the caller's transaction, project by
// project in id order. Delivery ids derive from the webhook, the type and the
// subject, so announcing again (a replay) enqueues nothing new.
func Announce(ctx context.Context, q so.Enqueuer, as []Announcement) error {
	byProject := map[string][]Announcement{}
	for _, a := range as {
		byProject[a.ProjectID] = append(byProject[a.ProjectID], a)
	}
	for _, p := range slices.Sorted(maps.Keys(byProject)) {
		if err := announce(ctx, q, p, byProject[p]); err != nil {
			return err
		}
	}
	return nil
}

// announce enqueues one project's announcements.
func announce(ctx context.Context, q so.Enqueuer, projectID string, as []Announcement) error {
	hooks, err := q.Webhooks(ctx, projectID)
	if err != nil || len(hooks) == 0 {
		return err
	}
	var ds []*so.Delivery
	for _, a := range as {
		for _, h := range hooks {
			if !h.Subscribed(a.Type) {
				continue
			}
			body, err := NewPayload(a.Type, a.At, a.Data)
			if err != nil {
				return err
			}
			ds = append(ds, &so.Delivery{ID: "msg_" + so.DerivedID(a.At, h.ID, a.Type, a.Subject), WebhookID: h.ID,
				ProjectID: projectID, Type: a.Type, Payload: body, CreatedAt: so.Now(), Status: so.DeliveryPending})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	_, err = q.EnqueueDeliveries(ctx, ds)
	return err
}
