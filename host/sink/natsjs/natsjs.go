// Package natsjs publishes wahost's events to NATS JetStream with
// Evolution API's subjects, "{instance}.{event}" per instance and
// "{prefix}.{event}" globally. A JetStream stream captures the subjects,
// so core-NATS subscribers still receive every message while durable
// consumers can replay; each message carries Nats-Msg-Id = the event's
// ID, so the stream's duplicate window drops a redelivery, and the
// Publisher counts it published only once the stream acknowledged it. It
// is the only package that imports nats.go.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/host/webhook"
)

// DefaultStream is the stream wahost declares when Config.Stream is empty.
const DefaultStream = "WAHOST_EVENTS"

// Config configures a Publisher. URL is required.
type Config struct {
	// URL is the nats:// URL (a comma-separated list for a cluster).
	URL string
	// Stream names the JetStream stream that captures the subjects;
	// empty means DefaultStream.
	Stream string
	// Subjects are the stream's subjects when wahost declares it; empty
	// means every subject of two or more tokens (">" minus "$JS" ones is
	// not expressible, so "*.>" ), which captures Evolution's names.
	Subjects []string
	// Prefix names the global subjects "{Prefix}.{event}"; empty names
	// them after the event alone.
	Prefix string
	// Declare creates the stream (or updates its subjects) at connect.
	Declare bool
	// DuplicateWindow is the stream's duplicate window when declared; 0
	// means 2 minutes.
	DuplicateWindow time.Duration
	// MaxBackoff bounds the wait between reconnects; 0 means 30s.
	// Reconnects never stop.
	MaxBackoff time.Duration
	// Logger receives connection changes; nil discards them.
	Logger *slog.Logger
	// Registerer, when set, gets wahost_sink_reconnects_total{sink="nats"}
	// and wahost_sink_connected{sink="nats"}.
	Registerer prometheus.Registerer
}

// Publisher publishes to JetStream over one connection that nats.go keeps
// reconnecting, without limit.
type Publisher struct {
	cfg        Config
	log        *slog.Logger
	nc         atomic.Pointer[nats.Conn]
	js         atomic.Pointer[jetstream.JetStream]
	reconnects prometheus.Counter
	connected  prometheus.Gauge
	streamErr  atomic.Pointer[error] // the stream declaration's failure, if any
	streamOK   atomic.Bool           // the stream was declared on this connection
	// losses counts the connections lost: what was written to a lost
	// connection may never have reached the server.
	losses atomic.Uint64
}

// StreamReady reports whether the stream was declared since the last
// connection (always true without Config.Declare).
func (p *Publisher) StreamReady() bool { return !p.cfg.Declare || p.streamOK.Load() }

var _ webhook.Publisher = (*Publisher)(nil)

// New checks cfg and returns a Publisher; Start connects.
func New(cfg Config) (*Publisher, error) {
	if cfg.URL == "" {
		return nil, errors.New("nats: no URL")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if len(cfg.Subjects) == 0 {
		cfg.Subjects = []string{"*.>"}
	}
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = 2 * time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{cfg: cfg, log: cfg.Logger}
	p.reconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wahost_sink_reconnects_total", Help: "Connections a broker sink opened after losing one.",
		ConstLabels: prometheus.Labels{"sink": webhook.SinkNATS},
	})
	p.connected = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wahost_sink_connected", Help: "1 while a broker sink is connected, else 0.",
		ConstLabels: prometheus.Labels{"sink": webhook.SinkNATS},
	})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.reconnects, p.connected} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("nats: register metrics: %w", err)
			}
		}
	}
	return p, nil
}

