package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/evolution"
	"github.com/wahost/wahost/host/sink/natsjs"
	"github.com/wahost/wahost/host/sink/rabbitmq"
	"github.com/wahost/wahost/host/webhook"
)

// broker is a sink's publisher as the host runs it.
type broker interface {
	webhook.Publisher
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Status() error
}

// newSinks builds the brokers events.* configures; Start connects them.
func (h *Host) newSinks(cfg *config.Config) ([]webhook.Sink, error) {
	var sinks []webhook.Sink
	if c := cfg.Events.RabbitMQ; c.URL != "" {
		p, err := rabbitmq.New(rabbitmq.Config{URL: c.URL, Exchange: c.Exchange, Prefix: c.Prefix, Declare: c.Declare,
			Mandatory: c.Mandatory, Logger: h.log, Registerer: h.reg})
		if err != nil {
			return nil, &config.KeyError{Key: "events.rabbitmq.url", Err: err}
		}
		h.brokers = append(h.brokers, p)
		h.brokerKinds = append(h.brokerKinds, evolution.SinkRabbitMQ)
		sinks = append(sinks, webhook.Sink{Kind: webhook.SinkRabbitMQ, Publisher: p, Global: c.Global, Events: c.Events})
	}
	if c := cfg.Events.NATS; c.URL != "" {
		p, err := natsjs.New(natsjs.Config{URL: c.URL, Stream: c.Stream, Prefix: c.Prefix, Declare: c.Declare,
			Logger: h.log, Registerer: h.reg})
		if err != nil {
			return nil, &config.KeyError{Key: "events.nats.url", Err: err}
		}
		h.brokers = append(h.brokers, p)
		h.brokerKinds = append(h.brokerKinds, evolution.SinkNATS)
		sinks = append(sinks, webhook.Sink{Kind: webhook.SinkNATS, Publisher: p, Global: c.Global, Events: c.Events})
	}
	return sinks, nil
}

// brokersDegraded says which brokers are unreachable, for /readyz: the
// host still serves (its events wait in the outbox), so /readyz answers
// 200 "degraded", not 503.
func (h *Host) brokersDegraded() error {
	var errs []error
	for _, b := range h.brokers {
		if err := b.Status(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("event sinks: %w (their events wait in the outbox)", errors.Join(errs...))
}
