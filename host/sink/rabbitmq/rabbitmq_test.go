package rabbitmq_test

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wahost/wahost/host/evolution"
	"github.com/wahost/wahost/host/sink/rabbitmq"
	"github.com/wahost/wahost/host/sink/sinktest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

func newPublisher(t testing.TB, cfg rabbitmq.Config) *rabbitmq.Publisher {
	t.Helper()
	p, err := rabbitmq.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func newDispatcher(t testing.TB, s storage.Store, sink webhook.Sink) *webhook.Dispatcher {
	t.Helper()
	d, err := webhook.New(webhook.Config{Store: s, Sinks: []webhook.Sink{sink}, ServerURL: "https://wahost.example.com",
		Workers: 4, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEvolutionConsumer publishes every event kind of two instances, per
// instance and globally, and reads them as an Evolution consumer does:
// from the queues {instance}.{event} and {prefix}.{event}, in order.
func TestEvolutionConsumer(t *testing.T) {
	amqpURL, uniq := sinktest.AMQP(t)
	s := sinktest.Store(t)
	prefix := "evo" + uniq
	pub := newPublisher(t, rabbitmq.Config{URL: amqpURL, Exchange: "ex-" + uniq, Prefix: prefix, Declare: true})
	d := newDispatcher(t, s, webhook.Sink{Kind: webhook.SinkRabbitMQ, Publisher: pub, Global: true})
	on := storage.InstanceSettings{RabbitMQ: storage.SinkSettings{Enabled: true}}
	a := sinktest.Instance(t, s, "a"+uniq, on)
	b := sinktest.Instance(t, s, "b"+uniq, on)
	d.SetInstance(a.ID, on)
	d.SetInstance(b.ID, on)
	sinktest.Run(t, d)

	const per = 3
	for _, upper := range evolution.Events {
		ev := webhook.EventName(evolution.WireName(upper))
		for _, in := range []storage.Instance{a, b} {
			sinktest.Enqueue(t, s, d, in, ev, 0, per)
		}
	}
	deadline := time.After(sinktest.Deadline)
	for _, upper := range evolution.Events {
		ev := webhook.EventName(evolution.WireName(upper))
		for _, q := range []struct{ queue, instance string }{
			{a.Name + "." + ev, a.Name}, {b.Name + "." + ev, b.Name}, {prefix + "." + ev, ""},
		} {
			got := sinktest.ConsumeAMQP(t, amqpURL, q.queue)
			seq := sinktest.NewSequence()
			want := per
			if q.instance == "" {
				want = 2 * per // both instances share the global queue
			}
			for n := 0; n < want; {
				select {
				case m := <-got:
					env, num := sinktest.Decode(t, m.Body)
					if env.Event != ev || q.instance != "" && env.Instance != q.instance || env.Sender != "5511999999999@s.whatsapp.net" {
						t.Fatalf("%s: envelope %s", q.queue, m.Body)
					}
					if m.ContentType != "application/json" || m.DeliveryMode != amqp.Persistent || m.MessageId == "" ||
						m.Timestamp.IsZero() || m.RoutingKey != ev {
						t.Fatalf("%s: properties %+v", q.queue, m)
					}
					if err := seq.Add(env.Instance, num); err != nil {
						t.Fatal(err)
					}
					n++
				case <-deadline:
					t.Fatalf("%s: %d of %d events", q.queue, n, want)
				}
			}
		}
	}
}

// TestRefused publishes mandatory to an exchange where only
// messages.upsert is bound: connection.update is refused and fails with
// the broker's reason, while messages.upsert flows.
func TestRefused(t *testing.T) {
	amqpURL, uniq := sinktest.AMQP(t)
	s := sinktest.Store(t)
	name := "r" + uniq
	// The consumer's own topology; wahost declares nothing.
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	if err := ch.ExchangeDeclare(name, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q := name + ".messages.upsert"
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q, "messages.upsert", name, false, nil); err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(t, rabbitmq.Config{URL: amqpURL, Exchange: "ex-" + uniq, Mandatory: true})
	d := newDispatcher(t, s, webhook.Sink{Kind: webhook.SinkRabbitMQ, Publisher: pub})
	on := storage.InstanceSettings{RabbitMQ: storage.SinkSettings{Enabled: true}}
	in := sinktest.Instance(t, s, name, on)
	d.SetInstance(in.ID, on)
	sinktest.Run(t, d)

	sinktest.Enqueue(t, s, d, in, "messages.upsert", 0, 5)
	sinktest.Enqueue(t, s, d, in, "connection.update", 0, 1)
	sinktest.Enqueue(t, s, d, in, "messages.upsert", 5, 5)
	got := sinktest.ConsumeAMQP(t, amqpURL, q)
	seq := sinktest.NewSequence()
	for seq.Count(name) < 10 {
		select {
		case m := <-got:
			_, n := sinktest.Decode(t, m.Body)
			if err := seq.Add(name, n); err != nil {
				t.Fatal(err)
			}
		case <-time.After(sinktest.Deadline):
			t.Fatalf("%d of 10 events", seq.Count(name))
		}
	}
	failed := waitFailed(t, s, 1)
	if failed[0].Event != "connection.update" || !strings.Contains(failed[0].LastError, "NO_ROUTE") {
		t.Fatalf("failed event = %s: %s", failed[0].Event, failed[0].LastError)
	}
}

// waitFailed polls the outbox until n events failed.
func waitFailed(t testing.TB, s storage.Store, n int) []storage.OutboxEvent {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(sinktest.Deadline)
	for {
		evs, err := s.FailedEvents(context.Background(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) >= n {
			return evs
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%d of %d failed events", len(evs), n)
		}
	}
}
