package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/journey"
)

// seedOptions are the flags of `smartonboard seed`.
type seedOptions struct {
	events, days, usersPerFlow, batch int
	seed                              uint64
	until                             time.Time
	force, dryRun                     bool
}

// seedUsage is the flags' one-line summary, repeated in errors so a mistake shows the way out.
const seedUsage = "smartonboard seed --events N [--days 7] [--users-per-flow U] [--seed 1] [--batch 5000] [--until RFC3339] [--force] [--dry-run]"

// runSeed runs `smartonboard seed`: it writes invented onboarding history
// (published flows, users going through them, background clicks) straight
// into the configured database, for demos and for measuring the reports at
// realistic volume; the consumers roll it up when `serve` next runs.
func runSeed(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	opts, err := parseSeedFlags(args, stderr)
	if err != nil {
		return err
	}
	if opts.dryRun {
		return dryRunSeed(opts, stdout)
	}
	if env, _ := config.Load(environ); env.Env == config.EnvProduction && !opts.force { // before any other problem of the configuration
		return errors.New("refusing to write invented users and events into a production database (SMARTONBOARD_ENV=production); pass --force if that is really what you want")
	}
	cfg, err := loadConfig("seed", nil, environ, stderr)
	if err != nil {
		return err
	}
	m, err := prepareSeed(ctx, cfg, stdout, stderr)
	if err != nil {
		return err
	}
	defer m.closeDB()
	fmt.Fprintf(stdout, "generating %d events over the %d days before %s (seed %d)…\n", opts.events, opts.days, so.FormatTime(opts.until), opts.seed)
	plan, err := planSeed(opts)
	if err != nil {
		return err
	}
	st, err := writeSeed(ctx, m.db, m.engine, plan, opts, stdout)
	if err != nil {
		return fmt.Errorf("%w (%d events were written before the failure)", err, st.inserted)
	}
	st.print(stdout, plan, opts)
	return nil
}

// prepareSeed opens the database as serve does (schema, default project and
// keys, journey engine) and makes sure the seeded flows are published.
func prepareSeed(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) (*Main, error) {
	m := &Main{Config: cfg, Stdout: stdout, Logger: newLogger(cfg, stderr)}
	var err error
	if m.db, m.closeDB, err = openDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	if err = m.prepareSchema(ctx); err == nil {
		err = m.bootstrap(ctx)
	}
	if err == nil {
		printSeedKeys(stdout, m.Bootstrap)
		m.engine = &journey.Engine{Flows: m.db, Journeys: m.db, Engagement: m.db.JourneyEngagement} // as startIngest builds it
		err = ensureSeedFlows(ctx, m.db, m.engine)
	}
	if err != nil {
		m.closeDB()
		return nil, err
	}
	return m, nil
}

// parseSeedFlags reads and checks the flags, so a bad one fails before the database is touched.
func parseSeedFlags(args []string, stderr io.Writer) (seedOptions, error) {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := seedOptions{}
	fs.IntVar(&o.events, "events", 0, "how many events to write (required)")
	fs.IntVar(&o.days, "days", 7, "spread the history over this many days before --until")
	fs.IntVar(&o.usersPerFlow, "users-per-flow", 0, "users who start the flows (default: one per 200 events)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed and --until write the same events")
	fs.IntVar(&o.batch, "batch", 5000, "events per ingestion transaction")
	until := fs.String("until", "", "end of the history (RFC 3339, not in the future; default now)")
	fs.BoolVar(&o.force, "force", false, "seed even when SMARTONBOARD_ENV=production")
	fs.BoolVar(&o.dryRun, "dry-run", false, "generate the events and print their count and digest, without a database")
	if err := fs.Parse(args); err != nil {
		return o, exitError{2}
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v (usage: %s)", fs.Args(), seedUsage)
	}
	o.until = time.Now().UTC().Truncate(time.Millisecond)
	if *until != "" {
		t, err := time.Parse(time.RFC3339Nano, *until)
		if err != nil || t.After(time.Now()) {
			return o, fmt.Errorf("--until %q: want an RFC 3339 time that is not in the future, such as 2026-11-01T00:00:00Z", *until)
		}
		o.until = t.UTC().Truncate(time.Millisecond)
	}
	return o, o.check()
}

