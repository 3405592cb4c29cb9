package storetest

import (
	"context"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func testRejections(t *testing.T, open Opener) {
	runAll(t, open, map[string]func(*testing.T, DB){
		"Accumulate":     testRejectionsAccumulate,
		"Windows":        testRejectionsWindows,
		"Projects":       testRejectionsProjects,
		"GoneProject":    testRejectionsGoneProject,
		"ActiveProjects": testRejectionsActive,
	})
}

func rejected(projectID string, hour time.Time, code string, n int64) so.RejectionCount {
	return so.RejectionCount{ProjectID: projectID, Hour: hour, Code: code, Events: n}
}

// addRejections adds counts and fails the test on an error.
func addRejections(t *testing.T, db DB, counts ...so.RejectionCount) {
	t.Helper()
	if err := db.AddRejections(context.Background(), counts); err != nil {
		t.Fatalf("add rejections: %v", err)
	}
}

// rejectionsIn reads a project's counts over [from, to).
func rejectionsIn(t *testing.T, db DB, projectID string, from, to time.Time) []so.RejectionCount {
	t.Helper()
	got, err := db.RejectedEvents(context.Background(), so.RollupQuery{ProjectID: projectID, From: from, To: to})
	if err != nil {
		t.Fatalf("rejected events: %v", err)
	}
	return got
}

// Counts add to the stored ones, across calls and within one batch, and
// nothing (an empty batch) changes nothing.
func testRejectionsAccumulate(t *testing.T, db DB) {
	addRejections(t, db, rejected("p1", hour0, so.EINVALID, 3), rejected("p1", hour0, so.ECONFLICT, 1))
	addRejections(t, db, rejected("p1", hour0, so.EINVALID, 4), rejected("p1", hour0, so.EINVALID, 5))
	addRejections(t, db)
	assertEqual(t, "counts after three adds", rejectionsIn(t, db, "p1", hour0, hour0.Add(time.Hour)),
		[]so.RejectionCount{rejected("p1", hour0, so.ECONFLICT, 1), rejected("p1", hour0, so.EINVALID, 12)})
}

// The window is [from, to) on the hour, and rows come in hour order.
func testRejectionsWindows(t *testing.T, db DB) {
	for h := range 3 {
		addRejections(t, db, rejected("p1", hour0.Add(time.Duration(h)*time.Hour), so.EINVALID, int64(h+1)))
	}
	assertEqual(t, "the middle hour", rejectionsIn(t, db, "p1", hour0.Add(time.Hour), hour0.Add(2*time.Hour)),
		[]so.RejectionCount{rejected("p1", hour0.Add(time.Hour), so.EINVALID, 2)})
	assertEqual(t, "every hour", rejectionsIn(t, db, "p1", hour0, hour0.Add(3*time.Hour)),
		[]so.RejectionCount{rejected("p1", hour0, so.EINVALID, 1), rejected("p1", hour0.Add(time.Hour), so.EINVALID, 2),
			rejected("p1", hour0.Add(2*time.Hour), so.EINVALID, 3)})
	assertEqual(t, "an empty window", rejectionsIn(t, db, "p1", hour0.Add(3*time.Hour), hour0.Add(4*time.Hour)),
		[]so.RejectionCount{})
}

// One project's counts are never another's.
func testRejectionsProjects(t *testing.T, db DB) {
	addRejections(t, db, rejected("p1", hour0, so.EINVALID, 2), rejected("p2", hour0, so.EINVALID, 7))
	assertEqual(t, "p1", rejectionsIn(t, db, "p1", hour0, hour0.Add(time.Hour)), []so.RejectionCount{rejected("p1", hour0, so.EINVALID, 2)})
	assertEqual(t, "p2", rejectionsIn(t, db, "p2", hour0, hour0.Add(time.Hour)), []so.RejectionCount{rejected("p2", hour0, so.EINVALID, 7)})
}

// Counts of a project that does not exist are dropped and keep no others out.
func testRejectionsGoneProject(t *testing.T, db DB) {
	addRejections(t, db, rejected("gone", hour0, so.EINVALID, 5), rejected("p1", hour0, so.EINVALID, 1))
	assertEqual(t, "the existing project's", rejectionsIn(t, db, "p1", hour0, hour0.Add(time.Hour)),
		[]so.RejectionCount{rejected("p1", hour0, so.EINVALID, 1)})
	assertEqual(t, "the missing project's", rejectionsIn(t, db, "gone", hour0, hour0.Add(time.Hour)), []so.RejectionCount{})
}

// A project whose every event is rejected has no rollups, and must still be
// evaluated: ActiveProjects names it.
func testRejectionsActive(t *testing.T, db DB) {
	addRejections(t, db, rejected("p1", hour0, so.EINVALID, 1), rejected("p2", hour0.Add(-48*time.Hour), so.EINVALID, 1))
	got, err := db.ActiveProjects(context.Background(), hour0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "active projects", got, []string{"p1"})
}
