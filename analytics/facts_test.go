package analytics_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// linear is a published 3-step flow: profile, then invite, then launch.
var linear = &so.FlowVersion{FlowID: "f1", ProjectID: "p", FlowKey: "setup", Version: 2,
	Steps: []so.Step{{Key: "profile"}, {Key: "invite", Prerequisites: []string{"profile"}},
		{Key: "launch", Prerequisites: []string{"invite"}}}}

// start is 10:17 UTC: the journeys' cohort is the 10:00 hour.
var start = time.Date(2026, 3, 2, 10, 17, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := start.Add(d); return &t }

func seconds(s float64) *float64 { return &s }

// journey builds a journey of linear in the given state.
func journey(status so.JourneyStatus, current string, steps ...so.StepState) *so.Journey {
	return &so.Journey{ID: "j1", ProjectID: "p", UserID: "u1", FlowID: "f1", FlowKey: "setup", FlowVersion: 2,
		Status: status, Steps: steps, CurrentStep: current, StartedAt: start, Revision: 7}
}

func pending(key string) so.StepState { return so.StepState{Key: key, Status: so.StepPending} }

func inProgress(key string) so.StepState {
	return so.StepState{Key: key, Status: so.StepInProgress, StartedAt: at(time.Minute)}
}

func completed(key string, ms int64) so.StepState {
	return so.StepState{Key: key, Status: so.StepCompleted, StartedAt: at(time.Minute), CompletedAt: at(2 * time.Minute),
		TimeSpentMS: ms}
}

// fact is the fact of a journey built by journey, with the given parts.
func fact(status so.JourneyStatus, complete, value *float64, steps ...so.StepFact) *so.JourneyFact {
	return &so.JourneyFact{ProjectID: "p", JourneyID: "j1", UserID: "u1", Flow: "setup", Version: 2, Revision: 7,
		StartHour: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Status: status, CompleteSeconds: complete,
		ValueSeconds: value, Steps: steps}
}

