package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/session/sessionstore"
	"github.com/wahost/wahost/storage"
)

// Handler receives what happens to the sessions, one call at a time per
// instance, in the order it happened. *executor.Executor implements it.
// Its methods may call the Manager's Disconnect, ResetSession, Recreate
// and Remove; they must not wait for Connect or PairPhone of the same
// instance, which run on the instance's own queue.
type Handler interface {
	// HandleDisconnect is told about every drop the host did not cause.
	HandleDisconnect(ctx context.Context, instanceID string, rep executor.Report) (executor.Result, error)
	// HandleConnected is told that a session logged in.
	HandleConnected(ctx context.Context, instanceID string, o executor.Opened) (storage.Instance, error)
	// HandleQR is given every QR code to show; false stops the login (the
	// QR limit was reached).
	HandleQR(ctx context.Context, instanceID string, qr executor.QRCode) (bool, error)
	// HandlePaired is told the device JID a pairing linked.
	HandlePaired(ctx context.Context, instanceID, jid string) error
}

var _ Handler = (*executor.Executor)(nil)

var _ executor.Sessions = (*Manager)(nil)

// Defaults for the zero values of Config.
const (
	// DefaultDialTimeout bounds the websocket dial and upgrade when
	// Config.HTTPClient is nil.
	DefaultDialTimeout = 30 * time.Second
	// DefaultKeepAliveLimit is how long keepalive pings may go unanswered
	// before the session is dropped with abi.KindKeepAliveTimeout.
	DefaultKeepAliveLimit = 5 * time.Minute
	// DefaultDisconnectGrace is how long a bare events.Disconnected waits
	// for the event that explains it (see Config.DisconnectGrace).
	DefaultDisconnectGrace = 200 * time.Millisecond
	// DefaultSentTTL is how long a sent message is kept for retry
	// receipts (Config.SentTTL).
	DefaultSentTTL = 24 * time.Hour
	// DefaultHistoryLimit bounds the messages of one history sync blob
	// (Config.HistoryLimit).
	DefaultHistoryLimit = 1000
)

// Config configures a Manager.
type Config struct {
	// Store reads the instances (Start, and the device JID an instance
	// was paired with).
	Store storage.Store
	// Devices is whatsmeow's device store on the same database.
	Devices *sessionstore.Store
	// HTTPClient opens the websockets, before and after login; nil means
	// a client with DefaultDialTimeout and the environment's proxy. Its
	// Timeout bounds the dial and the websocket upgrade only.
	HTTPClient *http.Client
	// MediaHTTPClient uploads and downloads media; nil means whatsmeow's
	// own client (no overall timeout: a transfer is bounded by the
	// caller's context).
	MediaHTTPClient *http.Client
	// Logger receives the sessions' logs and whatsmeow's; nil means
	// slog.Default().
	Logger *slog.Logger
	// Clock times QR codes, the inactivity timeout, the disconnect grace
	// and the durations reported; nil means the system clock.
	Clock clock.Clock
	// InactivityTimeout closes an instance that has not paired this long
	// after its login started (Evolution API's QR code timeout). The drop
	// is reported as abi.KindQRLimit: the login ran out. 0 turns it off.
	InactivityTimeout time.Duration
	// KeepAliveLimit drops a session whose keepalive pings have gone
	// unanswered for longer than this (abi.KindKeepAliveTimeout); 0 means
	// DefaultKeepAliveLimit, a negative value never drops.
	KeepAliveLimit time.Duration
	// DisconnectGrace is how long a bare events.Disconnected waits for the
	// event that explains it. whatsmeow dispatches the events of a close
	// on separate goroutines, so a <stream:error> can be delivered just
	// after the close it caused; within the grace it replaces the plain
	// "connection closed". 0 means DefaultDisconnectGrace.
	DisconnectGrace time.Duration

	// Traffic receives the sessions' incoming messages, receipts and
	// history (or see SetTraffic); nil acknowledges them unseen. See
	// doc.go, "Traffic".
	Traffic message.Traffic
	// Cache keeps each sent message for SentTTL, to answer retry
	// receipts after a restart; nil keeps none (whatsmeow still answers
	// for its last few hundred sends, in memory).
	Cache storage.Cache
	// SentTTL is how long a sent message stays in Cache; 0 means
	// DefaultSentTTL.
	SentTTL time.Duration
	// SendTimeout bounds the wait for the server's acknowledgement of a
	// send (not the upload or the encryption); 0 means whatsmeow's
	// default, 75 s.
	SendTimeout time.Duration
	// HistorySync downloads the history WhatsApp offers after a pairing
	// and hands it to Traffic.HandleHistory; off (false), nothing is
	// downloaded.
	HistorySync bool
	// HistoryLimit bounds the messages taken from one history sync blob;
	// 0 means DefaultHistoryLimit.
	HistoryLimit int
	// Watch, if set, is told what the sessions see of their traffic:
	// undecryptable messages, sends and their acknowledgements, receipts,
	// keepalive answers (host/traffic). Its thresholds raise degraded
	// events through Manager.Degraded.
	Watch Observer
	// Proxies chooses the proxy of each connection and records how it
	// fared; nil connects directly with HTTPClient.
	Proxies ProxyPicker
	// ProxyClient builds the HTTP client that carries a session's
	// websocket and media through a proxy; nil means proxy.HTTPClient
	// with HTTPClient's timeout. A test server's build tunnels to the fake
	// server's address instead of WhatsApp's.
	ProxyClient func(proxy.Endpoint) *http.Client
	// Owns, if set, says whether this host drives an instance (it holds
	// the instance's lease in a fleet): Start resumes, and Connect opens,
	// only the instances it owns. nil owns every instance.
	Owns func(instanceID string) bool
}

