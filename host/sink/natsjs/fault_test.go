package natsjs_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wahost/wahost/host/sink/natsjs"
	"github.com/wahost/wahost/host/sink/sinktest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage"
)

// TestServerCut cuts NATS off through a TCP proxy for 10 seconds in the
// middle of 10,000 events: the stream ends up holding every event once
// (its duplicate window drops what was published again because an
// acknowledgement was lost in the cut), in order per instance.
func TestServerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s outage")
	}
	natsURL := natsURL(t)
	n := newNames(t, natsURL)
	u, _ := url.Parse(natsURL)
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	s := sinktest.Store(t)
	insts := []string{n.a, n.b, n.a + "c", n.a + "d"}
	pub := newPublisher(t, natsjs.Config{URL: u.String(), Stream: n.stream, Declare: true,
		Subjects: []string{n.a + ".>", n.b + ".>", n.a + "c.>", n.a + "d.>"}, MaxBackoff: 200 * time.Millisecond})
	d := newDispatcher(t, s, webhook.Sink{Kind: webhook.SinkNATS, Publisher: pub})
	on := storage.InstanceSettings{NATS: storage.SinkSettings{Enabled: true}}
	var rows []storage.Instance
	for _, name := range insts {
		in := sinktest.Instance(t, s, name, on)
		d.SetInstance(in.ID, on)
		rows = append(rows, in)
	}
	sinktest.Run(t, d)

	// Read the stream directly, not through the proxy.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, n.stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const total, per = 10_000, 2_500
	msgs := make(chan jetstream.Msg, total)
	cc, err := cons.Consume(func(m jetstream.Msg) { msgs <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()

	enqueued := make(chan struct{})
	go func() {
		defer close(enqueued)
		for i := 0; i < per; i += 250 {
			for _, in := range rows {
				sinktest.Enqueue(t, s, d, in, "messages.upsert", i, 250)
			}
		}
	}()

	seq := sinktest.NewSequence()
	received := func() int {
		sum := 0
		for _, name := range insts {
			sum += seq.Count(name)
		}
		return sum
	}
	deadline := time.After(3 * sinktest.Deadline)
	var restored <-chan time.Time
	cut := false
	for received() < total {
		select {
		case m := <-msgs:
			env, num := sinktest.Decode(t, m.Data())
			if err := seq.Add(env.Instance, num); err != nil {
				t.Fatal(err)
			}
			if !cut && received() >= total/4 {
				cut = true
				proxy.Cut()
				restored = time.After(10 * time.Second)
			}
		case <-restored:
			restored = nil
			proxy.Restore()
		case <-deadline:
			t.Fatalf("%d of %d events in the stream (cut %v, publisher %v)", received(), total, cut, pub.Status())
		}
	}
	<-enqueued
	info, err := js.Stream(ctx, n.stream)
	if err != nil {
		t.Fatal(err)
	}
	st, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Msgs != total || seq.Repeats() != 0 {
		t.Fatalf("stream holds %d messages with %d repeats, want %d and none", st.State.Msgs, seq.Repeats(), total)
	}
}
