package rabbitmq_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wahost/wahost/host/sink/rabbitmq"
	"github.com/wahost/wahost/host/sink/sinktest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage"
)

// TestBrokerCut cuts RabbitMQ off through a TCP proxy for 10 seconds in
// the middle of 10,000 events, longer than Evolution API's ten reconnect
// attempts take here: every event is consumed once the proxy is
// restored, in order per instance, and a repeat carries the first copy's
// message id.
func TestBrokerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s outage")
	}
	amqpURL, uniq := sinktest.AMQP(t)
	u, _ := url.Parse(amqpURL)
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	s := sinktest.Store(t)
	pub := newPublisher(t, rabbitmq.Config{URL: u.String(), Declare: true,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	d := newDispatcher(t, s, webhook.Sink{Kind: webhook.SinkRabbitMQ, Publisher: pub})
	on := storage.InstanceSettings{RabbitMQ: storage.SinkSettings{Enabled: true}}
	var insts []storage.Instance
	for _, n := range []string{"a", "b", "c", "d"} {
		in := sinktest.Instance(t, s, n+uniq, on)
		d.SetInstance(in.ID, on)
		insts = append(insts, in)
	}
	sinktest.Run(t, d)

	const total, per = 10_000, 2_500
	msgs := make(chan amqp.Delivery, total)
	for _, in := range insts {
		go func(c <-chan amqp.Delivery) {
			for m := range c {
				msgs <- m
			}
		}(sinktest.ConsumeAMQP(t, amqpURL, in.Name+".messages.upsert"))
	}
	enqueued := make(chan struct{})
	go func() {
		defer close(enqueued)
		for i := 0; i < per; i += 250 {
			for _, in := range insts {
				sinktest.Enqueue(t, s, d, in, "messages.upsert", i, 250)
			}
		}
	}()

	ids := make(map[string]string) // instance/number → message id
	seq := sinktest.NewSequence()
	received := func() int {
		sum := 0
		for _, in := range insts {
			sum += seq.Count(in.Name)
		}
		return sum
	}
	deadline := time.After(3 * sinktest.Deadline)
	var restored <-chan time.Time
	cut := false
	for received() < total {
		select {
		case m := <-msgs:
			env, n := sinktest.Decode(t, m.Body)
			key := fmt.Sprint(env.Instance, "/", n)
			if id, ok := ids[key]; ok && id != m.MessageId {
				t.Fatalf("%s %d repeated with message id %s, first %s", env.Instance, n, m.MessageId, id)
			}
			ids[key] = m.MessageId
			if err := seq.Add(env.Instance, n); err != nil {
				t.Fatal(err)
			}
			if !cut && received() >= total/4 {
				cut = true
				proxy.Cut()
				restored = time.After(10 * time.Second)
			}
		case <-restored:
			if f := pub.ConnectFailures(); f <= 10 {
				restored = time.After(100 * time.Millisecond) // wait for Evolution's ten attempts to have passed
				continue
			}
			restored = nil
			proxy.Restore()
		case <-deadline:
			t.Fatalf("%d of %d events consumed (cut %v, publisher %v)", received(), total, cut, pub.Status())
		}
	}
	<-enqueued
	if pub.ConnectFailures() <= 10 {
		t.Fatalf("%d failed connection attempts during the cut, want more than 10", pub.ConnectFailures())
	}
	t.Logf("repeats %d, failed connection attempts %d", seq.Repeats(), pub.ConnectFailures())
	if _, err := s.FailedEvents(context.Background(), "", 1); err != nil {
		t.Fatal(err)
	}
}

// TestDispatcherRestart stops the dispatcher in the middle of the stream
// and starts another on the same outbox: nothing is missing, and an event
// published twice carries the same message id.
func TestDispatcherRestart(t *testing.T) {
	amqpURL, uniq := sinktest.AMQP(t)
	s := sinktest.Store(t)
	pub := newPublisher(t, rabbitmq.Config{URL: amqpURL, Declare: true})
	sink := webhook.Sink{Kind: webhook.SinkRabbitMQ, Publisher: pub}
	on := storage.InstanceSettings{RabbitMQ: storage.SinkSettings{Enabled: true}}
	in := sinktest.Instance(t, s, "k"+uniq, on)
	msgs := sinktest.ConsumeAMQP(t, amqpURL, in.Name+".messages.upsert")

	first := newDispatcher(t, s, sink)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); _ = first.Run(ctx) }()
	sinktest.Enqueue(t, s, first, in, "messages.upsert", 0, 2000)

	seq := sinktest.NewSequence()
	ids := make(map[int]string)
	deadline := time.After(sinktest.Deadline)
	restarted := false
	for seq.Count(in.Name) < 2000 {
		select {
		case m := <-msgs:
			_, n := sinktest.Decode(t, m.Body)
			if id, ok := ids[n]; ok && id != m.MessageId {
				t.Fatalf("event %d repeated with message id %s, first %s", n, m.MessageId, id)
			}
			ids[n] = m.MessageId
			if err := seq.Add(in.Name, n); err != nil {
				t.Fatal(err)
			}
			if !restarted && seq.Count(in.Name) >= 500 {
				restarted = true
				stop()
				<-done
				sinktest.Run(t, newDispatcher(t, s, sink))
			}
		case <-deadline:
			t.Fatalf("%d of 2000 events", seq.Count(in.Name))
		}
	}
	t.Logf("repeats %d", seq.Repeats())
}