// Start connects; when the server is unreachable it keeps trying in the
// background (nats.go's RetryOnFailedConnect) and Start still returns nil.
func (p *Publisher) Start(ctx context.Context) error {
	nc, err := nats.Connect(p.cfg.URL,
		nats.Name("wahost"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.CustomReconnectDelay(p.delay),
		nats.ConnectHandler(func(*nats.Conn) { p.up(ctx) }),
		nats.ReconnectHandler(func(*nats.Conn) { p.reconnects.Inc(); p.up(ctx) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			p.losses.Add(1)
			p.connected.Set(0)
			p.log.Warn("nats: lost the server; reconnecting", "err", err)
		}),
	)
	if err != nil {
		return fmt.Errorf("nats: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	p.js.Store(&js)
	p.nc.Store(nc)
	if nc.IsConnected() {
		p.up(ctx)
	}
	return nil
}

// delay is the wait before reconnect attempt n: doubling from 250ms, at
// most MaxBackoff.
func (p *Publisher) delay(attempts int) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < attempts && d < p.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.cfg.MaxBackoff)
}

// up runs on every (re)connection: it declares the stream when asked.
func (p *Publisher) up(ctx context.Context) {
	p.connected.Set(1)
	p.log.Info("nats: connected")
	if !p.cfg.Declare {
		return
	}
	js := p.js.Load()
	if js == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, err := (*js).CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: p.cfg.Stream, Subjects: p.cfg.Subjects, Storage: jetstream.FileStorage,
			Duplicates: p.cfg.DuplicateWindow,
		})
		if err != nil {
			err = fmt.Errorf("nats: declare stream %s: %w", p.cfg.Stream, err)
			p.log.Error("nats: declaring the stream failed", "err", err)
			p.streamErr.Store(&err)
			return
		}
		p.streamErr.Store(nil)
		p.streamOK.Store(true)
	}()
}

// Stop closes the connection. It is idempotent and safe before Start.
func (p *Publisher) Stop(context.Context) error {
	if nc := p.nc.Load(); nc != nil {
		nc.Close()
	}
	return nil
}

// Status is nil while connected, else why not (for /readyz).
func (p *Publisher) Status() error {
	nc := p.nc.Load()
	switch {
	case nc == nil:
		return errors.New("nats: not started")
	case !nc.IsConnected():
		return fmt.Errorf("nats: %s; reconnecting", nc.Status())
	}
	if err := p.streamErr.Load(); err != nil {
		return *err
	}
	return nil
}

// Subject returns a message's subject: Evolution API's names.
func (p *Publisher) Subject(m webhook.Message) string {
	if m.Global {
		if p.cfg.Prefix == "" {
			return m.Event
		}
		return p.cfg.Prefix + "." + m.Event
	}
	return m.Instance + "." + m.Event
}

// Publish publishes msgs asynchronously, in order, then waits for every
// acknowledgement of the stream. When the connection is lost during the
// batch, the messages not written yet fail (to be retried) instead of
// going out on the next connection: the ones written before may have been
// lost with the old one, and a later message must not reach the stream
// before them.
func (p *Publisher) Publish(ctx context.Context, msgs []webhook.Message) []error {
	errs := make([]error, len(msgs))
	js, nc := p.js.Load(), p.nc.Load()
	if js == nil || nc == nil || !nc.IsConnected() {
		for i := range errs {
			errs[i] = fmt.Errorf("nats: not connected: %v", p.Status())
		}
		return errs
	}
	acks := make([]jetstream.PubAckFuture, len(msgs))
	losses := p.losses.Load()
	for i, m := range msgs {
		if p.losses.Load() != losses {
			errs[i] = errors.New("nats: the connection was lost during the batch; resent in order")
			continue
		}
		if !m.Global && m.Instance == "" {
			errs[i] = fmt.Errorf("%w: a per-instance message without an instance", webhook.ErrRefused)
			continue
		}
		msg := nats.NewMsg(p.Subject(m))
		msg.Data = m.Body
		msg.Header.Set(jetstream.MsgIDHeader, m.ID)
		msg.Header.Set("Content-Type", "application/json")
		f, err := (*js).PublishMsgAsync(msg)
		if err != nil {
			errs[i] = p.classify(err)
			continue
		}
		acks[i] = f
	}
	for i, f := range acks {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = p.classify(err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("nats: no acknowledgement: %w", ctx.Err())
		}
	}
	return errs
}

// classify marks the errors the server gives for a message it will never
// take as refusals; the others are retried.
func (p *Publisher) classify(err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %v", webhook.ErrRefused, err)
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum:
		return fmt.Errorf("%w: %v", webhook.ErrRefused, err)
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		return fmt.Errorf("nats: no stream captures the subject (declare one, or set events.nats.declare): %w", err)
	}
	return fmt.Errorf("nats: publish: %w", err)
}
