package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/config"
	"github.com/smartonboarding/smartonboard/httpapi"
	"github.com/smartonboarding/smartonboard/ingest"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/live"
	"github.com/smartonboarding/smartonboard/migrate"
	"github.com/smartonboarding/smartonboard/pipeline"
	"github.com/smartonboarding/smartonboard/predict"
	"github.com/smartonboarding/smartonboard/render"
	"github.com/smartonboarding/smartonboard/stream"
)

// Main is the running program: tests build one with a temporary database, call Run
// to serve on a real port, and Close to shut it down exactly as SIGTERM would.
type Main struct {
	Config config.Config
	Stdout io.Writer // the operator's terminal: URLs and generated keys
	Logger *slog.Logger

	db        database
	closeDB   func()
	listener  net.Listener
	server    *http.Server
	stopJobs  context.CancelFunc
	jobs      sync.WaitGroup
	bus       *stream.Broker
	engine    *journey.Engine
	models    *predict.Service
	ingester  *ingest.Ingester
	publisher *streamPublisher
	pipeline  *pipeline.Pipeline
	demo      http.Handler // the demo pages, when the demo is on
	// demoCreated says this start made the demo project, whose history it
	// seeds until done or stopSeed; seeding ends before the ingester closes.
	demoCreated bool
	stopSeed    context.CancelFunc
	seeding     sync.WaitGroup
	counters    *live.Counters
	accounts    *so.AccountService
	api         *httpapi.Server
	registry    *prometheus.Registry
	// ingestMetrics and the pipeline's histograms are kept so that
	// benchmarks can read the backlog without asking the database.
	ingestMetrics   *ingestMetrics
	pipelineLag     *prometheus.HistogramVec
	pipelineBatches *prometheus.HistogramVec
	// Bootstrap reports the keys generated on first start, for tests.
	Bootstrap *so.BootstrapResult
	// GeneratedOwner is the owner account a first start made because none was
	// configured; its password is printed once and stored only as a hash.
	GeneratedOwner struct{ Email, Password string }
	// WebhookBackoff, when set, replaces the webhook retry schedule (tests).
	WebhookBackoff func(attempt int) time.Duration
	// MaxRejectionKeys, when set, replaces the cap on rejection counts held
	// between flushes (tests).
	MaxRejectionKeys int
}

// runServe loads and checks the configuration, then serves until ctx ends.
func runServe(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, environ, stderr)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Stdout: stdout, Logger: newLogger(cfg, stderr)}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	return m.Close()
}

// loadConfig reads environment and flags and refuses a configuration with errors,
// listing every problem at once.
func loadConfig(name string, args []string, environ []string, stderr io.Writer) (config.Config, error) {
	cfg, problems := config.Load(environ)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, exitError{2}
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	problems = append(problems, cfg.Validate()...)
	for _, p := range problems.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", p)
	}
	if err := problems.Err(); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w\n(run `smartonboard preflight` for the full report)", err)
	}
	return cfg, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // Validate has checked it
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run opens the database, brings the schema up to date where allowed, creates the
// default project on first start, and starts serving; it returns once the
// listener is open.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	m.Logger.Info("starting", "config", m.Config)
	if m.db, m.closeDB, err = openDatabase(ctx, m.Config); err != nil {
		return err
	}
	if err := m.prepareSchema(ctx); err != nil {
		return err
	}
	if err := m.bootstrap(ctx); err != nil {
		return err
	}
	if m.listener, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w (set SMARTONBOARD_ADDR to a free address)", m.Config.Addr, err)
	}
	m.registry = prometheus.NewRegistry()
	m.startIngest()
	if err := m.startDemo(ctx); err != nil {
		return err
	}
	if err := m.startQueue(ctx); err != nil { // before the pipeline, whose consumer enqueues deliveries
		return err
	}
	if err := m.pipeline.Start(ctx); err != nil { // before the first event is accepted
		return fmt.Errorf("start the pipeline: %w", err)
	}
	srv, ln := m.newHTTPServer(), m.listener // the goroutine must not read fields Close resets
	srv.RegisterOnShutdown(m.bus.Close)      // ends the open event streams, which never go idle
	m.server = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "err", err)
		}
	}()
	m.startJobs()
	m.printWelcome()
	return nil
}

