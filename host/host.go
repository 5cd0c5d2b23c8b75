// Package host is wahost's composition root: it opens the store, the
// cache and whatsmeow's session store, loads the policy, and wires the
// disconnect pipeline —
//
//	session (whatsmeow events, per-instance order)
//	  → executor (input from state and history)
//	  → disconnect (the policy, with fallback) → runtime (WASM)
//	  → executor: one transaction (state, history, outbox)
//	  → reconnect scheduler | session cleanup; webhook dispatcher
//
// — then serves the admin API and runs the reload loop until its context
// ends. The subpackages do the work; this package only connects them.
package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/cluster"
	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/console"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/evolution"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessionstore"
	trafficwatch "github.com/wahost/wahost/host/traffic"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/runtime"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/backend"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/purge"
)

// Options are what the command line passes besides the config.
type Options struct {
	// ConfigPath is the YAML file, or empty for the embedded defaults.
	ConfigPath string
	// Environ is the environment (os.Environ()); Flags the dotted keys
	// set on the command line.
	Environ []string
	Flags   map[string]any
	// Stdout receives the start banner; nil means os.Stdout.
	Stdout io.Writer
	// Logger overrides the logger the config describes (tests).
	Logger *slog.Logger
	// WhatsAppClient, if set, is the HTTP client sessions dial WhatsApp
	// with (tests route it to an in-process server).
	WhatsAppClient *http.Client
	// ProbeAddr is the endpoint diagnostics probe; default
	// DefaultProbeAddr.
	ProbeAddr string
	// Clock, if set, times decisions and reconnects (the executor and the
	// scheduler): tests move it to see a reconnect happen at the decided
	// time.
	Clock clock.Clock
	// SessionClock, if set, times the sessions' QR codes, inactivity and
	// disconnect grace (tests); whatsmeow's own timers keep real time.
	SessionClock clock.Clock
	// ProxyClient, if set, builds the HTTP client that carries a session
	// through a proxy (tests tunnel to an in-process server through a
	// real proxy); nil dials WhatsApp through it.
	ProxyClient func(proxy.Endpoint) *http.Client
	// Check opens everything for a check (serve --check): New does every
	// start check, a generated API key is neither kept nor printed, and
	// the caller calls Close instead of Run.
	Check bool
}

// Host is a running wahost.
type Host struct {
	opts        Options
	cfg         *config.Config
	log         *slog.Logger
	level       *slog.LevelVar
	clock       clock.Clock
	reg         *prometheus.Registry
	dir         datadir.Dir
	store       backend.Store
	cache       storage.Cache
	devices     *sessionstore.Store
	policy      *policy.Manager
	rollout     *rollout.Controller
	exec        *executor.Executor
	sched       *reconnect.Scheduler
	sessions    *session.Manager
	messages    *messaging.Service
	hooks       *webhook.Dispatcher
	brokers     []broker // the event sinks besides webhooks
	brokerKinds []string // their kinds, as host/evolution names them
	purger      *purge.Purger
	depErrors   *prometheus.CounterVec // wahost_dependency_errors_total
	redis       *cacheHealth           // nil without Redis
	api         *api.Server
	evolution   *evolution.Server // Evolution API v2's routes, beside api's
	proxies     *proxy.Pools
	cluster     *cluster.Coordinator // nil outside a fleet
	prober      *proxy.Prober
	qr          *qrHub
	apiKey      string
	probeAddr   string
	listener    net.Listener

	reloads chan reloadRequest
	hup     chan os.Signal // SIGHUP, subscribed in New so that an early one cannot kill the process
	served  chan struct{}  // closed when the API server returns
	closers []func(context.Context) error
	parts   []part // started by Run, stopped in reverse

	cfgMu     sync.Mutex // guards cfg after New, stopWatch
	stopWatch context.CancelFunc
}

// config returns the configuration in force.
func (h *Host) config() *config.Config {
	h.cfgMu.Lock()
	defer h.cfgMu.Unlock()
	return h.cfg
}

// HostInstance is the pseudo-instance host-wide webhooks (policy.reloaded,
// policy.reload_failed) are queued under; their envelope has no instance.
const HostInstance = "00000000-0000-0000-0000-000000000000"

