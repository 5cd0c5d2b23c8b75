package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/storage"
)

// ErrNotFailed reports a Redeliver of an event that has not failed: a
// pending event is still being retried and a delivered one was
// acknowledged by its receiver.
var ErrNotFailed = errors.New("webhook event has not failed: only failed events can be redelivered")

// Config configures a Dispatcher. Store is required; every other field
// has a default.
type Config struct {
	Store storage.Store
	// Global receives the events of every instance; URL may be empty.
	Global Destination
	// Secret keys the HMAC-SHA256 signature of every request; empty sends
	// them unsigned.
	Secret string
	// ServerURL is the envelope's server_url: this server's public URL.
	ServerURL string
	// Workers is how many deliveries run at once; 0 means 4.
	Workers int
	// Timeout bounds each request; 0 means 10 seconds. It must be shorter
	// than Lease.
	Timeout time.Duration
	// MaxAttempts is how many attempts an event gets before it is marked
	// failed; 0 means 10.
	MaxAttempts int
	// Lease is how long a claimed event stays reserved for this
	// dispatcher: after a crash its events go out again once their leases
	// end. 0 means one minute.
	Lease time.Duration
	// PollInterval is how often workers look for due events that no Nudge
	// announced (those left by a crashed dispatcher, say); 0 means 2
	// seconds.
	PollInterval time.Duration
	// WorkerID names this dispatcher in the outbox's claimed_by column;
	// empty means the host name and a random suffix. Two dispatchers on
	// one store must use different IDs.
	WorkerID string
	// HTTPClient sends the requests; nil means a client with keep-alive
	// connections for Workers requests per host. Redirects are never
	// followed: a 3xx is a permanent failure.
	HTTPClient *http.Client
	// Clock tells the time for retries, leases and timestamps; nil means
	// the system clock.
	Clock clock.Clock
	// Jitter returns a random duration in [0, d] for backoff; nil means a
	// uniform draw.
	Jitter func(d time.Duration) time.Duration
	// RetryRule is RetryWahost (when empty) or RetryEvolution.
	RetryRule string
	// ExposeAPIKey puts an instance's own token (storage.InstanceSettings
	// Token) in the envelope's apikey field, as Evolution API does with
	// AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES.
	ExposeAPIKey bool
	// Sinks are the message brokers events are published to besides
	// webhooks, each through its Publisher; an instance's own sink
	// settings apply to the kinds configured here only.
	Sinks []Sink
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger
	// Registerer, when set, gets the dispatcher's metrics.
	Registerer prometheus.Registerer
}

// Dispatcher writes webhooks to the outbox and delivers them. It is safe
// for concurrent use; Run runs at most once at a time.
type Dispatcher struct {
	mu        sync.Mutex // guards global, instances, tokens, holds, secret
	global    *route
	instances map[string]*route
	tokens    map[string]string // instance id → token for the envelope's apikey (ExposeAPIKey)
	// retired keeps the destinations of forgotten instances, whose last
	// events (instance.delete, remove.instance) still go out with their
	// custom headers. Lost on restart.
	retired map[string]*route
	holds   map[laneKey]time.Time // destinations whose next events wait for a retry due then
	secret  string
	sinks   map[string]*sinkState // by kind; the routes are guarded, the map is fixed after New

	sinkKinds []string // sorted keys of sinks

	cfg        Config // defaults filled in
	store      storage.Store
	clock      clock.Clock
	log        *slog.Logger
	client     *http.Client
	metrics    *metrics
	renewBelow time.Duration // a lease with less left is renewed before an attempt
	nudge      chan struct{}
	running    atomic.Bool
	commits    commitSignal // wakes event stream readers on Nudge

	abortMu sync.Mutex         // guards abort
	abort   context.CancelFunc // cancels the deliveries of the current Run

	life lifecycle // Start and Stop
}

// Abort cancels the deliveries and outbox writes of a Run that is
// draining, so that a stop deadline bounds it: the events it did not
// record as delivered are claimed again after their lease.
func (d *Dispatcher) Abort() {
	d.abortMu.Lock()
	defer d.abortMu.Unlock()
	if d.abort != nil {
		d.abort()
	}
}