// bootstrap makes the default project and its keys, logs the keys a changed
// variable revoked, and creates the owner account of a first start.
func (m *Main) bootstrap(ctx context.Context) (err error) {
	if m.Bootstrap, err = so.Bootstrap(ctx, m.db, m.Config.AdminKey, m.Config.PublicKey); err != nil {
		return err
	}
	for _, r := range m.Bootstrap.Revoked {
		m.Logger.Warn("revoked the key a changed bootstrap variable replaced", "key", r)
	}
	for _, w := range m.Bootstrap.Warnings {
		m.Logger.Warn(w)
	}
	m.accounts = &so.AccountService{Store: m.db, Projects: m.db, IdleTimeout: m.Config.SessionIdleTimeout, MaxAge: m.Config.SessionMaxAge}
	email, password := m.Config.OwnerEmail, m.Config.OwnerPassword
	if email == "" {
		if !m.Bootstrap.CreatedProject {
			return nil // an owner is generated on the first start only, as the keys are
		}
		email, password = generatedOwnerEmail, rand.Text()
	}
	created, err := m.accounts.EnsureOwner(ctx, email, password)
	if err != nil {
		return fmt.Errorf("create the owner account (SMARTONBOARD_OWNER_EMAIL): %s", describe(err))
	}
	if created {
		m.Logger.Info("created the owner account of the default project", "email", so.NormalizeEmail(email))
		if m.Config.OwnerEmail == "" {
			m.GeneratedOwner.Email, m.GeneratedOwner.Password = email, password
		}
	}
	return nil
}

// generatedOwnerEmail names the owner a first start makes when
// SMARTONBOARD_OWNER_EMAIL is not set.
const generatedOwnerEmail = "owner@localhost"

// prepareSchema applies pending migrations in development (or with --migrate) and
// otherwise refuses to serve a schema that is not exactly current.
func (m *Main) prepareSchema(ctx context.Context) error {
	migrator := m.db.Migrator()
	err := migrator.Check(ctx)
	if errors.Is(err, migrate.ErrPending) && (m.Config.Env == config.EnvDevelopment || m.Config.Migrate) {
		applied, err := migrator.Up(ctx)
		if err != nil {
			return err
		}
		m.Logger.Info("migrations applied", "versions", applied)
		return nil
	}
	if errors.Is(err, migrate.ErrPending) {
		return fmt.Errorf("%w (SMARTONBOARD_ENV=%s applies migrations only through `smartonboard migrate up` or `serve --migrate`)", err, m.Config.Env)
	}
	return err
}

func (m *Main) newHTTPServer() *http.Server {
	reg := m.registry
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newPoolCollector(m.db))
	api := &httpapi.Server{
		Projects:      m.db,
		Accounts:      m.accounts,
		Audit:         m.db,
		Development:   m.Config.Env == config.EnvDevelopment,
		IdentityGrace: m.Config.IdentitySecretGrace,
		Limits: httpapi.RateLimits{EventsPerUser: m.Config.RateEventsPerUser, PerIP: m.Config.RatePerIP,
			PublicKey: m.Config.RatePerPublicKey, Admin: m.Config.RateAdmin},
		Content:   &so.ContentService{Store: m.db, Usage: m.db},
		Flows:     &so.FlowService{Store: m.db, Content: m.db, OnPublish: m.engine.Published},
		Users:     &so.UserService{Store: m.db},
		Journeys:  m.engine,
		Ingest:    m.ingester,
		Behaviour: m.db,
		Analytics: m.db,
		Alerts:    m.db,
		Insights:  m.db,
		Eraser:    m.db,
		Webhooks:  m.db,
		Models:    m.models,
		Training:  m.db,

		Rejections:       m.db,
		MaxRejectionKeys: m.MaxRejectionKeys,

		WebhookProduction: m.Config.Env == config.EnvProduction,
		Bus:               m.bus,
		ReadyChecks: []httpapi.Check{{Name: "database", Run: m.db.Ping}, {Name: "migrations", Run: m.db.Migrator().Check},
			{Name: "models", Detail: m.modelsReady}},
		Build:          buildInfo(),
		Engine:         m.db.Engine(),
		StartedAt:      time.Now(),
		Logger:         m.Logger,
		Registry:       reg,
		AllowedOrigins: m.Config.AllowedOrigins,
		MetricsToken:   m.Config.MetricsToken,
		TrustedProxies: trustedProxies(m.Config.TrustedProxies),

		MaxStreamsPerProject: m.Config.MaxStreamsPerProject,
		MaxStreamsPerIP:      m.Config.MaxStreamsPerIP,
		StreamLifetime:       m.Config.StreamLifetime,
		Demo:                 m.demo,
	}
	m.api = api
	return &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // SSE handlers clear their own deadline
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
}

