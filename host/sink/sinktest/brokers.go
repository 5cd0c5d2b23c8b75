package sinktest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wahost/wahost/storage/testenv"
)

// AMQP returns the URL of a RabbitMQ virtual host of the test's own
// (WAHOST_TEST_AMQP_URL's broker, default the local guest account),
// deleted at cleanup, and a unique lower-case token for names. Without
// rabbitmqctl the broker's default virtual host is used.
func AMQP(t testing.TB) (amqpURL, uniq string) {
	t.Helper()
	base := os.Getenv("WAHOST_TEST_AMQP_URL")
	if base == "" {
		base = "amqp://guest:guest@127.0.0.1:5672/"
	}
	conn, err := amqp.Dial(base)
	if err != nil {
		t.Fatalf("RabbitMQ at %s is not reachable (start it with .ci/services): %v", base, err)
	}
	_ = conn.Close()
	uniq = strings.ReplaceAll(testenv.Name("t"), "_", "")
	vhost := "wahost-" + uniq
	ctl := func(args ...string) error { return exec.Command("rabbitmqctl", args...).Run() }
	if ctl("add_vhost", vhost) != nil || ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*") != nil {
		return base, uniq
	}
	t.Cleanup(func() { _ = ctl("delete_vhost", vhost) })
	u, _ := url.Parse(base)
	u.Path = "/" + vhost
	return u.String(), uniq
}

// ConsumeAMQP declares queue as wahost does (durable, quorum) and
// returns its messages, acknowledged on delivery.
func ConsumeAMQP(t testing.TB, amqpURL, queue string) <-chan amqp.Delivery {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatalf("declare %s: %v", queue, err)
	}
	if err := ch.Qos(1000, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume %s: %v", queue, err)
	}
	return deliveries
}

// NATS returns the URL of NATS with JetStream (WAHOST_TEST_NATS_URL,
// default the local server).
func NATS(t testing.TB) string {
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

// Stream creates a JetStream stream capturing subjects, deleted at
// cleanup, and returns a JetStream client of its own.
func Stream(t testing.TB, natsURL, name string, subjects ...string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: subjects,
		Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	return js
}

// Subscribe returns the core-NATS messages of subject (wildcards allowed).
func Subscribe(t testing.TB, natsURL, subject string) <-chan *nats.Msg {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ch := make(chan *nats.Msg, 65536)
	if _, err := nc.ChanSubscribe(subject, ch); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}