// check refuses sizes the generator cannot honour.
func (o *seedOptions) check() error {
	switch {
	case o.events < 1:
		return fmt.Errorf("say how many events to write with --events N (usage: %s)", seedUsage)
	case o.days < 1 || o.days > 365:
		return errors.New("--days must be from 1 to 365")
	case o.batch < 1 || o.batch > 100_000:
		return errors.New("--batch must be from 1 to 100000")
	case o.usersPerFlow < 0:
		return errors.New("--users-per-flow must not be negative")
	case o.usersPerFlow == 0:
		o.usersPerFlow = max(1, o.events/200)
	}
	return nil
}

// dryRunSeed generates the history and tells what seeding would write.
func dryRunSeed(opts seedOptions, out io.Writer) error {
	plan, err := planSeed(opts)
	if err != nil {
		return err
	}
	digest := sha256.New()
	for from := 0; from < len(plan.events); from += opts.batch {
		plan.build(plan.events[from:min(from+opts.batch, len(plan.events))], digest)
	}
	fmt.Fprintf(out, "would seed %d events of %d users (%d in flows) over %d days; digest %s\n",
		len(plan.events), plan.users, plan.flowUsers, opts.days, hex.EncodeToString(digest.Sum(nil)))
	return nil
}

// printSeedKeys shows the keys a first start generated, which are stored only as hashes.
func printSeedKeys(w io.Writer, b *so.BootstrapResult) {
	if b.GeneratedSecretKey == "" && b.GeneratedPublicKey == "" {
		return
	}
	fmt.Fprintf(w, "Created the default project with these keys; they are shown ONCE, save them now:\n")
	fmt.Fprintf(w, "  secret key (admin API):  %s\n  public key (browser SDK): %s\n", b.GeneratedSecretKey, b.GeneratedPublicKey)
}

// seedStats is what writeSeed did, for the progress lines and the summary.
type seedStats struct {
	inserted, skipped, batches int
	journeysStarted, completed int
	elapsed                    time.Duration
	digest                     string
}

// writeSeed ingests the plan in batches through the journey engine, as the
// ingester would, printing progress at most once a second.
func writeSeed(ctx context.Context, db database, engine *journey.Engine, plan *seedPlan, opts seedOptions, out io.Writer) (seedStats, error) {
	var st seedStats
	start, last := time.Now(), time.Now()
	digest := sha256.New()
	for from := 0; from < len(plan.events); from += opts.batch {
		batch := plan.build(plan.events[from:min(from+opts.batch, len(plan.events))], digest)
		if err := ingestSeedBatch(ctx, db, engine, batch, &st); err != nil {
			return st, err
		}
		if time.Since(last) >= time.Second {
			last = time.Now()
			printSeedProgress(out, from+len(batch), len(plan.events), time.Since(start))
		}
	}
	st.elapsed, st.digest = time.Since(start), hex.EncodeToString(digest.Sum(nil))
	return st, nil
}

// ingestSeedBatch stores one batch and moves its journeys in one transaction, then
// lets the engine remember what it wrote, as the ingester does after a commit.
func ingestSeedBatch(ctx context.Context, db database, engine *journey.Engine, batch []*so.Event, st *seedStats) error {
	var outcome *so.Outcome
	inserted, err := db.IngestEvents(ctx, batch, func(ctx context.Context, tx so.IngestTx, ins []*so.Event) error {
		var err error
		outcome, err = engine.Apply(ctx, tx, ins) // a retried transaction replaces the outcome
		return err
	})
	if err != nil {
		return err
	}
	if outcome == nil {
		return errors.New("the store committed a batch without running the journey engine")
	}
	engine.Committed(outcome)
	for _, ok := range inserted {
		if ok {
			st.inserted++
		} else {
			st.skipped++
		}
	}
	st.batches++
	st.journeysStarted += outcome.Started[so.DefaultProjectID] + outcome.Backfilled.Started // seeds write the default project alone
	st.completed += outcome.Completed[so.DefaultProjectID] + outcome.Backfilled.Completed
	return nil
}