// startIngest builds the journey engine, the real-time bus and the group
// committer that feeds them.
func (m *Main) startIngest() {
	m.bus = stream.NewBroker(stream.Options{MaxSubscribers: m.Config.MaxStreams})
	m.engine = &journey.Engine{Flows: m.db, Journeys: m.db, Engagement: m.db.JourneyEngagement,
		Present: journey.Present(m.db.FindContentItem, render.Markdown)}
	m.models = &predict.Service{Store: m.db, Versions: m.engine, AbandonAfter: m.Config.AbandonAfter}
	m.engine.Success = m.predictedSuccess
	m.counters = &live.Counters{}
	m.engine.OnStart = func(j *so.Journey) { m.counters.JourneyStarted(j.ProjectID) }
	// SQLite has one writer: one committer, big batches. PostgreSQL overlaps two
	// commits, and smaller batches spread the load evenly between them, which
	// keeps the slowest acknowledgments close to the median (docs/benchmarks.md).
	committers, maxBatch := 1, 5000
	if m.db.Engine() == config.EnginePostgres {
		committers, maxBatch = 2, 1000
	}
	m.publisher = startStreamPublisher(func(js []*so.Journey) {
		// Rendering reads flow versions: bounded, so a stalled database cannot
		// hold the publisher (and, once its queue fills, the committers) forever.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		httpapi.PublishJourneys(ctx, m.bus, m.engine, js)
	})
	m.pipeline = m.newPipeline()
	m.ingestMetrics = newIngestMetrics(m.registry, m.Logger)
	m.ingester = ingest.New(m.db, m.engine.Apply, ingest.Options{
		Committers: committers,
		MaxBatch:   maxBatch,
		OnBatch:    m.ingestMetrics.observe,
		OnCommit:   m.pipeline.Committed,
	})
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smartonboard_ingest_pending_events",
			Help: "Events accepted and waiting for their commit; past the ingester's limit new batches get 503."},
			func() float64 { return float64(m.ingester.Pending()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smartonboard_streams_open",
			Help: "Real-time streams open on this instance; past SMARTONBOARD_MAX_STREAMS (less the places kept for secret-key streams) new ones get 503."},
			func() float64 { return float64(m.bus.Subscribers()) }))
}

// rejectionsEvery is how often an instance adds the rejected events it
// counted to the stored counts: soon enough for an hourly alert, rarely
// enough that a flood of rejections costs the database one small
// transaction per interval.
const rejectionsEvery = 10 * time.Second

// startJobs runs the background work of this instance alone (its key-use
// cache, rejection counts and live counters); work shared by all instances
// is on the job queue.
func (m *Main) startJobs() {
	ctx, cancel := context.WithCancel(context.Background())
	m.stopJobs = cancel
	m.every(ctx, 15*time.Second, "record API key use", m.api.FlushKeyUse)
	m.every(ctx, rejectionsEvery, "record rejected events", m.api.FlushRejections)
	m.jobs.Go(func() {
		m.counters.Run(ctx, 2*time.Second, func(projectID string, s live.Snapshot) {
			_ = m.bus.Publish(stream.ProjectTopic(projectID), "metrics", s)
		})
	})
	if m.demoCreated && m.Config.DemoHistory > 0 {
		seedCtx, stop := context.WithCancel(ctx)
		m.stopSeed = stop
		m.seeding.Go(func() {
			if err := m.seedDemoHistory(seedCtx, m.Config.DemoHistory); err != nil && seedCtx.Err() == nil {
				m.Logger.Error("seed the demo's history", "err", err)
			}
		})
	}
}