// New loads the config and opens everything; Run serves.
func New(ctx context.Context, opts Options) (*Host, error) {
	cfg, err := config.Load(opts.ConfigPath, opts.Environ, opts.Flags)
	if err != nil {
		return nil, err
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.ProbeAddr == "" {
		opts.ProbeAddr = DefaultProbeAddr
	}
	h := &Host{opts: opts, cfg: cfg, clock: clock.Real(), reg: prometheus.NewRegistry(),
		reloads: make(chan reloadRequest), probeAddr: opts.ProbeAddr}
	if opts.Clock != nil {
		h.clock = opts.Clock
	}
	h.log, h.level = newLogger(cfg.Log, opts.Logger, opts.Stdout)
	h.hup = make(chan os.Signal, 1)
	signal.Notify(h.hup, syscall.SIGHUP)
	h.closers = append(h.closers, func(context.Context) error { signal.Stop(h.hup); return nil })
	if err := h.open(ctx); err != nil {
		// Close what was opened before the failure, in reverse order,
		// and remove a data directory this start created.
		_ = h.close(context.WithoutCancel(ctx))
		_ = h.dir.RemoveCreated()
		return nil, err
	}
	return h, nil
}

// open opens, in order, everything New returns; on failure the caller
// closes what open appended to h.closers.
func (h *Host) open(ctx context.Context) (err error) {
	cfg, opts := h.cfg, h.opts
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// The port first: it is the cheapest check and the commonest mistake.
	if h.listener, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
		return &config.KeyError{Key: "http.addr", Err: fmt.Errorf("cannot listen on %s: %w", cfg.HTTP.Addr, err)}
	}

	if h.dir, err = datadir.Open(cfg.DataDir); err != nil {
		return &config.KeyError{Key: "data_dir", Err: err}
	}
	if cfg.Database.URL == "" && !opts.Check {
		// SQLite is one host: a second process on the directory would
		// drive the same devices.
		unlock, err := h.dir.Lock()
		if err != nil {
			return &config.KeyError{Key: "data_dir", Err: err}
		}
		h.closers = append(h.closers, func(context.Context) error { return unlock() })
	}
	driver := backend.DriverSQLite
	if cfg.Database.URL != "" {
		driver = backend.DriverPostgres
	}
	if h.store, err = backend.OpenStore(ctx, backend.StoreConfig{
		Driver: driver, URL: cfg.Database.URL, Schema: cfg.Database.Schema, MaxConns: cfg.Database.MaxConns,
	}, h.dir); err != nil {
		return storeError(cfg.Database.URL, err)
	}
	h.closers = append(h.closers, func(context.Context) error { return h.store.Close() })
	h.depErrors = newDependencyErrors(h.reg)
	h.reg.MustRegister(newBacklogCollector(h.store, h.depErrors))
	if err := h.newCluster(cfg); err != nil {
		return err
	}
	if h.cache, err = backend.OpenCache(backend.CacheConfig{
		RedisAddr: cfg.Cache.RedisAddr, RedisUsername: cfg.Cache.RedisUsername,
		RedisPassword: cfg.Cache.RedisPassword, RedisDB: cfg.Cache.RedisDB, Prefix: cfg.Cache.Prefix,
	}); err != nil {
		return err
	}
	h.closers = append(h.closers, func(context.Context) error { return h.cache.Close() })
	if p, ok := h.cache.(pinger); ok && cfg.Cache.RedisAddr != "" {
		h.redis = newCacheHealth(p, cfg.Cache.RedisAddr, h.log, h.reg, h.depErrors.WithLabelValues("redis"))
		_ = h.redis.check(ctx) // unreachable: said once, retried by Run
	}
	if h.devices, err = sessionstore.Open(ctx, h.store, nil); err != nil {
		return err
	}
	h.closers = append(h.closers, func(context.Context) error { return h.devices.Close() })

	if h.policy, err = policy.New(ctx, policy.Config{
		Engine: runtime.Config{
			CacheDir: cfg.Policy.CacheDir, PoolSize: cfg.Policy.PoolSize,
			CallTimeout: cfg.Policy.Timeout, MemoryLimitPages: cfg.Policy.MemoryPages,
		},
		Breaker:    runtime.BreakerConfig{Threshold: cfg.Policy.BreakerFaults, Window: cfg.Policy.BreakerWindow},
		Logger:     h.log,
		Registerer: h.reg,
	}); err != nil {
		return err
	}
	h.closers = append(h.closers, h.policy.Close)
	if _, err := h.policy.Apply(ctx, specOf(cfg), policy.TriggerStart); err != nil {
		return policyError(err)
	}

	sinks, err := h.newSinks(cfg)
	if err != nil {
		return err
	}
	if h.hooks, err = webhook.New(webhook.Config{
		Sinks: sinks,
		Store: h.store, Global: destinationOf(cfg), Secret: cfg.Webhook.Secret, ServerURL: cfg.Webhook.ServerURL,
		Workers: cfg.Webhook.Workers, Timeout: cfg.Webhook.Timeout, MaxAttempts: cfg.Webhook.MaxAttempts,
		Lease: cfg.Webhook.Lease, RetryRule: cfg.Webhook.RetryRule, ExposeAPIKey: cfg.Webhook.ExposeAPIKey,
		Logger: h.log, Registerer: h.reg,
	}); err != nil {
		return err
	}
	if err := h.hooks.Load(ctx); err != nil {
		return err
	}
	h.hooks.WakeOn(h.store)
	h.purger = purge.New(purge.Config{Queue: h.store, Cache: h.cache, Logger: h.log})

	if err := h.newRollout(ctx, cfg); err != nil {
		return err
	}

	var exec *executor.Executor
	h.sched = reconnect.New(reconnect.Config{
		Rate: cfg.Reconnect.Rate, Burst: cfg.Reconnect.Burst, Clock: h.clock,
		Fire: func(j reconnect.Job) {
			if h.owns(j.InstanceID) { // another host of the fleet reconnects it
				exec.Fire(j)
			}
		},
	})
	sessionClock := opts.SessionClock
	if sessionClock == nil {
		sessionClock = clock.Real()
	}
	wa := opts.WhatsAppClient
	if wa == nil {
		// Timeout bounds dialing and the websocket upgrade (session.Config).
		wa = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: cfg.Session.ConnectTimeout}
	}
	th := cfg.Traffic.Thresholds
	watch := trafficwatch.New(trafficwatch.Thresholds{
		Undecryptable: th.Undecryptable, UnackedSends: th.UnackedSends, SendErrors: th.SendErrors,
		ReceiptSilence: th.ReceiptSilence,
	}, h.clock)
	if err := h.newProxies(cfg); err != nil {
		return err
	}
	h.sessions = session.New(session.Config{
		Proxies: h.proxies, ProxyClient: opts.ProxyClient,
		Store: h.store, Devices: h.devices, HTTPClient: wa, Logger: h.log, Clock: sessionClock,
		InactivityTimeout: cfg.Session.InactivityTimeout, KeepAliveLimit: cfg.Session.KeepAliveLimit,
		MediaHTTPClient: opts.WhatsAppClient, Traffic: traffic{h}, Cache: h.cache,
		SendTimeout: min(cfg.Messages.SendTimeout, cfg.Traffic.AckTimeout),
		HistorySync: cfg.Messages.HistorySync, HistoryLimit: cfg.Messages.HistoryLimit, Watch: watch,
		Owns: h.owns,
	})
	watch.SetRaiser(h.sessions)
	h.closers = append(h.closers, func(context.Context) error { return h.sessions.Close() })
	if h.messages, err = h.newMessaging(cfg); err != nil {
		return err
	}
	h.closers = append(h.closers, h.messages.Stop)
	exec = executor.New(executor.Config{
		Store: h.store,
		Decider: disconnect.New(h.policy, disconnect.Options{
			LiveLimits: h.policy.Limits, Metrics: disconnect.NewMetrics(h.reg), Logger: h.log,
		}),
		Scheduler: h.sched, Sessions: h.sessions, Webhooks: h.hooks, Purger: h.purger, Files: h.dir,
		Settings: func(storage.Instance) abi.Settings { return h.policy.Settings() },
		QRLimit:  cfg.Session.QRLimit, Clock: h.clock, Logger: h.log, Candidate: h.policy.Candidate,
		Override: h.policy.Override, Rollout: h.rollout,
		Metrics: executor.NewMetrics(h.reg, h.sched.Len),
		OnEnd:   h.messages.FailQueued,
		Traffic: watch,
		Proxies: policyProxies{h.proxies},
	})
	h.exec = exec
	h.qr = newQRHub(h.clock.Now)
	h.sessions.SetHandler(openTap{tap: tap{exec: exec, qr: h.qr}, messages: h.messages})

	if h.apiKey, err = h.loadAPIKey(); err != nil {
		return err
	}
	if h.api, err = api.New(api.Config{
		Store: h.store, Executor: exec, Sessions: sessionsAPI{m: h.sessions, qr: h.qr}, QR: h.qr, Policy: h.policy,
		Reload:   func(ctx context.Context) (policy.Reload, error) { return h.Reload(ctx, "api") },
		Webhooks: h.hooks, HasPolicy: h.policy.HasOverride, Diagnose: h.diagnose, Ready: h.ready, Degraded: h.degraded,
		Gatherer: h.reg, Proxies: h.proxies,
		APIKey: h.apiKey, MaxBody: cfg.HTTP.MaxBody, Logger: h.log,
		Commits: h.hooks.Committed, Replay: h.policy, Rollout: h.rollout,
		Messages: h.messages, MaxMedia: cfg.Messages.MaxMedia, Fleet: fleetView{h},
	}); err != nil {
		return err
	}
	if h.evolution, err = h.newEvolution(cfg); err != nil {
		return err
	}
	return nil
}