// Errors callers branch on.
var (
	// ErrClosed: the Manager was closed or the instance removed.
	ErrClosed = errors.New("session: closed")
	// ErrAlreadyConnected: the instance's connection is open or being
	// opened; Disconnect it first to start over.
	ErrAlreadyConnected = errors.New("session: already connected or connecting")
	// ErrNotConnected: the operation needs an open connection.
	ErrNotConnected = errors.New("session: not connected")
	// ErrPaired: the instance is already paired; phone-code pairing is for
	// a new login (reset the session first).
	ErrPaired = errors.New("session: instance is already paired")
	// ErrInterrupted: the host disconnected the instance while its
	// connect was in progress.
	ErrInterrupted = errors.New("session: disconnected while connecting")
	// ErrNotOwner: another host of the fleet drives the instance.
	ErrNotOwner = errors.New("session: another host drives this instance")
	// ErrNoHandler: SetHandler was not called.
	ErrNoHandler = errors.New("session: no handler set")
)

// Manager runs one whatsmeow client per instance. Every event a client
// emits becomes a job on its instance's queue, and the queue reports to
// the Handler in order. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	http    *http.Client
	ctx     context.Context // parent of every job; cancelled by Close
	cancel  context.CancelFunc
	handler Handler         // set before Start, read-only afterwards
	traffic message.Traffic // likewise

	mu       sync.Mutex // guards sessions, closed and wg.Add
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup // queue drains, timers, Start's connects

	proxyMu      sync.Mutex // guards proxyClients and media
	proxyClients map[proxy.Endpoint]*http.Client
	media        *http.Client
}

// New returns a Manager. Call SetHandler, then Start.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.KeepAliveLimit == 0 {
		cfg.KeepAliveLimit = DefaultKeepAliveLimit
	}
	if cfg.DisconnectGrace <= 0 {
		cfg.DisconnectGrace = DefaultDisconnectGrace
	}
	if cfg.SentTTL <= 0 {
		cfg.SentTTL = DefaultSentTTL
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = DefaultHistoryLimit
	}
	h := cfg.HTTPClient
	if h == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		h = &http.Client{Transport: tr, Timeout: DefaultDialTimeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg: cfg, log: cfg.Logger, http: h, ctx: ctx, cancel: cancel, traffic: cfg.Traffic,
		sessions: make(map[string]*session),
	}
}

// SetHandler sets who is told about the sessions. Call it before Start
// and before any Connect.
func (m *Manager) SetHandler(h Handler) { m.handler = h }

