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
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/clock"
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
	trafficwatch "github.com/wahost/wahost/host/traffic"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/runtime"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/backend"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/purge"
	"github.com/wahost/wahost/storage/sessionstore"
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
	api         *api.Server
	evolution   *evolution.Server // Evolution API v2's routes, beside api's
	proxies     *proxy.Pools
	prober      *proxy.Prober
	qr          *qrHub
	apiKey      string
	probeAddr   string
	listener    net.Listener

	reloads chan reloadRequest
	closers []func(context.Context) error

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
func New(ctx context.Context, opts Options) (h *Host, err error) {
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
	h = &Host{opts: opts, cfg: cfg, clock: clock.Real(), reg: prometheus.NewRegistry(),
		reloads: make(chan reloadRequest), probeAddr: opts.ProbeAddr}
	if opts.Clock != nil {
		h.clock = opts.Clock
	}
	h.log, h.level = newLogger(cfg.Log, opts.Logger, opts.Stdout)
	defer func() {
		if err != nil {
			_ = h.close(context.WithoutCancel(ctx))
		}
	}()
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if h.dir, err = datadir.Open(cfg.DataDir); err != nil {
		return nil, err
	}
	driver := backend.DriverSQLite
	if cfg.Database.URL != "" {
		driver = backend.DriverPostgres
	}
	if h.store, err = backend.OpenStore(ctx, backend.StoreConfig{
		Driver: driver, URL: cfg.Database.URL, Schema: cfg.Database.Schema, MaxConns: cfg.Database.MaxConns,
	}, h.dir); err != nil {
		return nil, err
	}
	h.closers = append(h.closers, func(context.Context) error { return h.store.Close() })
	if h.cache, err = backend.OpenCache(backend.CacheConfig{
		RedisAddr: cfg.Cache.RedisAddr, RedisUsername: cfg.Cache.RedisUsername,
		RedisPassword: cfg.Cache.RedisPassword, RedisDB: cfg.Cache.RedisDB, Prefix: cfg.Cache.Prefix,
	}); err != nil {
		return nil, err
	}
	h.closers = append(h.closers, func(context.Context) error { return h.cache.Close() })
	if h.devices, err = sessionstore.Open(ctx, h.store, nil); err != nil {
		return nil, err
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
		return nil, err
	}
	h.closers = append(h.closers, h.policy.Close)
	if _, err := h.policy.Apply(ctx, specOf(cfg), "start"); err != nil {
		return nil, fmt.Errorf("loading the policy: %w", err)
	}

	sinks, err := h.newSinks(cfg)
	if err != nil {
		return nil, err
	}
	if h.hooks, err = webhook.New(webhook.Config{
		Sinks: sinks,
		Store: h.store, Global: destinationOf(cfg), Secret: cfg.Webhook.Secret, ServerURL: cfg.Webhook.ServerURL,
		Workers: cfg.Webhook.Workers, Timeout: cfg.Webhook.Timeout, MaxAttempts: cfg.Webhook.MaxAttempts,
		Lease: cfg.Webhook.Lease, RetryRule: cfg.Webhook.RetryRule, ExposeAPIKey: cfg.Webhook.ExposeAPIKey,
		Logger: h.log, Registerer: h.reg,
	}); err != nil {
		return nil, err
	}
	if err := h.hooks.Load(ctx); err != nil {
		return nil, err
	}
	h.purger = purge.New(purge.Config{Queue: h.store, Cache: h.cache, Logger: h.log})

	if err := h.newRollout(ctx, cfg); err != nil {
		return nil, err
	}

	var exec *executor.Executor
	h.sched = reconnect.New(reconnect.Config{
		Rate: cfg.Reconnect.Rate, Burst: cfg.Reconnect.Burst, Clock: h.clock,
		Fire: func(j reconnect.Job) { exec.Fire(j) },
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
		return nil, err
	}
	h.sessions = session.New(session.Config{
		Proxies: h.proxies, ProxyClient: opts.ProxyClient,
		Store: h.store, Devices: h.devices, HTTPClient: wa, Logger: h.log, Clock: sessionClock,
		InactivityTimeout: cfg.Session.InactivityTimeout, KeepAliveLimit: cfg.Session.KeepAliveLimit,
		MediaHTTPClient: opts.WhatsAppClient, Traffic: traffic{h}, Cache: h.cache,
		SendTimeout: min(cfg.Messages.SendTimeout, cfg.Traffic.AckTimeout),
		HistorySync: cfg.Messages.HistorySync, HistoryLimit: cfg.Messages.HistoryLimit, Watch: watch,
	})
	watch.SetRaiser(h.sessions)
	h.closers = append(h.closers, func(context.Context) error { return h.sessions.Close() })
	if h.messages, err = h.newMessaging(cfg); err != nil {
		return nil, err
	}
	h.closers = append(h.closers, h.messages.Stop)
	exec = executor.New(executor.Config{
		Store: h.store,
		Decider: disconnect.New(h.policy, disconnect.Options{
			Limits: abi.Limits{MaxDelay: cfg.Policy.MaxDelay}, Metrics: disconnect.NewMetrics(h.reg), Logger: h.log,
		}),
		Scheduler: h.sched, Sessions: h.sessions, Webhooks: h.hooks, Purger: h.purger, Files: h.dir,
		Settings: func(storage.Instance) abi.Settings { return h.policy.Settings() },
		QRLimit:  cfg.Session.QRLimit, Clock: h.clock, Logger: h.log, Candidate: h.policy.Candidate,
		Override: h.policy.Override, Rollout: h.rollout,
		Metrics: executor.NewMetrics(h.reg, h.sched.Len),
		OnEnd:   h.messages.FailQueued,
		Traffic: watch,
	})
	h.exec = exec
	h.qr = newQRHub(h.clock.Now)
	h.sessions.SetHandler(openTap{tap: tap{exec: exec, qr: h.qr}, messages: h.messages})

	if h.apiKey, err = h.loadAPIKey(); err != nil {
		return nil, err
	}
	if h.api, err = api.New(api.Config{
		Store: h.store, Executor: exec, Sessions: sessionsAPI{m: h.sessions, qr: h.qr}, QR: h.qr, Policy: h.policy,
		Reload:   func(ctx context.Context) (policy.Reload, error) { return h.Reload(ctx, "api") },
		Webhooks: h.hooks, HasPolicy: h.policy.HasOverride, Diagnose: h.diagnose, Ready: h.ready, Degraded: h.brokersDegraded, Gatherer: h.reg,
		Proxies: h.proxies,
		APIKey:  h.apiKey, MaxBody: cfg.HTTP.MaxBody, Logger: h.log,
		Commits: h.hooks.Committed, Replay: h.policy, Rollout: h.rollout,
		Messages: h.messages, MaxMedia: cfg.Messages.MaxMedia,
	}); err != nil {
		return nil, err
	}
	if h.evolution, err = h.newEvolution(cfg); err != nil {
		return nil, err
	}
	if h.listener, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
		return nil, &config.KeyError{Key: "http.addr", Err: fmt.Errorf("cannot listen: %w", err)}
	}
	return h, nil
}

