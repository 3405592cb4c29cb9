// Package demo seeds the demo product's own project (content, the "Getting
// started" flow that spans the demo's pages, help for the step people fail)
// and gives the demo page a public key of that project, so a new user sees
// the whole loop in a minute and no demo data ever mix with a real project's.
package demo

import (
	"cmp"
	"context"
	"fmt"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/simulate"
)

// ProjectID is the demo's project.
const ProjectID = "demo"

// FlowKey is the flow the demo walks through.
const FlowKey = "getting-started"

// keyName marks the public keys the demo page was given, so a new start
// retires the last one.
const keyName = "demo page"

// Stores are what seeding writes through: the domain services, so the demo's
// flow and content pass the same checks as any other.
type Stores struct {
	Projects so.ProjectStore
	Content  *so.ContentService
	Flows    *so.FlowService
}

// step is one step of the demo flow with its content.
type step struct {
	key, title, body, target, url string
	placement                     so.Placement // beside form fields, so the card never covers their button
	kind                          so.StepKind
	required                      bool
	seconds                       int
	help                          string  // markdown of a help item, if any
	difficulty                    float64 // how hard the simulated history finds it (0..1)
}

var steps = []step{
	{key: "connect", difficulty: 0.45, title: "Connect your account", kind: so.StepTour, required: true, seconds: 20, target: "#connect", url: "/demo/",
		body: "Start by connecting the account your data comes from. Press **Connect account**."},
	{key: "create-item", difficulty: 0.35, title: "Create your first item", kind: so.StepTask, required: true, seconds: 40, target: "#item-name", url: "/demo/items", placement: "right",
		body: "Give your first item a name and press **Create**."},
	{key: "invite", difficulty: 0.55, title: "Invite a teammate", kind: so.StepTask, required: true, seconds: 30, target: "#invite-email", url: "/demo/team", placement: "right",
		body: "Onboarding goes faster with company. Invite a teammate by email.",
		help: "Teammates need an address at your company's domain: use **name@example.com**. Other domains are refused."},
	{key: "billing", difficulty: 0.6, title: "Set up billing", kind: so.StepTask, seconds: 30, target: "#plan", url: "/demo/billing", placement: "right",
		body: "Pick a plan. You can change it at any time; the demo never charges anyone."},
}

// Ensure creates the demo project and publishes its flow if they are not
// there yet (a start cut short is finished by the next); a flow that exists
// is left as it is, since an admin may have edited it. It tells whether this
// call created the project, so that one instance alone seeds its history.
func Ensure(ctx context.Context, s Stores) (created bool, err error) {
	_, err = s.Projects.FindProject(ctx, ProjectID)
	if so.ErrorCode(err) == so.ENOTFOUND {
		none := 0.0 // everyone who struggles in the demo gets help: it shows the loop
		p := &so.Project{ID: ProjectID, Name: "Demo", CreatedAt: so.Now()}
		p.Settings.Behaviour.HoldoutPercent = &none
		err = s.Projects.CreateProject(ctx, p)
		created = err == nil
		if so.ErrorCode(err) == so.ECONFLICT {
			err = nil // another instance made it
		}
	}
	if err != nil {
		return false, fmt.Errorf("the demo project: %w", err)
	}
	return created, ensureFlow(ctx, s)
}

// ensureFlow publishes the demo's flow unless it is there.
func ensureFlow(ctx context.Context, s Stores) error {
	f, err := s.Flows.Find(ctx, ProjectID, FlowKey)
	switch {
	case so.ErrorCode(err) == so.ENOTFOUND:
		return seedFlow(ctx, s)
	case err != nil:
		return fmt.Errorf("find the demo flow: %w", err)
	case f.PublishedVersion == 0:
		if _, err := s.Flows.Publish(ctx, ProjectID, FlowKey); err != nil {
			return fmt.Errorf("publish the demo flow: %w", err)
		}
	}
	return nil
}