// SetTraffic sets who receives the sessions' messages, receipts and
// history, in place of Config.Traffic: the messaging service, which is
// built on the Manager (its message.Session) and so exists only after it.
// Call it before Start and before any Connect.
func (m *Manager) SetTraffic(t message.Traffic) { m.traffic = t }

// startParallelism bounds the connects Start runs at once.
const startParallelism = 8

// Start reconnects, in the background, every instance whose stored status
// is open or connecting, that has a paired device and no decided reconnect
// pending (executor.Resume schedules those at their decided time). It returns once the
// instances are listed; failures to connect are reported to the Handler
// like any other.
func (m *Manager) Start(ctx context.Context) error {
	if m.handler == nil {
		return ErrNoHandler
	}
	insts, err := m.cfg.Store.ListInstances(ctx)
	if err != nil {
		return fmt.Errorf("session: start: listing instances: %w", err)
	}
	var resume []string
	for _, inst := range insts {
		if inst.Status != storage.StatusOpen && inst.Status != storage.StatusConnecting {
			continue
		}
		if inst.Reconnect != nil {
			continue // a decided reconnect: the executor resumes it at its time
		}
		if !m.owns(inst.ID) {
			continue // another host's
		}
		if m.Resumable(ctx, inst) {
			resume = append(resume, inst.ID)
		}
	}
	if len(resume) == 0 {
		return nil
	}
	if !m.track() {
		return ErrClosed
	}
	go func() {
		defer m.wg.Done()
		sem := make(chan struct{}, startParallelism)
		var wg sync.WaitGroup
		for _, id := range resume {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := m.Connect(m.ctx, id); err != nil && !errors.Is(err, ErrClosed) {
					m.log.Info("resuming instance did not connect", "instance_id", id, "error", err)
				}
			}()
		}
		wg.Wait()
	}()
	m.log.InfoContext(ctx, "resuming instances", "count", len(resume))
	return nil
}

// owns reports whether this host drives the instance (Config.Owns).
func (m *Manager) owns(instanceID string) bool {
	return m.cfg.Owns == nil || m.cfg.Owns(instanceID)
}

// Resumable reports whether inst has a paired device to reconnect with;
// it logs why not.
func (m *Manager) Resumable(ctx context.Context, inst storage.Instance) bool {
	dev, err := m.findDevice(ctx, inst)
	if err != nil {
		m.log.WarnContext(ctx, "not resuming instance: its device cannot be read",
			"instance", inst.Name, "instance_id", inst.ID, "error", err)
		return false
	}
	if dev == nil {
		m.log.InfoContext(ctx, "not resuming instance: it has no paired device",
			"instance", inst.Name, "instance_id", inst.ID, "status", inst.Status)
		return false
	}
	return true
}

// Stop is Close bounded by ctx: the sessions are told to end at once,
// and Stop waits for them until ctx ends. It is idempotent and safe
// before Start.
func (m *Manager) Stop(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops every client and waits for the queues and timers to stop.
// Events still queued are dropped, and a handler call in progress has its
// context cancelled. Disconnects Close causes are not reported. It is
// idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	all := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	m.sessions = nil
	m.mu.Unlock()

	// In parallel: a session whose server is closing its socket waits
	// for whatsmeow to finish that close.
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.shutdown()
		}()
	}
	wg.Wait()
	m.cancel()
	m.wg.Wait()
	return nil
}

// track counts a goroutine the Manager waits for on Close; false means
// the Manager is closed and the goroutine must not start.
func (m *Manager) track() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	return true
}

// lookup returns the instance's session, nil when it has none.
func (m *Manager) lookup(id string) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[id]
}

// session returns the instance's session, creating it when needed.
func (m *Manager) session(id string) (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	s := m.sessions[id]
	if s == nil {
		s = newSession(m, id)
		m.sessions[id] = s
	}
	return s, nil
}

// forget removes s from the sessions, if it is still the instance's.
func (m *Manager) forget(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[s.id] == s {
		delete(m.sessions, s.id)
	}
}