func TestFactOf(t *testing.T) {
	t.Parallel()
	fresh := so.NewJourney("p", "u1", linear, start)
	fresh.ID, fresh.Revision = "j1", 7
	done := journey(so.JourneyCompleted, "", completed("profile", 10_000), completed("invite", 20_000), completed("launch", 0))
	done.CompletedAt = at(90 * time.Minute)
	doneNoTime := journey(so.JourneyCompleted, "", completed("profile", 1000), completed("invite", 1000), completed("launch", 1000))
	skewed := journey(so.JourneyCompleted, "", completed("profile", 1000), completed("invite", 1000), completed("launch", 1000))
	skewed.CompletedAt = at(-time.Minute) // a clock went back
	inZone := journey(so.JourneyActive, "profile", pending("profile"), pending("invite"), pending("launch"))
	inZone.StartedAt = time.Date(2026, 3, 2, 12, 59, 0, 0, time.FixedZone("CEST", 2*3600)) // 10:59 UTC

	tests := []struct {
		name      string
		j         *so.Journey
		v         *so.FlowVersion
		struggles map[string][]string
		firstSeen time.Time
		want      *so.JourneyFact
	}{
		{"new: only the first step reached", fresh, linear, nil, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "profile", Reached: true}, so.StepFact{Key: "invite"}, so.StepFact{Key: "launch"})},
		{"mid-way", journey(so.JourneyActive, "invite", completed("profile", 45_000), inProgress("invite"), pending("launch")),
			linear, nil, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(45)},
				so.StepFact{Key: "invite", Reached: true, Started: true},
				so.StepFact{Key: "launch"})},
		{"completed: 89 min from the first step's start, 3h30 from the first event", done, linear, nil, start.Add(-2 * time.Hour),
			fact(so.JourneyCompleted, seconds(5340), seconds(12600), // (90−1)·60; 90·60 + 2·3600
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(10)},
				so.StepFact{Key: "invite", Reached: true, Started: true, Completed: true, Seconds: seconds(20)},
				so.StepFact{Key: "launch", Reached: true, Started: true, Completed: true, Seconds: seconds(0)})},
		{"completed, first seen after the first step: value time is from the first step", done, linear, nil, start.Add(time.Hour),
			fact(so.JourneyCompleted, seconds(5340), seconds(5340),
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(10)},
				so.StepFact{Key: "invite", Reached: true, Started: true, Completed: true, Seconds: seconds(20)},
				so.StepFact{Key: "launch", Reached: true, Started: true, Completed: true, Seconds: seconds(0)})},
		{"completed without a completion time: no times", doneNoTime, linear, nil, time.Time{},
			fact(so.JourneyCompleted, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(1)},
				so.StepFact{Key: "invite", Reached: true, Started: true, Completed: true, Seconds: seconds(1)},
				so.StepFact{Key: "launch", Reached: true, Started: true, Completed: true, Seconds: seconds(1)})},
		{"completed before it started: 0, not negative", skewed, linear, nil, start.Add(-time.Hour),
			fact(so.JourneyCompleted, seconds(0), seconds(3540), // from an hour before the start to a minute before it
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(1)},
				so.StepFact{Key: "invite", Reached: true, Started: true, Completed: true, Seconds: seconds(1)},
				so.StepFact{Key: "launch", Reached: true, Started: true, Completed: true, Seconds: seconds(1)})},
		{"abandoned at step 2 after starting it",
			journey(so.JourneyAbandoned, "invite", completed("profile", 1500), inProgress("invite"), pending("launch")),
			linear, nil, time.Time{},
			fact(so.JourneyAbandoned, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(1.5)},
				so.StepFact{Key: "invite", Reached: true, Started: true, Dropped: true},
				so.StepFact{Key: "launch"})},
		{"abandoned at step 2 without starting it",
			journey(so.JourneyAbandoned, "invite", completed("profile", 1500), pending("invite"), pending("launch")),
			linear, nil, time.Time{},
			fact(so.JourneyAbandoned, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(1.5)},
				so.StepFact{Key: "invite", Reached: true, Dropped: true},
				so.StepFact{Key: "launch"})},
		{"skipped step: reached, not started",
			journey(so.JourneyActive, "launch", so.StepState{Key: "profile", Status: so.StepSkipped}, completed("invite", 2000), pending("launch")),
			linear, nil, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Skipped: true},
				so.StepFact{Key: "invite", Reached: true, Started: true, Completed: true, Seconds: seconds(2)},
				so.StepFact{Key: "launch", Reached: true})},
		{"abandoned after a skip: the skipped step is not dropped",
			journey(so.JourneyAbandoned, "invite", so.StepState{Key: "profile", Status: so.StepSkipped}, pending("invite"), pending("launch")),
			linear, nil, time.Time{},
			fact(so.JourneyAbandoned, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Skipped: true},
				so.StepFact{Key: "invite", Reached: true, Dropped: true},
				so.StepFact{Key: "launch"})},
		{"struggled step, and a struggle on a step not in the flow",
			journey(so.JourneyActive, "invite", completed("profile", 3000), inProgress("invite"), pending("launch")),
			linear, map[string][]string{"invite": {"hesitation", "repeated_errors"}, "gone": {"rage_click"}}, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(3)},
				so.StepFact{Key: "invite", Reached: true, Started: true, Struggled: true, Rules: []string{"hesitation", "repeated_errors"}},
				so.StepFact{Key: "launch"})},
		{"a step with a start time but pending again still counts as started",
			journey(so.JourneyPaused, "profile", so.StepState{Key: "profile", Status: so.StepPending, StartedAt: at(time.Minute)}, pending("invite"), pending("launch")),
			linear, nil, time.Time{},
			fact(so.JourneyPaused, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true},
				so.StepFact{Key: "invite"},
				so.StepFact{Key: "launch"})},
		{"a step missing from the journey is pending",
			journey(so.JourneyActive, "invite", completed("profile", 1000), inProgress("invite")),
			linear, nil, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "profile", Reached: true, Started: true, Completed: true, Seconds: seconds(1)},
				so.StepFact{Key: "invite", Reached: true, Started: true},
				so.StepFact{Key: "launch"})},
		{"no version: the journey's own steps, in its order",
			journey(so.JourneyActive, "b", pending("b"), completed("a", 4000)),
			nil, nil, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "b", Reached: true},
				so.StepFact{Key: "a", Reached: true, Started: true, Completed: true, Seconds: seconds(4)})},
		{"the cohort is the UTC hour", inZone, linear, nil, time.Time{},
			fact(so.JourneyActive, nil, nil,
				so.StepFact{Key: "profile", Reached: true}, so.StepFact{Key: "invite"}, so.StepFact{Key: "launch"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := analytics.FactOf(tc.j, tc.v, tc.struggles, nil, tc.firstSeen)
			got.Step = "" // TestFactStepAndEngagement checks it
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("FactOf =\n%s\nwant\n%s", show(got), show(tc.want))
			}
		})
	}
}

// show renders a fact for a failure message.
func show(f *so.JourneyFact) string {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// The fact names the step the journey is on (its last step once it has
// none) and files the latest engagement score in tens.
func TestFactStepAndEngagement(t *testing.T) {
	t.Parallel()
	score := func(v float64) *float64 { return &v }
	mid := journey(so.JourneyActive, "invite", completed("profile", 1000), inProgress("invite"), pending("launch"))
	done := journey(so.JourneyCompleted, "", completed("profile", 1000), completed("invite", 1000), completed("launch", 1000))
	done.CompletedAt = at(10 * time.Minute)
	for _, tc := range []struct {
		name   string
		j      *so.Journey
		score  *float64
		step   string
		bucket int // -1: none
	}{
		{"on a step, unscored", mid, nil, "invite", -1},
		{"on a step, 0", mid, score(0), "invite", 0},
		{"39.9 is the fourth ten (low)", mid, score(39.9), "invite", 3},
		{"40 starts medium", mid, score(40), "invite", 4},
		{"80 is high", mid, score(80), "invite", 8},
		{"100 is the last ten", mid, score(100), "invite", 9},
		{"finished: its last step", done, score(55), "launch", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := analytics.FactOf(tc.j, linear, nil, tc.score, time.Time{})
			if f.Step != tc.step {
				t.Errorf("step = %q, want %q", f.Step, tc.step)
			}
			switch {
			case tc.bucket < 0 && f.EngagementBucket != nil:
				t.Errorf("bucket = %d, want none", *f.EngagementBucket)
			case tc.bucket >= 0 && (f.EngagementBucket == nil || *f.EngagementBucket != tc.bucket):
				t.Errorf("bucket = %v, want %d", f.EngagementBucket, tc.bucket)
			}
		})
	}
}