func seedFlow(ctx context.Context, s Stores) error {
	var flowSteps []so.Step
	prev := ""
	for _, st := range steps {
		item, err := s.Content.Create(ctx, ProjectID, so.ContentInput{Kind: so.ContentKindFor(st.kind), Title: st.title, Body: st.body, Status: so.StatusPublished})
		if err != nil {
			return fmt.Errorf("demo content %s: %w", st.key, err)
		}
		fs := so.Step{Key: st.key, Title: st.title, Kind: st.kind, ContentItemID: item.ID, Required: st.required,
			EstimatedSeconds: st.seconds, Target: st.target, URL: st.url, Placement: cmp.Or(st.placement, "bottom"), Prerequisites: []string{}}
		if prev != "" {
			fs.Prerequisites = []string{prev}
		}
		if st.help != "" {
			help, err := s.Content.Create(ctx, ProjectID, so.ContentInput{Kind: so.ContentHelp, Title: "Inviting, step by step", Body: st.help, Status: so.StatusPublished})
			if err != nil {
				return fmt.Errorf("demo help %s: %w", st.key, err)
			}
			fs.HelpContentIDs = []string{help.ID}
		}
		if st.required {
			prev = st.key
		}
		flowSteps = append(flowSteps, fs)
	}
	if _, err := s.Flows.Create(ctx, ProjectID, so.FlowInput{Key: FlowKey, Name: "Getting started", Steps: flowSteps,
		Description: "The demo's tour: connect, create, invite, bill."}); err != nil {
		return fmt.Errorf("demo flow: %w", err)
	}
	if _, err := s.Flows.Publish(ctx, ProjectID, FlowKey); err != nil {
		return fmt.Errorf("publish the demo flow: %w", err)
	}
	return nil
}

// PageKey returns a new public key of the demo project for this start's
// demo pages and revokes the ones earlier starts made: keys are stored
// hashed, so the page's key cannot be read back, and a public key is public
// anyway.
func PageKey(ctx context.Context, projects so.ProjectStore) (string, error) {
	keys, err := projects.ListAPIKeys(ctx, ProjectID)
	if err != nil {
		return "", fmt.Errorf("list the demo's keys: %w", err)
	}
	for _, k := range keys {
		if k.Name == keyName && k.RevokedAt == nil {
			if _, err := projects.RevokeAPIKey(ctx, ProjectID, k.ID, so.Now()); err != nil {
				return "", fmt.Errorf("retire an earlier demo key: %w", err)
			}
		}
	}
	key := so.GenerateKey(so.KeyPublic)
	if err := projects.CreateAPIKey(ctx, so.NewAPIKey(ProjectID, so.KeyPublic, keyName, key)); err != nil {
		return "", fmt.Errorf("store the demo key: %w", err)
	}
	return key, nil
}

// History is the demo's past, as simulations to store in order: n users of
// its flow arriving over the four weeks before now (most journeys settled, so
// a model can be trained on them), then, over the last two days, a rush of
// n/5 sign-ups meeting an invite step a release made harder, so that the demo
// opens with a completion drop to look into, as a live product might.
func History(n int, now time.Time) []simulate.Options {
	const day, weeks = 24 * time.Hour, 4 * 7 * 24 * time.Hour
	steady := simulate.Options{Seed: 1, Users: n, Flow: historyFlow(""), Start: now.Add(-weeks).UTC(),
		Spread: weeks - 2*day, UserPrefix: "sim-"}
	rush := simulate.Options{Seed: 2, Users: n / 5, Flow: historyFlow(IncidentStep), Start: now.Add(-2 * day).UTC(),
		Spread: 2*day - time.Hour, UserPrefix: "sim-new-"}
	return []simulate.Options{steady, rush}
}

// IncidentStep is the step the demo's history makes harder in its last two days.
const IncidentStep = "invite"

// historyFlow is the demo's flow as the simulator sees it, with the step
// named harder made much harder.
func historyFlow(harder string) simulate.Flow {
	f := simulate.Flow{Key: FlowKey}
	for _, st := range steps {
		d := st.difficulty
		if st.key == harder {
			d = 0.95
		}
		f.Steps = append(f.Steps, simulate.Step{Key: st.key, Required: st.required, ExpectedSeconds: float64(st.seconds), Difficulty: d})
	}
	return f
}
