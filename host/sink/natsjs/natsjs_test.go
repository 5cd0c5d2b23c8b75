package natsjs_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wahost/wahost/host/sink/natsjs"
	"github.com/wahost/wahost/host/sink/sinktest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/testenv"
)

func natsURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WAHOST_TEST_NATS_URL")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(u)
	if err != nil {
		t.Fatalf("NATS at %s is not reachable (start it with .ci/services): %v", u, err)
	}
	nc.Close()
	return u
}

// names returns unique instance names, a global prefix and a stream
// capturing only them, deleted at cleanup.
type names struct{ a, b, prefix, stream string }

func newNames(t testing.TB, url string) names {
	uniq := strings.ReplaceAll(testenv.Name("n"), "_", "")
	n := names{a: uniq + "a", b: uniq + "b", prefix: uniq + "g", stream: "WAHOST_" + uniq}
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		_ = js.DeleteStream(context.Background(), n.stream)
	})
	return n
}

func (n names) subjects() []string { return []string{n.a + ".>", n.b + ".>", n.prefix + ".>"} }

func newPublisher(t testing.TB, cfg natsjs.Config) *natsjs.Publisher {
	t.Helper()
	p, err := natsjs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	waitReady(t, p)
	return p
}

// waitReady waits until the publisher is connected and its stream declared.
func waitReady(t testing.TB, p *natsjs.Publisher) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(sinktest.Deadline)
	for p.Status() != nil || !p.StreamReady() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("publisher not ready: %v", p.Status())
		}
	}
}

func newDispatcher(t testing.TB, s storage.Store, sink webhook.Sink) *webhook.Dispatcher {
	t.Helper()
	d, err := webhook.New(webhook.Config{Store: s, Sinks: []webhook.Sink{sink}, ServerURL: "https://wahost.example.com",
		Workers: 4, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEvolutionSubscriber reads lifecycle and message events as a core
// NATS subscriber written for Evolution API does, per instance and
// globally, and finds them in the stream for replay.
func TestEvolutionSubscriber(t *testing.T) {
	url := natsURL(t)
	n := newNames(t, url)
	s := sinktest.Store(t)
	pub := newPublisher(t, natsjs.Config{URL: url, Stream: n.stream, Subjects: n.subjects(), Prefix: n.prefix, Declare: true})
	d := newDispatcher(t, s, webhook.Sink{Kind: webhook.SinkNATS, Publisher: pub, Global: true})
	on := storage.InstanceSettings{NATS: storage.SinkSettings{Enabled: true, Events: []string{"messages.upsert", "connection.update"}}}
	a := sinktest.Instance(t, s, n.a, on)
	d.SetInstance(a.ID, on)

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 1000)
	for _, subj := range []string{n.a + ".messages.upsert", n.a + ".connection.update", n.prefix + ".qrcode.updated"} {
		if _, err := nc.ChanSubscribe(subj, msgs); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	sinktest.Run(t, d)
	sinktest.Enqueue(t, s, d, a, "qrcode.updated", 0, 2)    // global only
	sinktest.Enqueue(t, s, d, a, "connection.update", 0, 3) // both
	sinktest.Enqueue(t, s, d, a, "messages.upsert", 0, 20)  // both

	seq := sinktest.NewSequence()
	deadline := time.After(sinktest.Deadline)
	for seq.Count(n.a+".connection.update")+seq.Count(n.a+".messages.upsert")+seq.Count(n.prefix+".qrcode.updated") < 25 {
		select {
		case m := <-msgs:
			env, num := sinktest.Decode(t, m.Data)
			if m.Header.Get(jetstream.MsgIDHeader) == "" || env.Instance != n.a || !strings.HasSuffix(m.Subject, "."+env.Event) {
				t.Fatalf("%s: %v %s", m.Subject, m.Header, m.Data)
			}
			if err := seq.Add(m.Subject, num); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("timed out")
		}
	}
	// The stream holds both targets of each: 2 + 2×3 + 2×20.
	js, _ := jetstream.New(nc)
	info := waitStream(t, js, n.stream, 48)
	if info.State.Msgs != 48 {
		t.Fatalf("stream holds %d messages, want 48", info.State.Msgs)
	}
}

// waitStream polls a stream until it holds at least n messages.
func waitStream(t testing.TB, js jetstream.JetStream, name string, n uint64) *jetstream.StreamInfo {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(sinktest.Deadline)
	for {
		st, err := js.Stream(context.Background(), name)
		if err == nil {
			info, err := st.Info(context.Background())
			if err == nil && info.State.Msgs >= n {
				return info
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("stream %s: fewer than %d messages", name, n)
		}
	}
}