// New returns a dispatcher; Run starts its workers.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhook: new dispatcher: no store")
	}
	cfg.Workers = orDefault(cfg.Workers, 4)
	cfg.Timeout = orDefault(cfg.Timeout, 10*time.Second)
	cfg.MaxAttempts = orDefault(cfg.MaxAttempts, 10)
	cfg.Lease = orDefault(cfg.Lease, time.Minute)
	cfg.PollInterval = orDefault(cfg.PollInterval, 2*time.Second)
	if cfg.Timeout >= cfg.Lease {
		return nil, fmt.Errorf("webhook: new dispatcher: timeout %s must be shorter than lease %s, or another worker may deliver an event while a request for it still runs", cfg.Timeout, cfg.Lease)
	}
	if err := CheckRetryRule(cfg.RetryRule); err != nil {
		return nil, fmt.Errorf("webhook: new dispatcher: %w", err)
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = defaultWorkerID()
	}
	if err := storage.ValidateOwner("worker id", cfg.WorkerID); err != nil {
		return nil, fmt.Errorf("webhook: new dispatcher: %w", err)
	}
	global, err := compile(cfg.Global)
	if err != nil {
		return nil, fmt.Errorf("webhook: new dispatcher: global %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Jitter == nil {
		cfg.Jitter = fullJitter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sinks, kinds, err := newSinkStates(cfg.Sinks)
	if err != nil {
		return nil, fmt.Errorf("webhook: new dispatcher: %w", err)
	}
	m, err := newMetrics(cfg.Registerer, kinds)
	if err != nil {
		return nil, fmt.Errorf("webhook: new dispatcher: %w", err)
	}
	return &Dispatcher{
		global:     global,
		instances:  make(map[string]*route),
		tokens:     make(map[string]string),
		retired:    make(map[string]*route),
		holds:      make(map[laneKey]time.Time),
		secret:     cfg.Secret,
		sinks:      sinks,
		sinkKinds:  kinds,
		cfg:        cfg,
		store:      cfg.Store,
		clock:      cfg.Clock,
		log:        cfg.Logger,
		client:     httpClient(cfg.HTTPClient, cfg.Workers),
		metrics:    m,
		renewBelow: cfg.Timeout + (cfg.Lease-cfg.Timeout)/2,
		nudge:      make(chan struct{}, 1),
	}, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	if len(host) > 40 {
		host = host[:40]
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "webhook-" + host + "-" + hex.EncodeToString(b[:])
}

// httpClient returns a copy of c (or a new client) that does not follow
// redirects: a redirected POST would lose its body or its signature.
func httpClient(c *http.Client, workers int) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(workers, 2)
		out.Transport = t
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// WorkerID returns the name this dispatcher claims events under.
func (d *Dispatcher) WorkerID() string { return d.cfg.WorkerID }

// Nudge wakes the workers to look for new events; call it after a unit of
// work that enqueued webhooks commits. It never blocks.
func (d *Dispatcher) Nudge() {
	d.commits.broadcast()
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// SetGlobal replaces the global destination for events enqueued from now
// on. An invalid destination is logged and the previous one kept; check
// it first with Destination.Validate.
func (d *Dispatcher) SetGlobal(dst Destination) {
	r, err := compile(dst)
	if err != nil {
		d.log.Error("webhook: keeping the previous global destination", "err", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.global = r
}

// SetSecret replaces the signing secret for requests sent from now on;
// empty sends them unsigned.
func (d *Dispatcher) SetSecret(secret string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.secret = secret
}

// SetInstance sets an instance's own destination from its settings, for
// events enqueued from now on: none while WebhookDisabled, with its custom
// headers otherwise. With ExposeAPIKey, the settings' Token becomes the
// envelope's apikey. Settings the store accepted are always valid; others
// are logged and the previous destination kept.
func (d *Dispatcher) SetInstance(instanceID string, s storage.InstanceSettings) {
	dst := Destination{URL: s.WebhookURL, Events: s.WebhookEvents, ByEvents: s.WebhookByEvents, Headers: s.WebhookHeaders}
	if s.WebhookDisabled {
		dst.URL = ""
	}
	r, err := compile(dst)
	if err != nil {
		d.log.Error("webhook: keeping the previous destination of instance", "instance_id", instanceID, "err", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setSinksLocked(instanceID, s)
	if d.cfg.ExposeAPIKey && s.Token != "" {
		d.tokens[instanceID] = s.Token
	} else {
		delete(d.tokens, instanceID)
	}
	if r == nil {
		delete(d.instances, instanceID)
		return
	}
	d.instances[instanceID] = r
}

// ForgetInstance drops an instance's own destination. Events already
// enqueued for it are still delivered, with its custom headers.
func (d *Dispatcher) ForgetInstance(instanceID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.instances[instanceID]; r != nil {
		d.retired[instanceID] = r
	}
	delete(d.instances, instanceID)
	delete(d.tokens, instanceID)
	d.setSinksLocked(instanceID, storage.InstanceSettings{})
}

// Load reads every instance's settings from the store; call it once at
// start, before the first Enqueue.
func (d *Dispatcher) Load(ctx context.Context) error {
	insts, err := d.store.ListInstances(ctx)
	if err != nil {
		return fmt.Errorf("webhook: load destinations: %w", err)
	}
	for _, inst := range insts {
		s, err := d.store.Settings(ctx, inst.ID)
		if err != nil {
			return fmt.Errorf("webhook: load destination of instance %s: %w", inst.Name, err)
		}
		d.SetInstance(inst.ID, s)
	}
	return nil
}

// Redeliver makes a failed event due again with a fresh attempt budget.
// It fails with an error wrapping storage.ErrNotFound when the event does
// not exist (or was pruned) and ErrNotFailed when it has not failed.
func (d *Dispatcher) Redeliver(ctx context.Context, id string) error {
	ev, err := d.store.OutboxEvent(ctx, id)
	if err != nil {
		return fmt.Errorf("webhook: redeliver %s: %w", id, err)
	}
	if ev.FailedAt == nil {
		return fmt.Errorf("webhook: redeliver %s: %w", id, ErrNotFailed)
	}
	if err := d.store.Requeue(ctx, id); err != nil {
		return fmt.Errorf("webhook: redeliver %s: %w", id, err)
	}
	d.Nudge()
	return nil
}