// Addr is the address the API listens on.
func (h *Host) Addr() string { return h.listener.Addr().String() }

// APIKey is the key the API requires.
func (h *Host) APIKey() string { return h.apiKey }

// Run serves until ctx ends, then shuts down in order: the API stops
// taking requests, sessions close, background work drains, stores close.
func (h *Host) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	goRun := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if err := h.sched.Start(ctx); err != nil {
		return err
	}
	if err := h.purger.Start(ctx); err != nil {
		return err
	}
	if err := h.startBrokers(ctx); err != nil {
		return err
	}
	goRun("webhooks", h.hooks.Run)
	goRun("reload loop", h.reloadLoop)
	goRun("maintenance", h.maintain)
	goRun("rollout", h.runRollout)
	if err := h.watch(ctx, h.config()); err != nil {
		h.log.Warn("config watching is off", "error", err)
	}
	if err := h.messages.Start(ctx); err != nil {
		return fmt.Errorf("resuming the message queue: %w", err)
	}
	if err := h.prober.Start(ctx); err != nil {
		return err
	}
	if err := h.sessions.Start(ctx); err != nil {
		return fmt.Errorf("resuming sessions: %w", err)
	}

	srv := &http.Server{
		Handler: console.Wrap(h.evolution.Wrap(h.api)), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(h.api.CloseStreams) // Shutdown would wait for event streams
	go func() {
		if err := srv.Serve(h.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	h.banner()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		h.log.Error("stopping", "error", runErr)
	}
	h.log.Info("shutting down")
	stop, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stopCancel()
	_ = srv.Shutdown(stop)
	if err := h.sessions.Close(); err != nil {
		h.log.Warn("closing sessions", "error", err)
	}
	_ = h.messages.Stop(stop)
	_ = h.sched.Stop(stop)
	_ = h.purger.Stop(stop)
	cancel()
	wg.Wait()
	return errors.Join(runErr, h.close(stop))
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

// maintain prunes old history, delivered webhooks and messages past
// messages.retention once an hour.
func (h *Host) maintain(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		before := h.clock.Now().Add(-h.config().Database.HistoryRetention)
		if n, err := h.store.PruneDisconnects(ctx, before); err != nil {
			h.log.Warn("pruning disconnect history", "error", err)
		} else if n > 0 {
			h.log.Info("pruned disconnect history", "rows", n)
		}
		if _, err := h.rollout.CutEpisodes(ctx); err != nil {
			h.log.Warn("cutting outage episodes", "error", err)
		}
		if _, err := h.store.PruneDelivered(ctx, before); err != nil {
			h.log.Warn("pruning delivered webhooks", "error", err)
		}
		if n, err := h.messages.Prune(ctx, h.clock.Now().Add(-h.config().Messages.Retention)); err != nil {
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