// printSeedProgress tells how far the writing is and when it should end.
func printSeedProgress(out io.Writer, done, total int, elapsed time.Duration) {
	rate := float64(done) / elapsed.Seconds()
	eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(out, "… %d of %d events, %.0f events/s, ETA %s\n", done, total, rate, eta)
}

// print is the summary; tests and scripts read its numbers.
func (st seedStats) print(out io.Writer, plan *seedPlan, opts seedOptions) {
	fmt.Fprintf(out, "seeded %d events (%d already stored) of %d users (%d in flows) over %d days: "+
		"%d journeys started, %d completed; %d batches in %s, %.0f events/s; digest %s\n",
		st.inserted, st.skipped, plan.users, plan.flowUsers, opts.days, st.journeysStarted, st.completed,
		st.batches, st.elapsed.Round(time.Millisecond), float64(st.inserted+st.skipped)/st.elapsed.Seconds(), st.digest)
}

// seedStep is one step of a seeded flow; difficulty (0 easy … 1 hard) drives
// errors, hesitation, going back and drop-off.
type seedStep struct {
	key, title string
	kind       so.StepKind
	required   bool
	seconds    int
	difficulty float64
}

// seedFlow is a flow the seeder publishes; share is the part of the users who
// finished onboarding that go on to start it.
type seedFlow struct {
	key, name string
	share     float64
	steps     []seedStep
}

// seedFlows are the flows of the seeded product: drop-off concentrates on
// connect-source and first-dashboard, map-fields and payment.
var seedFlows = []seedFlow{
	{"onboarding", "Onboarding", 1, []seedStep{
		{"welcome", "Take the tour", so.StepTour, true, 20, 0.05},
		{"profile", "Complete your profile", so.StepForm, true, 60, 0.15},
		{"connect-source", "Connect a data source", so.StepTask, true, 180, 0.9},
		{"invite-team", "Invite your team", so.StepTask, false, 45, 0.2},
		{"tips", "Tips and shortcuts", so.StepArticle, false, 40, 0.05},
		{"first-dashboard", "Build your first dashboard", so.StepTask, true, 240, 0.6},
	}},
	{"integrations", "Integrations", 0.55, []seedStep{
		{"choose-app", "Choose an app", so.StepChecklist, true, 30, 0.1},
		{"authorize", "Authorize access", so.StepTask, true, 60, 0.45},
		{"map-fields", "Map the fields", so.StepForm, true, 200, 0.85},
		{"test-sync", "Run a test sync", so.StepTask, true, 90, 0.3},
		{"enable", "Turn it on", so.StepTask, true, 15, 0.05},
	}},
	{"billing", "Billing", 0.35, []seedStep{
		{"plan", "Pick a plan", so.StepChecklist, true, 45, 0.1},
		{"payment", "Add a payment method", so.StepForm, true, 90, 0.6},
		{"invoice-details", "Invoice details", so.StepForm, false, 60, 0.2},
		{"confirm", "Confirm", so.StepTask, true, 10, 0.05},
	}},
}

// ensureSeedFlows creates and publishes the seeded flows through the same
// services the API uses, and reuses them when a previous seed made them.
func ensureSeedFlows(ctx context.Context, db database, engine *journey.Engine) error {
	content := &so.ContentService{Store: db, Usage: db}
	flows := &so.FlowService{Store: db, Content: db, OnPublish: engine.Published}
	for _, f := range seedFlows {
		if err := ensureSeedFlow(ctx, content, flows, f); err != nil {
			return fmt.Errorf("flow %s: %s", f.key, describe(err))
		}
	}
	return nil
}

