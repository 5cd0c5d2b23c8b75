// Package rabbitmq publishes wahost's events to RabbitMQ (AMQP 0-9-1)
// with Evolution API's names: per instance a durable topic exchange named
// after the instance and quorum queues "{instance}.{event}"; globally the
// exchange "evolution_exchange" (configurable) and queues
// "{prefix}.{event}"; the routing key is the event name. Messages are
// persistent and carry content_type, message_id (the event's ID) and a
// timestamp; the Publisher counts one published only once the broker
// confirmed it (publisher confirms). It is the only package that imports
// amqp091-go.
package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wahost/wahost/host/webhook"
)

// DefaultExchange is Evolution API's global exchange name.
const DefaultExchange = "evolution_exchange"

// Config configures a Publisher. URL is required.
type Config struct {
	// URL is the amqp:// or amqps:// URL; its path is the vhost.
	URL string
	// Exchange is the global exchange; empty means DefaultExchange.
	Exchange string
	// Prefix names the global queues "{Prefix}.{event}"; empty names
	// them after the event alone.
	Prefix string
	// Declare declares the exchanges, queues and bindings wahost
	// publishes to, once per connection, as Evolution API does; without
	// it they must exist.
	Declare bool
	// Mandatory publishes mandatory: a message no queue is bound for is
	// refused (the event fails) instead of dropped by the broker.
	Mandatory bool
	// MinBackoff and MaxBackoff bound the wait between reconnects (full
	// jitter, doubling); 0 means 100ms and 30s. Reconnects never stop.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection changes; nil discards them.
	Logger *slog.Logger
	// Registerer, when set, gets wahost_sink_reconnects_total{sink="rabbitmq"}
	// and wahost_sink_connected{sink="rabbitmq"}.
	Registerer prometheus.Registerer
}

// Publisher keeps one connection with a confirming channel to RabbitMQ and
// publishes on it. Start connects in the background; Stop closes.
type Publisher struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex // guards sess, status
	sess   *session
	status error // why there is no session; nil while connected

	reconnects    prometheus.Counter
	failures      prometheus.Counter
	connected     prometheus.Gauge
	wake          chan struct{} // a publish saw the channel fail: reconnect now
	cancel        context.CancelFunc
	done          chan struct{}
	started       atomic.Bool
	everConnected bool // owned by run
}

var _ webhook.Publisher = (*Publisher)(nil)

// ErrNotConnected is returned for messages published while there is no
// connection; the dispatcher tries them again.
var ErrNotConnected = errors.New("rabbitmq: not connected")

// New checks cfg and returns a Publisher; Start connects.
func New(cfg Config) (*Publisher, error) {
	if cfg.URL == "" {
		return nil, errors.New("rabbitmq: no URL")
	}
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("rabbitmq: url: %w", err)
	}
	if cfg.Exchange == "" {
		cfg.Exchange = DefaultExchange
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{cfg: cfg, log: cfg.Logger, status: errors.New("rabbitmq: connecting"),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.reconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wahost_sink_reconnects_total", Help: "Connections a broker sink opened after losing one.",
		ConstLabels: prometheus.Labels{"sink": webhook.SinkRabbitMQ},
	})
	p.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wahost_sink_connect_failures_total", Help: "Connection attempts of a broker sink that failed; it keeps trying.",
		ConstLabels: prometheus.Labels{"sink": webhook.SinkRabbitMQ},
	})
	p.connected = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wahost_sink_connected", Help: "1 while a broker sink is connected, else 0.",
		ConstLabels: prometheus.Labels{"sink": webhook.SinkRabbitMQ},
	})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.reconnects, p.failures, p.connected} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("rabbitmq: register metrics: %w", err)
			}
		}
	}
	return p, nil
}

// Start connects in the background and keeps reconnecting until Stop.
func (p *Publisher) Start(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("rabbitmq: already started")
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go p.run(ctx)
	return nil
}

// Stop closes the connection; publishes under way fail. It is idempotent
// and safe before Start.
func (p *Publisher) Stop(ctx context.Context) error {
	if !p.started.Load() || p.cancel == nil {
		return nil
	}
	p.cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rabbitmq: stop: %w", ctx.Err())
	}
}

// ConnectFailures is how many connection attempts failed so far.
func (p *Publisher) ConnectFailures() int {
	m := &dto.Metric{}
	_ = p.failures.Write(m)
	return int(m.GetCounter().GetValue())
}

// Status is nil while connected, else why not (for /readyz).
func (p *Publisher) Status() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Publisher) current() *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess
}

func (p *Publisher) set(s *session, status error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sess, p.status = s, status
	if s != nil {
		p.connected.Set(1)
	} else {
		p.connected.Set(0)
	}
}

// run connects, waits for the connection to fail, and connects again,
// backing off with full jitter, until ctx ends.
func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	failures := 0
	for ctx.Err() == nil {
		s, err := dial(p.cfg)
		if err != nil {
			failures++
			p.failures.Inc()
			p.set(nil, fmt.Errorf("rabbitmq: connect: %w", err))
			wait := p.backoff(failures)
			p.log.Warn("rabbitmq: connect failed; retrying", "err", err, "in", wait)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		if failures > 0 || p.reconnected() {
			p.reconnects.Inc()
		}
		failures = 0
		p.set(s, nil)
		p.log.Info("rabbitmq: connected")
		var reason error
		select {
		case <-ctx.Done():
		case e := <-s.connClosed:
			reason = fmt.Errorf("connection closed: %v", e)
		case e := <-s.chClosed:
			reason = fmt.Errorf("channel closed: %v", e)
		case <-p.wake:
			reason = errors.New("a publish failed on the channel")
		}
		p.set(nil, fmt.Errorf("rabbitmq: %w; reconnecting", orCanceled(reason)))
		s.close()
		if reason != nil {
			p.log.Warn("rabbitmq: lost the broker; reconnecting", "err", reason)
		}
	}
	p.set(nil, errors.New("rabbitmq: stopped"))
}

// reconnected reports, once per connection after the first, that this is
// a reconnection.
func (p *Publisher) reconnected() bool {
	first := !p.everConnected
	p.everConnected = true
	return !first
}

func orCanceled(err error) error {
	if err == nil {
		return context.Canceled
	}
	return err
}

func (p *Publisher) backoff(failures int) time.Duration {
	ceiling := p.cfg.MaxBackoff
	if shift := failures - 1; shift < 30 {
		ceiling = min(p.cfg.MinBackoff<<shift, p.cfg.MaxBackoff)
	}
	return p.cfg.MinBackoff/2 + rand.N(ceiling+1)/2
}