// Close closes what New opened, for a host that is not run (serve
// --check). Run closes everything itself.
func (h *Host) Close(ctx context.Context) error { return h.close(ctx) }

// Degraded returns why the host would run degraded (Redis unreachable),
// or nil.
func (h *Host) Degraded() error { return h.degraded(context.Background()) }

// Addr is the address the API listens on.
func (h *Host) Addr() string { return h.listener.Addr().String() }

// APIKey is the key the API requires.
func (h *Host) APIKey() string { return h.apiKey }

// Run serves until ctx ends, then stops everything within
// http.shutdown_timeout: the API stops taking requests, then the parts
// stop in the reverse of their start — sessions close, the message queue
// and the reconnects stop, changes waiting for the store finish, the
// loops end, webhooks drain — and the stores close. A failure to start
// stops what had started.
func (h *Host) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 8)
	srv := &http.Server{
		Handler: h.forwarding(console.Wrap(h.evolution.Wrap(h.api))), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(h.api.CloseStreams) // Shutdown would wait for event streams
	runErr := h.start(runCtx, srv, errc)
	switch {
	case runErr != nil && ctx.Err() != nil:
		runErr = nil // stopped while starting
	case runErr != nil:
		h.log.Error("start failed", "error", runErr)
	default:
		h.banner()
		select {
		case <-runCtx.Done():
		case runErr = <-errc:
			h.log.Error("stopping", "error", runErr)
		}
	}
	return errors.Join(runErr, h.stop(ctx, srv))
}