// ensureSeedFlow makes sure flow f is published with the seeder's steps.
func ensureSeedFlow(ctx context.Context, content *so.ContentService, flows *so.FlowService, f seedFlow) error {
	existing, err := flows.Find(ctx, so.DefaultProjectID, f.key)
	if so.ErrorCode(err) == so.ENOTFOUND {
		existing, err = createSeedFlow(ctx, content, flows, f)
	}
	if err != nil {
		return err
	}
	steps := existing.Steps
	if existing.PublishedVersion > 0 {
		v, err := flows.Version(ctx, so.DefaultProjectID, f.key, existing.PublishedVersion)
		if err != nil {
			return err
		}
		steps = v.Steps
	}
	if !sameStepKeys(steps, f.steps) {
		return errors.New("it exists with other steps than the seeder's; seed into a fresh database")
	}
	if existing.PublishedVersion == 0 {
		_, err = flows.Publish(ctx, so.DefaultProjectID, f.key)
	}
	return err
}

// createSeedFlow creates one content item per step and the draft flow over them,
// each required step waiting for the previous required one.
func createSeedFlow(ctx context.Context, content *so.ContentService, flows *so.FlowService, f seedFlow) (*so.Flow, error) {
	var steps []so.Step
	prev := ""
	for _, s := range f.steps {
		item, err := content.Create(ctx, so.DefaultProjectID, so.ContentInput{Kind: so.ContentKindFor(s.kind), Title: s.title,
			Body: "How to " + s.title + ".", Status: so.StatusPublished})
		if err != nil {
			return nil, err
		}
		st := so.Step{Key: s.key, Title: s.title, Kind: s.kind, ContentItemID: item.ID, Required: s.required,
			EstimatedSeconds: s.seconds, Prerequisites: []string{}}
		if prev != "" {
			st.Prerequisites = []string{prev}
		}
		if s.required {
			prev = s.key
		}
		steps = append(steps, st)
	}
	return flows.Create(ctx, so.DefaultProjectID, so.FlowInput{Key: f.key, Name: f.name, Steps: steps})
}

func sameStepKeys(steps []so.Step, want []seedStep) bool {
	return slices.EqualFunc(steps, want, func(s so.Step, w seedStep) bool { return s.Key == w.key })
}

// Event kinds of the generator, indexes in seedTypes: events are kept compact
// (ten million of them are held and sorted before they are written).
const (
	evSessionStarted uint8 = iota
	evSessionEnded
	evPageViewed
	evClick
	evStepStarted
	evStepCompleted
	evStepSkipped
	evStepBack
	evHesitation
	evError
)

var seedTypes = [...]so.EventType{so.EventSessionStarted, so.EventSessionEnded, so.EventPageViewed, so.EventClick,
	so.EventStepStarted, so.EventStepCompleted, so.EventStepSkipped, so.EventStepBack, so.EventHesitation, so.EventError}

// Property values the generator picks from by index.
var (
	seedTargets = []string{"#nav-home", "#nav-reports", "#nav-settings", "#search", "button.save", "button.cancel",
		"a.help", "#filter-date", "#export", "table.row", "#user-menu", "button.next"}
	seedPages  = []string{"/", "/reports", "/reports/new", "/settings", "/settings/team", "/integrations", "/billing", "/help"}
	seedErrors = []string{"Connection refused", "Invalid credentials", "Field is required", "Timed out", "Card declined"}
)

// seedEvent is one generated event; flow and step are indexes (-1: none).
type seedEvent struct {
	at      int64 // Unix milliseconds
	user    int32
	n       int32 // the user's event number: its id, and the order of equal times
	val     int32 // hesitation: milliseconds; click, page view, error: index of the target, path or message
	session int16
	typ     uint8
	flow    int8
	step    int8
}

