package analytics

import (
	"context"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/webhook"
)

// AlertSource is what evaluating alerts reads and writes.
type AlertSource interface {
	so.AnalyticsStore
	so.AlertStore
}

// EvaluateAlerts runs the alert rules over every project with recent
// journeys or rejected events, at now, and returns the alerts it opened; each opened alert is
// announced as alert.opened in the transaction that stores it.
func EvaluateAlerts(ctx context.Context, db AlertSource, now time.Time) ([]*so.Alert, error) {
	journeysFrom, _, _ := AlertSpans(now)
	projects, err := db.ActiveProjects(ctx, journeysFrom)
	if err != nil {
		return nil, err
	}
	var opened []*so.Alert
	for _, p := range projects {
		w, err := alertWindow(ctx, db, p, now)
		if err != nil {
			return opened, err
		}
		as, err := ReconcileProject(ctx, db, p, Checks(w), now)
		if err != nil {
			return opened, err
		}
		opened = append(opened, as...)
	}
	return opened, nil
}

// alertWindow loads the rollups the rules read for one project.
func alertWindow(ctx context.Context, db so.AnalyticsStore, projectID string, now time.Time) (AlertWindow, error) {
	journeysFrom, activityFrom, to := AlertSpans(now)
	q := so.RollupQuery{ProjectID: projectID, From: journeysFrom, To: to}
	journeys, err := db.JourneyRollups(ctx, q)
	if err != nil {
		return AlertWindow{}, err
	}
	steps, err := db.StepRollups(ctx, q)
	if err != nil {
		return AlertWindow{}, err
	}
	q.From = activityFrom
	hours, err := db.ActivityRollups(ctx, q, so.UnitHour)
	if err != nil {
		return AlertWindow{}, err
	}
	rejections, err := db.RejectedEvents(ctx, q)
	if err != nil {
		return AlertWindow{}, err
	}
	w := AlertWindow{Now: now, Journeys: NewTally(), Activity: NewTally(), Rejections: rejections}
	if err := w.Journeys.Load(&so.Rollups{Journeys: journeys, Steps: steps}); err != nil {
		return w, err
	}
	return w, w.Activity.Load(&so.Rollups{Activity: hours})
}

// ReconcileProject moves the project's alerts of the checks' keys in one
// transaction and announces the ones it opens.
func ReconcileProject(ctx context.Context, db so.AlertStore, projectID string, checks []Check, now time.Time) ([]*so.Alert, error) {
	var opened []*so.Alert
	err := db.EvaluateAlerts(ctx, projectID, func(ctx context.Context, tx so.AlertsTx) error {
		latest, err := tx.LatestAlerts(ctx, projectID)
		if err != nil {
			return err
		}
		save, fresh := Reconcile(projectID, latest, checks, now)
		for _, a := range save {
			if err := tx.SaveAlert(ctx, a); err != nil {
				return err
			}
		}
		as := make([]webhook.Announcement, len(fresh))
		for i, a := range fresh {
			as[i] = webhook.Announcement{ProjectID: projectID, Type: webhook.AlertOpened, Subject: a.ID, At: a.OpenedAt, Data: a}
		}
		opened = fresh
		return webhook.Announce(ctx, tx, as)
	})
	return opened, err
}