// start starts the parts in order, each added to h.parts before its Start
// so that the stop covers a part whose start was cut short.
func (h *Host) start(ctx context.Context, srv *http.Server, errc chan<- error) error {
	h.parts = nil
	begin := func(name string, c component) error {
		h.parts = append(h.parts, part{name, c})
		if err := c.Start(ctx); err != nil {
			return fmt.Errorf("starting %s: %w", name, err)
		}
		return nil
	}
	if err := h.watch(ctx, h.config()); err != nil {
		h.log.Warn("config watching is off", "error", err)
	}
	for _, p := range h.components(errc) {
		if err := begin(p.name, p.c); err != nil {
			return err
		}
	}
	h.served = make(chan struct{})
	go func() {
		defer close(h.served)
		if err := srv.Serve(h.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	return nil
}

// components are the host's long-running parts in start order; the
// stop runs them in reverse.
func (h *Host) components(errc chan<- error) []part {
	// A database that blips between New and Run delays the start; it does
	// not end the process.
	whenReachable := func(what string, fn func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error { return h.untilReachable(ctx, what, func() error { return fn(ctx) }) }
	}
	// The brokers start before the dispatcher that publishes to them and
	// stop after it.
	var steps []part
	for i, b := range h.brokers {
		steps = append(steps, part{"event sink " + h.brokerKinds[i], b})
	}
	steps = append(steps,
		part{"webhooks", h.hooks},
		part{"reload loop", &loop{name: "reload loop", run: h.reloadLoop, errc: errc}},
		part{"maintenance", &loop{name: "maintenance", run: h.maintain, errc: errc}},
		part{"rollout", &loop{name: "rollout", run: h.runRollout, errc: errc}},
	)
	if h.redis != nil {
		steps = append(steps, part{"redis watch", &loop{name: "redis watch", run: h.redis.run, errc: errc}})
	}
	steps = append(steps,
		part{"purger", h.purger},
	)
	if h.cluster != nil {
		// Before the reconnects and the sessions, which drive only the
		// instances it leases; stopped after them, so that the leases
		// are released once the sessions are closed.
		steps = append(steps, part{"cluster", starting{h.cluster, whenReachable("joining the fleet", h.cluster.Start)}})
	}
	steps = append(steps,
		part{"executor", stopOnly(h.exec.Stop)},
		part{"reconnect scheduler", starting{h.sched, func(ctx context.Context) error {
			if err := h.sched.Start(ctx); err != nil {
				return err
			}
			return whenReachable("resuming reconnects", func(ctx context.Context) error {
				_, err := h.exec.Resume(ctx)
				return err
			})(ctx)
		}}},
		part{"message queue", starting{h.messages, whenReachable("resuming the message queue", h.messages.Start)}},
		part{"proxy prober", h.prober},
		part{"sessions", starting{h.sessions, whenReachable("resuming sessions", h.sessions.Start)}},
	)
	return steps
}

// untilReachable runs fn, again with back-off while the store is
// unreachable, until it succeeds, fails otherwise or ctx ends.
func (h *Host) untilReachable(ctx context.Context, what string, fn func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !errors.Is(err, storage.ErrUnavailable) {
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}
		h.log.Warn("store unreachable; retrying", "step", what, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, err)
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// stop ends everything Run started under one deadline, then closes the
// stores. Work the deadline cuts short is recorded well enough to resume:
// reconnects are persisted, webhooks are claimed again after their lease.
func (h *Host) stop(parent context.Context, srv *http.Server) error {
	h.log.Info("shutting down")
	stop, stopCancel := context.WithTimeout(context.WithoutCancel(parent), h.config().HTTP.ShutdownTimeout)
	defer stopCancel()
	var errs []error
	note := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", what, err))
		}
	}
	note("the API", srv.Shutdown(stop))
	if h.served != nil {
		select { // Serve returns at once after Shutdown
		case <-h.served:
		case <-stop.Done():
		}
	}
	for i := len(h.parts) - 1; i >= 0; i-- {
		note(h.parts[i].name, h.parts[i].c.Stop(stop))
	}
	note("stores", h.close(stop))
	return errors.Join(errs...)
}

func (h *Host) close(ctx context.Context) error {
	var errs []error
	if h.listener != nil {
		_ = h.listener.Close()
	}
	for i := len(h.closers) - 1; i >= 0; i-- {
		if err := h.closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	h.closers = nil
	return errors.Join(errs...)
}

// ready is /readyz: the database answers and a policy is loaded.
func (h *Host) ready(ctx context.Context) error {
	if err := h.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !h.policy.Loaded() {
		return errors.New("no policy loaded")
	}
	return nil
}

// degraded is /readyz's reason to answer "degraded": the host serves, a
// dependency it can do without (Redis) does not answer.
func (h *Host) degraded(context.Context) error {
	var errs []error
	if h.redis != nil {
		errs = append(errs, h.redis.degraded())
	}
	errs = append(errs, h.brokersDegraded())
	return errors.Join(errs...)
}

// maintain prunes old history, delivered webhooks and messages past
// messages.retention once an hour.
func (h *Host) maintain(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		before := h.clock.Now().Add(-h.config().Database.HistoryRetention)
		cfg := h.config()
		h.prune(ctx, "disconnect history", before, h.store.PruneDisconnects)
		if _, err := h.rollout.CutEpisodes(ctx); err != nil {
			h.log.Warn("cutting outage episodes", "error", err)
		}
		h.prune(ctx, "delivered webhooks", before, h.store.PruneDelivered)
		h.prune(ctx, "failed webhooks", h.clock.Now().Add(-cfg.Webhook.FailedRetention), h.store.PruneFailed)
		if n, err := h.messages.Prune(ctx, h.clock.Now().Add(-cfg.Messages.Retention)); err != nil {
			h.log.Warn("pruning messages", "error", err)
		} else if n > 0 {
			h.log.Info("pruned messages", "rows", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// pruneBatch is how many rows one pruning statement deletes: a long
// backlog goes in many short statements, never one long lock.
const pruneBatch = storage.MaxPage

// prune deletes what fn finds before before, a batch at a time, until a
// batch comes back short; a failure is logged and counted.
func (h *Host) prune(ctx context.Context, what string, before time.Time, fn func(context.Context, time.Time, int) (int64, error)) {
	var total int64
	for ctx.Err() == nil {
		n, err := fn(ctx, before, pruneBatch)
		total += n
		if err != nil {
			h.depErrors.WithLabelValues("store").Inc()
			h.log.Warn("pruning "+what, "error", err)
			break
		}
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		h.log.Info("pruned "+what, "rows", total)
	}
}

// loadAPIKey returns the configured key, or the one kept in the data
// directory, generating and printing it on first start.
func (h *Host) loadAPIKey() (string, error) {
	if h.cfg.HTTP.APIKey != "" {
		return h.cfg.HTTP.APIKey, nil
	}
	path := filepath.Join(h.dir.Root(), "api-key")
	if b, err := os.ReadFile(path); err == nil {
		if key := strings.TrimSpace(string(b)); key != "" {
			return key, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the API key: %w", err)
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	key := hex.EncodeToString(raw[:])
	if h.opts.Check {
		return key, nil // a check neither keeps nor prints a key
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("saving the API key: %w", err)
	}
	fmt.Fprintf(h.opts.Stdout, "\nGenerated an API key (kept in %s; set http.api_key or WAHOST_API_KEY to choose one):\n\n    %s\n\n", path, key)
	return key, nil
}

func (h *Host) banner() {
	base := "http://" + h.Addr()
	fmt.Fprintf(h.opts.Stdout, `wahost is serving on %[1]s (policy %[2]s, data in %[3]s)

Create an instance and show its QR code (scan it in WhatsApp > Linked devices):

    export WAHOST_API_KEY=$(cat %[4]s)   # or the key you configured
    curl -s -H "apikey: $WAHOST_API_KEY" -d '{"name":"demo"}' %[1]s/v1/instances
    curl -s -H "apikey: $WAHOST_API_KEY" -X POST %[1]s/v1/instances/demo/connect

The API is described at %[1]s/openapi.yaml; metrics at %[1]s/metrics.
`, base, h.config().Policy.Module, h.dir.Root(), filepath.Join(h.dir.Root(), "api-key"))
}

func newLogger(c config.Log, override *slog.Logger, out io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(parseLevel(c.Level))
	if override != nil {
		return override, level
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), level
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), level
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

func specOf(cfg *config.Config) policy.Spec {
	spec := policy.Spec{
		Module: cfg.Policy.Module, SHA256: cfg.Policy.SHA256, Settings: abi.Settings(cfg.PolicySettings()),
		MaxDelay: cfg.Policy.MaxDelay, Candidate: cfg.Policy.Candidate, CandidateSHA256: cfg.Policy.CandidateSHA256,
	}
	for name, o := range cfg.Policy.Overrides {
		if spec.Overrides == nil {
			spec.Overrides = make(map[string]policy.Override)
		}
		spec.Overrides[name] = policy.Override{Module: o.Module, SHA256: o.SHA256, Settings: o.OverrideSettings()}
	}
	return spec
}

func destinationOf(cfg *config.Config) webhook.Destination {
	return webhook.Destination{URL: cfg.Webhook.URL, Events: cfg.Webhook.Events, ByEvents: cfg.Webhook.ByEvents}
}