// seedPlan is the whole generated history, in timestamp order.
type seedPlan struct {
	seed             uint64
	users, flowUsers int
	events           []seedEvent
}

// planSeed generates the flow users, then background users until exactly
// opts.events events, and sorts them by time (users interleave as in real traffic).
func planSeed(opts seedOptions) (*seedPlan, error) {
	p := &seedPlan{seed: opts.seed, events: make([]seedEvent, 0, opts.events)}
	until := opts.until.UnixMilli()
	from := until - int64(opts.days)*24*3_600_000
	for ; p.flowUsers < opts.usersPerFlow; p.flowUsers++ {
		g := newUserGen(opts.seed, p.flowUsers, from, until)
		g.flowUser()
		p.events = append(p.events, g.out...)
	}
	if len(p.events) > opts.events {
		return nil, fmt.Errorf("%d users in flows make %d events, more than --events %d: raise --events or lower --users-per-flow",
			opts.usersPerFlow, len(p.events), opts.events)
	}
	for p.users = p.flowUsers; len(p.events) < opts.events; p.users++ {
		g := newUserGen(opts.seed, p.users, from, until)
		g.backgroundUser()
		p.events = append(p.events, g.out[:min(len(g.out), opts.events-len(p.events))]...)
	}
	slices.SortFunc(p.events, func(a, b seedEvent) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.user, b.user), cmp.Compare(a.n, b.n))
	})
	return p, nil
}

// build turns compact events into stored ones, adding each to the digest.
func (p *seedPlan) build(evs []seedEvent, digest hash.Hash) []*so.Event {
	out := make([]*so.Event, len(evs))
	for i, e := range evs {
		user := "s" + strconv.FormatUint(p.seed, 10) + "-u" + strconv.Itoa(int(e.user))
		at := time.UnixMilli(e.at).UTC()
		ev := &so.Event{ProjectID: so.DefaultProjectID, ID: user + "-" + strconv.Itoa(int(e.n)), Type: seedTypes[e.typ],
			UserID: user, SessionID: user + "-s" + strconv.Itoa(int(e.session)), Timestamp: at, ReceivedAt: at,
			Properties: e.properties()}
		if e.flow >= 0 {
			f := &seedFlows[e.flow]
			ev.Flow, ev.Step = f.key, f.steps[e.step].key
		}
		fmt.Fprintf(digest, "%s|%s|%s|%s|%s|%d|%s\n", ev.ID, ev.Type, ev.SessionID, ev.Flow, ev.Step, e.at, ev.Properties)
		out[i] = ev
	}
	return out
}

// properties are what the SDK would attach to the event.
func (e seedEvent) properties() []byte {
	switch e.typ {
	case evClick:
		return []byte(`{"target":"` + seedTargets[e.val] + `"}`)
	case evPageViewed:
		return []byte(`{"path":"` + seedPages[e.val] + `"}`)
	case evError:
		return []byte(`{"message":"` + seedErrors[e.val] + `"}`)
	case evHesitation:
		return []byte(`{"duration_ms":` + strconv.Itoa(int(e.val)) + `}`)
	}
	return []byte(`{}`)
}

// Shares of the generator's behaviour model.
const (
	skipShare    = 0.45 // optional steps skipped
	returnShare  = 0.35 // users who come back after leaving a step unfinished
	endedShare   = 0.7  // sessions that send session_ended
	sessionSlack = 31 * 60_000
)

// userGen generates one user's history from a random source of its own, so a
// user is the same whatever else is generated.
type userGen struct {
	r           *rand.Rand
	user        int32
	n           int32
	session     int16
	now         int64 // the user's clock, Unix milliseconds
	from, until int64
	skill, pace float64 // skill: standard normal, fewer errors and drop-offs; pace: multiplies step times
	out         []seedEvent
}

