package sinktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/host/sink/natsjs"
	"github.com/wahost/wahost/host/sink/rabbitmq"
	"github.com/wahost/wahost/host/sink/sinktest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// BenchmarkSinks measures each destination on a PostgreSQL outbox in one
// run: a webhook (a local receiver), RabbitMQ and NATS JetStream (the
// real brokers, global targets). Units of work from 16 goroutines over 64
// instances enqueue 10 events each; the figure is the time from the
// commit to the destination's confirmation (the receiver's 2xx, the
// broker's publisher confirm, the stream's acknowledgement).
//
// live enqueues as fast as PostgreSQL commits (events/s is then bounded
// by the enqueuers as much as by the dispatcher); paced offers 2,000
// events/s, for the latency of a host that is not saturated (p50-ms,
// p99-ms); backlog enqueues everything first, in units of work of 500,
// and measures the dispatcher alone draining it. The discard kind is a
// publisher that confirms every message at once: the dispatcher's own
// share of the figures (claims, lanes, records), without a broker.
func BenchmarkSinks(b *testing.B) {
	for _, kind := range []string{"webhook", webhook.SinkRabbitMQ, webhook.SinkNATS, discardKind} {
		b.Run(kind+"/live", func(b *testing.B) { benchSink(b, kind, 0, false) })
		b.Run(kind+"/paced/rate=2000", func(b *testing.B) { benchSink(b, kind, 2000, false) })
		b.Run(kind+"/backlog", func(b *testing.B) { benchSink(b, kind, 0, true) })
	}
}

// confirmed records when each event numbered in its payload was confirmed.
type confirmed struct {
	at    []atomic.Int64
	count atomic.Int64
	done  chan struct{}
}

func newConfirmed(n int) *confirmed {
	return &confirmed{at: make([]atomic.Int64, n), done: make(chan struct{})}
}

func (c *confirmed) add(body []byte) {
	var env struct {
		Data sinktest.Payload `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil || env.Data.N < 0 || env.Data.N >= len(c.at) {
		return
	}
	if c.at[env.Data.N].CompareAndSwap(0, time.Now().UnixNano()) && c.count.Add(1) == int64(len(c.at)) {
		close(c.done)
	}
}

// timed records the messages its Publisher confirmed.
type timed struct {
	webhook.Publisher
	c *confirmed
}

func (t timed) Publish(ctx context.Context, msgs []webhook.Message) []error {
	errs := t.Publisher.Publish(ctx, msgs)
	for i, err := range errs {
		if err == nil {
			t.c.add(msgs[i].Body)
		}
	}
	return errs
}

// discardKind names the benchmark's publisher that confirms every message
// at once, without a broker.
const discardKind = "discard"

// discard is a Publisher that confirms every message at once.
type discard struct{}

func (discard) Publish(_ context.Context, msgs []webhook.Message) []error {
	return make([]error, len(msgs))
}

// destination returns the dispatcher config sending every event to kind.
func destination(b *testing.B, kind string, c *confirmed) webhook.Config {
	switch kind {
	case discardKind:
		return webhook.Config{Sinks: []webhook.Sink{{Kind: kind, Publisher: timed{discard{}, c}, Global: true}}}
	case webhook.SinkRabbitMQ:
		url, _ := sinktest.AMQP(b)
		p, err := rabbitmq.New(rabbitmq.Config{URL: url, Declare: true})
		if err != nil {
			b.Fatal(err)
		}
		start(b, p)
		drain := sinktest.ConsumeAMQP(b, url, "connection.update")
		go func() {
			for range drain {
			}
		}()
		return webhook.Config{Sinks: []webhook.Sink{{Kind: kind, Publisher: timed{p, c}, Global: true}}}
	case webhook.SinkNATS:
		url := sinktest.NATS(b)
		prefix := strings.ReplaceAll(testenv.Name("bench"), "_", "")
		sinktest.Stream(b, url, "WAHOST_"+prefix, prefix+".>")
		p, err := natsjs.New(natsjs.Config{URL: url, Stream: "WAHOST_" + prefix, Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		start(b, p)
		return webhook.Config{Sinks: []webhook.Sink{{Kind: kind, Publisher: timed{p, c}, Global: true}}}
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.add(body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(receiver.Close)
	return webhook.Config{Global: webhook.Destination{URL: receiver.URL}, Secret: "s3cret"}
}

type lifecycle interface {
	Start(context.Context) error
	Stop(context.Context) error
	Status() error
}

// start starts a publisher and waits until it is connected.
func start(b *testing.B, p lifecycle) {
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Stop(context.Background()) })
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(sinktest.Deadline)
	for p.Status() != nil {
		select {
		case <-tick.C:
		case <-deadline:
			b.Fatalf("publisher not connected: %v", p.Status())
		}
	}
}

func benchSink(b *testing.B, kind string, rate int, backlog bool) {
	const (
		instances = 64
		enqueuers = 16
		perUoW    = 10 // events per unit of work, as a batch of incoming messages
	)
	ctx := context.Background()
	store := benchStore(b)
	n := b.N
	c := newConfirmed(n)
	committed := make([]atomic.Int64, n)
	cfg := destination(b, kind, c)
	cfg.Store, cfg.Workers = store, 4
	d, err := webhook.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	insts := make([]storage.Instance, instances)
	for i := range insts {
		insts[i] = sinktest.Instance(b, store, fmt.Sprintf("bench%02d", i), storage.InstanceSettings{})
	}
	enqueue := func(tx storage.Tx, i int) error {
		return d.Enqueue(ctx, tx, insts[i%instances], "connection.update", sinktest.Payload{N: i})
	}
	if backlog {
		for lo := 0; lo < n; lo += 500 {
			err := store.InTx(ctx, func(tx storage.Tx) error {
				for i := lo; i < min(lo+500, n); i++ {
					if err := enqueue(tx, i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	begin := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- d.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			b.Error(err)
		}
	}()
	var next atomic.Int64
	if backlog {
		next.Store(int64(n))
	}
	var wg sync.WaitGroup
	for range enqueuers {
		wg.Go(func() {
			for {
				lo := int(next.Add(perUoW) - perUoW)
				if lo >= n {
					return
				}
				hi := min(lo+perUoW, n)
				if rate > 0 {
					time.Sleep(time.Until(begin.Add(time.Duration(lo) * time.Second / time.Duration(rate))))
				}
				err := store.InTx(ctx, func(tx storage.Tx) error {
					for i := lo; i < hi; i++ {
						if err := enqueue(tx, i); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Error(err)
					return
				}
				now := time.Now().UnixNano()
				for i := lo; i < hi; i++ {
					committed[i].Store(now)
				}
				d.Nudge()
			}
		})
	}
	wg.Wait()
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%d of %d events confirmed after two minutes", c.count.Load(), n)
	}
	elapsed := time.Since(begin)
	b.StopTimer()

	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	if backlog {
		return
	}
	lat := make([]time.Duration, n)
	for i := range n {
		lat[i] = time.Duration(max(c.at[i].Load()-committed[i].Load(), 0))
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[n/2]), "p50-ms")
	b.ReportMetric(ms(lat[n*99/100]), "p99-ms")
}

// benchStore opens a PostgreSQL store in a fresh schema with a pool large
// enough for the enqueuers and the dispatcher.
func benchStore(b *testing.B) *postgres.Store {
	schema := testenv.Name("wahost_bench_")
	s, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(b), Schema: schema, MaxConns: 48})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db, _, err := s.SessionDB()
		if err == nil {
			_, _ = db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`)
			_ = db.Close()
		}
		_ = s.Close()
	})
	return s
}