// every runs job now and then every interval until ctx ends, logging what it did.
func (m *Main) every(ctx context.Context, interval time.Duration, name string, job func(context.Context) (int, error)) {
	m.jobs.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if n, err := job(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error(name, "err", err)
			} else if n > 0 {
				m.Logger.Info(name, "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// URL is the base URL the server listens on, for tests and the welcome text.
func (m *Main) URL() string {
	addr := m.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

func (m *Main) printWelcome() {
	u := m.URL()
	fmt.Fprintf(m.Stdout, "Smart Onboarding is running on %s (database: %s)\n", u, m.db.Engine())
	fmt.Fprintf(m.Stdout, "  health:    %s/healthz   readiness: %s/readyz\n", u, u)
	fmt.Fprintf(m.Stdout, "  API docs:  %s/v1/openapi.json\n", u)
	if m.demo != nil {
		fmt.Fprintf(m.Stdout, "  demo:      %s/demo/   (its own project; SMARTONBOARD_DEMO=off turns it off)\n", u)
	}
	if b := m.Bootstrap; b.GeneratedSecretKey != "" || b.GeneratedPublicKey != "" {
		fmt.Fprintf(m.Stdout, "\nFirst start: created the default project with these keys. They are shown ONCE and\n"+
			"stored only as hashes; save them now (or set SMARTONBOARD_ADMIN_KEY / SMARTONBOARD_PUBLIC_KEY):\n")
		fmt.Fprintf(m.Stdout, "  secret key (admin API):  %s\n", b.GeneratedSecretKey)
		fmt.Fprintf(m.Stdout, "  public key (browser SDK): %s\n\n", b.GeneratedPublicKey)
	}
	if o := m.GeneratedOwner; o.Email != "" {
		fmt.Fprintf(m.Stdout, "First start: created the owner account of the dashboard (%s/admin/). Its password is\n"+
			"shown ONCE; sign in and keep it, or make another account with `smartonboard admin create`:\n", u)
		fmt.Fprintf(m.Stdout, "  email:    %s\n  password: %s\n\n", o.Email, o.Password)
	}
}

// Close stops accepting connections, lets in-flight requests finish within the
// shutdown timeout, stops background jobs and closes the database.
func (m *Main) Close() error {
	var err error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err = m.server.Shutdown(ctx); err != nil {
			_ = m.server.Close() // the timeout passed: cut what is left rather than hang
		}
		cancel()
		m.server = nil
	}
	if m.stopSeed != nil {
		m.stopSeed()
		m.seeding.Wait() // it writes through the ingester
		m.stopSeed = nil
	}
	if m.ingester != nil {
		m.ingester.Close() // commits what was queued before the database closes
	}
	if m.pipeline != nil {
		m.pipeline.Close() // after the last commit: what it has not consumed waits in the log
		m.pipeline = nil
	}
	if m.db != nil && m.closeDB != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if qerr := m.db.StopQueue(ctx); qerr != nil && err == nil {
			err = fmt.Errorf("stop the job queue: %w", qerr)
		}
		cancel()
	}
	if m.publisher != nil {
		m.publisher.close() // after the last commit, before the streams end
		m.publisher = nil
	}
	if m.stopJobs != nil {
		m.stopJobs()
		m.jobs.Wait()
		m.flushRejections() // the server is shut: nothing more is counted
	}
	if m.bus != nil {
		m.bus.Close()
	}
	if m.closeDB != nil {
		m.closeDB()
		m.closeDB = nil // Close may be called again (tests, signal after error)
	}
	return err
}

// flushRejections writes the rejection counts of the last seconds before the
// database closes; the counts of a failed write are lost with the process.
func (m *Main) flushRejections() {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	if _, err := m.api.FlushRejections(ctx); err != nil {
		m.Logger.Error("record rejected events at shutdown", "err", err)
	}
}

// trustedProxies parses SMARTONBOARD_TRUSTED_PROXIES, which Validate has checked.
func trustedProxies(entries []string) []netip.Prefix {
	var out []netip.Prefix
	for _, e := range entries {
		if p, err := config.ParseProxy(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}