func newUserGen(seed uint64, user int, from, until int64) *userGen {
	r := rand.New(rand.NewPCG(seed, uint64(user)))
	return &userGen{r: r, user: int32(user), from: from, until: until, now: from,
		skill: r.NormFloat64(), pace: math.Exp(0.35 * r.NormFloat64())}
}

// emit records an event at the user's clock, unless that is past the end of
// the history: the user has not got there yet.
func (g *userGen) emit(typ uint8, flow, step int8, val int32) {
	if g.now >= g.until {
		return
	}
	g.out = append(g.out, seedEvent{at: g.now, user: g.user, n: g.n, val: val, session: g.session, typ: typ, flow: flow, step: step})
	g.n++
}

// wait moves the user's clock on by about median seconds (log-normal, sigma spread).
func (g *userGen) wait(median, sigma float64) {
	g.now += int64(median*math.Exp(sigma*g.r.NormFloat64())*1000) + 1
}

// poisson draws a count of mean lambda (small lambdas only).
func (g *userGen) poisson(lambda float64) int {
	limit, k, p := math.Exp(-lambda), 0, g.r.Float64()
	for ; p > limit; k++ {
		p *= g.r.Float64()
	}
	return k
}

// rhythm is how busy an hour of the day (UTC) is: 0.15 at 03:00, 1 at 15:00.
func rhythm(ms int64) float64 {
	h := float64(ms%86_400_000) / 3_600_000
	return 0.15 + 0.85*(0.5-0.5*math.Cos(2*math.Pi*(h-3)/24))
}

// busyTime draws times from next until one passes the daily rhythm, so that
// sessions start mostly in the afternoon without piling up after the night.
func (g *userGen) busyTime(next func() int64) int64 {
	for {
		if t := next(); g.r.Float64() < rhythm(t) {
			return t
		}
	}
}

// anyTime is a busy time anywhere in the history.
func (g *userGen) anyTime() int64 {
	return g.busyTime(func() int64 { return g.from + g.r.Int64N(g.until-g.from) })
}

// laterTime is a busy time about meanHours after the user's clock.
func (g *userGen) laterTime(meanHours float64) int64 {
	return g.busyTime(func() int64 { return g.now + int64(g.r.ExpFloat64()*meanHours*3_600_000) })
}

// startSession opens a session at t, at least a session gap after the previous one.
func (g *userGen) startSession(t int64) {
	g.now = max(t, g.now+sessionSlack)
	g.session++
	g.emit(evSessionStarted, -1, -1, 0)
	g.browse(2 + g.poisson(4))
}

func (g *userGen) endSession() {
	g.wait(20, 1)
	if g.r.Float64() < endedShare {
		g.emit(evSessionEnded, -1, -1, 0)
	}
}

// browse is activity outside flows: page views and, mostly, clicks.
func (g *userGen) browse(clicks int) {
	g.emit(evPageViewed, -1, -1, g.r.Int32N(int32(len(seedPages))))
	for i := range clicks {
		g.wait(4, 0.8)
		if i%6 == 5 {
			g.emit(evPageViewed, -1, -1, g.r.Int32N(int32(len(seedPages))))
			g.wait(2, 0.5)
		}
		g.emit(evClick, -1, -1, g.r.Int32N(int32(len(seedTargets))))
	}
}

// backgroundUser only browses, in a few sessions over the history.
func (g *userGen) backgroundUser() {
	starts := make([]int64, 1+g.poisson(2))
	for i := range starts {
		starts[i] = g.anyTime()
	}
	slices.Sort(starts)
	for _, t := range starts {
		g.startSession(t)
		g.browse(g.poisson(10))
		g.endSession()
	}
}

