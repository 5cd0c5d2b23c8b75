package messaging

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/storage"
)

// Webhooks writes webhook rows inside a unit of work and wakes the
// dispatcher after commit (host/webhook's Dispatcher).
type Webhooks interface {
	Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error
	Nudge()
}

// DefaultBatch is the most units of work one group commit carries when
// Config.Batch is 0.
const DefaultBatch = 8

// Config configures a Service. Store, Session and Webhooks are required.
type Config struct {
	Store    storage.Store
	Session  message.Session
	Webhooks Webhooks
	// Owns, if set, says whether this host drives an instance (a fleet's
	// lease): the queue of an instance another host drives waits, untouched,
	// for that host to send it. nil owns every instance.
	Owns func(instanceID string) bool
	// Rate is the messages per second one instance sends at most; 0 or
	// less does not pace.
	Rate float64
	// Jitter is the most a random extra delay adds before each send
	// (ban avoidance), on top of the rate's interval.
	Jitter time.Duration
	// TTL is how long a message waits for its session before it fails
	// "expired"; 0 never.
	TTL time.Duration
	// MaxMedia bounds a message's media, given or fetched, in bytes.
	// Default 16 MiB.
	MaxMedia int64
	// MediaTimeout bounds fetching a media URL. Default 30s.
	MediaTimeout time.Duration
	// SendTimeout bounds one send, the server's acknowledgement included.
	// Default 60s.
	SendTimeout time.Duration
	// RetryDelay is how long a message waits after a send that failed for
	// a passing reason, and how often a worker looks again while its
	// session is down (Wake ends the wait sooner). Default 30s.
	RetryDelay time.Duration
	// Batch is the most units of work (a send's acknowledgement, an
	// incoming message, a receipt) one group commit
	// carries: those that arrive while a commit is under way are committed
	// together in the next transaction. 0 means DefaultBatch; 1 commits
	// each alone.
	Batch int
	// HistoryLimit bounds the messages stored from one history batch.
	// Default 1000.
	HistoryLimit int
	// Base64 reports whether an instance's webhooks carry media inline
	// (message.base64); nil means never.
	Base64 func(ctx context.Context, inst storage.Instance) bool
	// HTTPClient fetches media URLs; default a client with MediaTimeout.
	HTTPClient *http.Client
	Clock      clock.Clock
	// Random returns a uniform value in [0, 1) for the jitter; default
	// math/rand/v2.
	Random func() float64
	Logger *slog.Logger
	// Registerer, when set, gets the queue's metrics (metrics.go).
	Registerer prometheus.Registerer
}

// Service is the messaging service. It implements message.Traffic.
type Service struct {
	cfg     Config
	commits *storage.Committer
	metrics *metrics

	mu       sync.Mutex // guards workers, accepts, stopped, started
	workers  map[string]*worker
	accepts  map[string]*sync.Mutex
	stopped  bool
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
	stopOnce sync.Once
}

var _ message.Traffic = (*Service)(nil)

// New returns a service; Start resumes the queue.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Session == nil || cfg.Webhooks == nil {
		return nil, errors.New("messaging: Store, Session and Webhooks are required")
	}
	if cfg.MaxMedia <= 0 {
		cfg.MaxMedia = 16 << 20
	}
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = 30 * time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = time.Minute
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = 1000
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.MediaTimeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Random == nil {
		cfg.Random = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, commits: &storage.Committer{Store: cfg.Store, Max: cfg.Batch},
		workers: make(map[string]*worker), accepts: make(map[string]*sync.Mutex)}
	m, err := newMetrics(cfg.Registerer, s.queuedInstances)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// queuedInstances is how many instances have a worker: messages queued.
func (s *Service) queuedInstances() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(len(s.workers))
}

// Start resumes the queue: a worker for every instance with queued
// messages. It returns once they run.
func (s *Service) Start(ctx context.Context) error {
	ids, err := s.cfg.Store.InstancesWithQueued(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	for _, id := range ids {
		s.Wake(id)
	}
	return nil
}

// Stop stops the workers and waits for them; a send under way completes
// or is abandoned at ctx's end (it is sent again, with the same id, after
// a restart). Stop is idempotent and safe before Start.
func (s *Service) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		s.cancel()
	})
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wake tells the instance's worker to look at its queue now: a message
// was accepted, or the instance's session opened. It starts the worker
// when there is none.
func (s *Service) Wake(instanceID string) {
	s.mu.Lock()
	if s.stopped || !s.started {
		s.mu.Unlock()
		return
	}
	w := s.workers[instanceID]
	if w == nil {
		w = &worker{id: instanceID, kick: make(chan struct{}, 1)}
		s.workers[instanceID] = w
		s.wg.Add(1)
		go s.run(s.ctx, w)
	}
	s.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// acceptLock serialises one instance's accepts, so Seq order is commit
// order (see storage.MessageLog).
func (s *Service) acceptLock(instanceID string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.accepts[instanceID]
	if m == nil {
		m = new(sync.Mutex)
		s.accepts[instanceID] = m
	}
	return m
}
