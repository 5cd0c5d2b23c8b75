package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wahost/wahost/host/webhook"
)

// returnBuffer holds the broker's returns of unroutable mandatory
// messages until a Publish reads them: RabbitMQ sends a return before the
// confirmation of the same message, so a publish that saw the
// confirmation finds the return here.
const returnBuffer = 1 << 14

// session is one connection with its confirming publish channel and a
// channel for declarations (a refused declaration closes its channel,
// which must not take the publishes down).
type session struct {
	conn       *amqp.Connection
	ch         *amqp.Channel
	connClosed chan *amqp.Error
	chClosed   chan *amqp.Error
	returns    chan amqp.Return

	mu       sync.Mutex // guards declared, returned, decl
	declared map[string]bool
	returned map[string]string // message id → reason
	decl     *amqp.Channel
}

func dial(cfg Config) (*session, error) {
	conn, err := amqp.DialConfig(cfg.URL, amqp.Config{Heartbeat: 10 * time.Second, Dial: amqp.DefaultDial(10 * time.Second)})
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("turn on publisher confirms: %w", err)
	}
	s := &session{
		conn: conn, ch: ch,
		connClosed: conn.NotifyClose(make(chan *amqp.Error, 1)),
		chClosed:   ch.NotifyClose(make(chan *amqp.Error, 1)),
		returns:    ch.NotifyReturn(make(chan amqp.Return, returnBuffer)),
		declared:   make(map[string]bool),
		returned:   make(map[string]string),
	}
	if cfg.Declare {
		// Evolution declares the global exchange at start.
		if err := s.declare(cfg.Exchange, "", ""); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *session) close() { _ = s.conn.Close() }

// declare declares a durable topic exchange and, when queue is not empty,
// a durable quorum queue bound to it with key; each once per session. A
// queue that exists with other arguments (a classic one, say) is kept as
// it is: the refusal is logged by the caller, and publishing goes on.
func (s *session) declare(exchange, queue, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := exchange + "\x00" + queue + "\x00" + key
	if s.declared[id] {
		return nil
	}
	if s.decl == nil || s.decl.IsClosed() {
		ch, err := s.conn.Channel()
		if err != nil {
			return fmt.Errorf("rabbitmq: open a channel to declare: %w", err)
		}
		s.decl = ch
	}
	if err := s.decl.ExchangeDeclare(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("rabbitmq: declare exchange %q: %w", exchange, err)
	}
	if queue != "" {
		if _, err := s.decl.QueueDeclare(queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
			s.declared[id] = true // do not ask again on every publish
			return fmt.Errorf("rabbitmq: declare queue %q (keeping the existing one): %w", queue, err)
		}
		if err := s.decl.QueueBind(queue, key, exchange, false, nil); err != nil {
			return fmt.Errorf("rabbitmq: bind queue %q to %q: %w", queue, exchange, err)
		}
	}
	s.declared[id] = true
	return nil
}

// Names returns the exchange, queue and routing key of a message:
// Evolution API's names.
func (p *Publisher) Names(m webhook.Message) (exchange, queue, key string) {
	if m.Global {
		queue = m.Event
		if p.cfg.Prefix != "" {
			queue = p.cfg.Prefix + "." + m.Event
		}
		return p.cfg.Exchange, queue, m.Event
	}
	return m.Instance, m.Instance + "." + m.Event, m.Event
}

// Publish publishes msgs in order on the confirming channel, then waits
// for every confirmation.
func (p *Publisher) Publish(ctx context.Context, msgs []webhook.Message) []error {
	errs := make([]error, len(msgs))
	s := p.current()
	if s == nil {
		err := p.Status()
		for i := range errs {
			errs[i] = fmt.Errorf("%w: %v", ErrNotConnected, err)
		}
		return errs
	}
	confs := make([]*amqp.DeferredConfirmation, len(msgs))
	failed := false
	for i, m := range msgs {
		if failed {
			errs[i] = fmt.Errorf("rabbitmq: not published: an earlier message of the batch failed")
			continue
		}
		exchange, queue, key := p.Names(m)
		if exchange == "" {
			errs[i] = fmt.Errorf("%w: a per-instance message without an instance", webhook.ErrRefused)
			continue
		}
		if p.cfg.Declare {
			if err := s.declare(exchange, queue, key); err != nil {
				p.log.Warn("rabbitmq: declare", "err", err)
			}
		}
		c, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, p.cfg.Mandatory, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: m.ID,
			Timestamp: m.Time, Type: m.Event, Body: m.Body,
		})
		if err != nil {
			errs[i], failed = fmt.Errorf("rabbitmq: publish: %w", err), true
			p.kick()
			continue
		}
		confs[i] = c
	}
	for i, c := range confs {
		if c == nil {
			continue
		}
		ack, err := c.WaitContext(ctx)
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("rabbitmq: no confirmation: %w", err)
		case !ack && (s.ch.IsClosed() || s.conn.IsClosed()):
			// The library nacks what was outstanding when the channel
			// closed: not an answer of the broker.
			errs[i] = errors.New("rabbitmq: the channel closed before the confirmation")
			p.kick()
		case !ack:
			errs[i] = fmt.Errorf("%w: rabbitmq answered with a negative acknowledgement", webhook.ErrRefused)
		}
	}
	if p.cfg.Mandatory {
		s.collectReturns()
		for i, m := range msgs {
			if reason, ok := s.takeReturn(m.ID); ok && errs[i] == nil {
				errs[i] = fmt.Errorf("%w: %s", webhook.ErrRefused, reason)
			}
		}
	}
	return errs
}

// kick makes the connection loop reconnect: a publish failed on the
// channel.
func (p *Publisher) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// collectReturns moves the returns the broker sent so far to returned.
func (s *session) collectReturns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		select {
		case r, ok := <-s.returns:
			if !ok {
				return
			}
			s.returned[r.MessageId] = fmt.Sprintf("returned by the broker: %d %s (no queue is bound for exchange %q, routing key %q)",
				r.ReplyCode, r.ReplyText, r.Exchange, r.RoutingKey)
		default:
			return
		}
	}
}

func (s *session) takeReturn(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.returned[id]
	delete(s.returned, id)
	return r, ok
}