// flowUser signs up at some time of the history, goes through onboarding and,
// having finished it, perhaps through the other flows in later sessions.
func (g *userGen) flowUser() {
	g.startSession(g.anyTime())
	finished := g.journey(0)
	g.browse(g.poisson(6))
	g.endSession()
	for fi := 1; finished && fi < len(seedFlows); fi++ {
		if g.r.Float64() >= seedFlows[fi].share {
			continue
		}
		g.startSession(g.laterTime(20))
		g.journey(int8(fi))
		g.browse(g.poisson(6))
		g.endSession()
	}
	for range g.poisson(1.5) {
		g.startSession(g.laterTime(24))
		g.browse(g.poisson(10))
		g.endSession()
	}
}

// journey takes the user through a flow's steps in order, skipping some optional
// ones; it reports whether the user got to the end.
func (g *userGen) journey(fi int8) bool {
	for si, s := range seedFlows[fi].steps {
		if !s.required && g.r.Float64() < skipShare {
			g.wait(3, 0.5)
			g.emit(evStepSkipped, fi, int8(si), 0)
			continue
		}
		if !g.step(fi, int8(si)) {
			return false
		}
	}
	return true
}

// step works on one step until it is done; a user who leaves it unfinished
// may come back once, in a later session: false means they gave up.
func (g *userGen) step(fi, si int8) bool {
	for attempt := 0; ; attempt++ {
		if g.attempt(fi, si, attempt) {
			return true
		}
		if attempt > 0 || g.r.Float64() >= returnShare {
			return false
		}
		g.endSession()
		g.startSession(g.laterTime(18))
	}
}

// attempt is one go at a step: clicks, errors and hesitation spread over its
// time, perhaps a look back at the previous step; it reports whether the step
// was completed (false: the user left during it).
func (g *userGen) attempt(fi, si int8, attempt int) bool {
	s := &seedFlows[fi].steps[si]
	d := s.difficulty
	g.wait(4, 0.6)
	g.emit(evStepStarted, fi, si, 0)
	errs := g.poisson(2.4 * d * math.Exp(-0.6*g.skill))
	actions := make([]uint8, 0, 8)
	for range g.poisson(1 + 3*d) {
		actions = append(actions, evClick)
	}
	for range errs {
		actions = append(actions, evError)
	}
	if g.r.Float64() < (0.08+0.45*d)*math.Exp(-0.4*g.skill) {
		actions = append(actions, evHesitation)
	}
	if si > 0 && g.r.Float64() < 0.04+0.12*d {
		actions = append(actions, evStepBack)
	}
	g.r.Shuffle(len(actions), func(i, j int) { actions[i], actions[j] = actions[j], actions[i] })
	drop := 0.005 + 0.3*d*d*d*math.Exp(-0.6*g.skill)*(1+0.25*float64(errs))
	if attempt > 0 {
		drop *= 0.6
	}
	leaves := g.r.Float64() < drop
	spent := float64(s.seconds) * g.pace * (1 + 0.3*float64(errs))
	for i, a := range actions {
		g.wait(spent/float64(len(actions)+1), 0.5)
		if leaves && i >= len(actions)/2 {
			return false
		}
		g.act(a, fi, si)
	}
	if leaves {
		g.wait(spent/2, 0.5)
		return false
	}
	g.wait(spent/float64(len(actions)+1), 0.45)
	g.emit(evStepCompleted, fi, si, 0)
	return true
}

// act emits one action of a step; a step back looks at the previous step and returns.
func (g *userGen) act(a uint8, fi, si int8) {
	switch a {
	case evClick:
		g.emit(evClick, fi, si, g.r.Int32N(int32(len(seedTargets))))
	case evError:
		g.emit(evError, fi, si, g.r.Int32N(int32(len(seedErrors))))
	case evHesitation:
		ms := int32(6000 * math.Exp(0.5*g.r.NormFloat64()))
		g.now += int64(ms)
		g.emit(evHesitation, fi, si, ms)
	case evStepBack:
		g.emit(evStepBack, fi, si-1, 0)
		g.wait(15, 0.6)
		g.emit(evStepStarted, fi, si, 0)
	}
}
